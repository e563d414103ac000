// LbmWriter: builds the tensor and op tables, packs weight codes canonically (runtime/FORMAT.md "Weights") and
// serialises header, tables, string pool, 64-byte aligned blobs and the CRC-32. bytes() then runs the runtime's
// own loader over the result, so a file the writer returns is one the runtime accepts.
#include "runtime/lbm_writer.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "runtime/include/lowbit.h"

namespace lowbit::runtime {
namespace {

[[noreturn]] void fail(const std::string& msg) { throw std::invalid_argument("lbm writer: " + msg); }

int32_t float_bits(float v) {
  int32_t b;
  std::memcpy(&b, &v, 4);
  return b;
}

uint64_t product(const std::vector<uint32_t>& shape) {
  uint64_t p = 1;
  for (uint32_t d : shape) p *= d;
  return p;
}

std::string shape_str(const std::vector<uint32_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

void check_shape(const std::string& name, const std::vector<uint32_t>& shape) {
  if (shape.empty() || shape.size() > kLbmMaxRank) fail("tensor '" + name + "': rank must be 1 to 4, got " + shape_str(shape));
  for (uint32_t d : shape)
    if (d == 0 || d > kLbmMaxDim) fail("tensor '" + name + "': every dimension must be 1 to 2^24, got " + shape_str(shape));
}

void put_bit(std::vector<uint8_t>& blob, uint64_t bit_index) { blob[bit_index / 8] |= uint8_t(1u << (bit_index % 8)); }

}  // namespace

void LbmOpSpec::set_float(int slot, float v) { attrs.at(static_cast<size_t>(slot)) = float_bits(v); }

LbmWriter::LbmWriter(std::string model_name) : model_name_(std::move(model_name)) {}

uint32_t LbmWriter::push_tensor(const std::string& name, LbmDtype dtype, LbmCodes codes, int bits,
                                const std::vector<uint32_t>& shape, float scale, float zero_point,
                                std::vector<uint8_t> blob) {
  check_shape(name, shape);
  if (tensors_.size() >= kLbmMaxTensors) fail("more than 4096 tensors");
  Tensor t;
  t.name = name;
  t.rec.dtype = static_cast<uint8_t>(dtype);
  t.rec.rank = static_cast<uint8_t>(shape.size());
  t.rec.codes = static_cast<uint8_t>(codes);
  t.rec.bits = static_cast<uint8_t>(bits);
  for (size_t i = 0; i < shape.size(); ++i) t.rec.dims[i] = shape[i];
  t.rec.scale = scale;
  t.rec.zero_point = zero_point;
  t.rec.flags = blob.empty() ? 0u : kLbmTensorConstant;
  t.blob = std::move(blob);
  tensors_.push_back(std::move(t));
  return static_cast<uint32_t>(tensors_.size() - 1);
}

uint32_t LbmWriter::add_f32_activation(const std::string& name, const std::vector<uint32_t>& shape) {
  return push_tensor(name, LbmDtype::f32, LbmCodes::none, 0, shape, 1.0f, 0.0f, {});
}

uint32_t LbmWriter::add_code_activation(const std::string& name, LbmDtype dtype, int bits,
                                        const std::vector<uint32_t>& shape, float scale, int32_t zero_point) {
  if (dtype == LbmDtype::b1) {
    if (bits != 1 || zero_point != 0) fail("tensor '" + name + "': b1 activations have 1 bit and zero point 0");
    return push_tensor(name, dtype, LbmCodes::binary, 1, shape, scale, 0.0f, {});
  }
  if (dtype != LbmDtype::u8) fail("tensor '" + name + "': code activations are u8 or b1");
  if (bits < 1 || bits > 8) fail("tensor '" + name + "': u8 codes have 1 to 8 bits, got " + std::to_string(bits));
  if (zero_point < 0 || zero_point > (1 << bits) - 1)
    fail("tensor '" + name + "': zero point " + std::to_string(zero_point) + " outside the codes 0 .. " +
         std::to_string((1 << bits) - 1));
  if (!(scale > 0.0f) || !std::isfinite(scale)) fail("tensor '" + name + "': scale must be positive and finite");
  return push_tensor(name, dtype, LbmCodes::uint, bits, shape, scale, static_cast<float>(zero_point), {});
}

uint32_t LbmWriter::add_f32(const std::string& name, const std::vector<uint32_t>& shape,
                            const std::vector<float>& values) {
  check_shape(name, shape);
  if (values.size() != product(shape))
    fail("tensor '" + name + "': " + std::to_string(values.size()) + " values for shape " + shape_str(shape));
  std::vector<uint8_t> blob(values.size() * 4);
  std::memcpy(blob.data(), values.data(), blob.size());
  return push_tensor(name, LbmDtype::f32, LbmCodes::none, 0, shape, 1.0f, 0.0f, std::move(blob));
}

uint32_t LbmWriter::add_i32(const std::string& name, const std::vector<uint32_t>& shape,
                            const std::vector<int32_t>& values) {
  check_shape(name, shape);
  if (values.size() != product(shape))
    fail("tensor '" + name + "': " + std::to_string(values.size()) + " values for shape " + shape_str(shape));
  std::vector<uint8_t> blob(values.size() * 4);
  std::memcpy(blob.data(), values.data(), blob.size());
  return push_tensor(name, LbmDtype::i32, LbmCodes::none, 0, shape, 1.0f, 0.0f, std::move(blob));
}

uint32_t LbmWriter::add_flips(const std::string& name, const std::vector<uint8_t>& flip) {
  const std::vector<uint32_t> shape{static_cast<uint32_t>(flip.size())};
  check_shape(name, shape);
  std::vector<uint8_t> blob(lbm_packed_bytes(LbmDtype::b1, 1, flip.size()), 0);
  for (size_t m = 0; m < flip.size(); ++m)
    if (flip[m]) put_bit(blob, m);
  return push_tensor(name, LbmDtype::b1, LbmCodes::none, 1, shape, 1.0f, 0.0f, std::move(blob));
}

uint32_t LbmWriter::add_weights(const std::string& name, const LbmWeightCodes& w) {
  check_shape(name, w.shape);
  if (w.shape.size() != 2 && w.shape.size() != 4)
    fail("weights '" + name + "': shape must be [O, F] or [O, C/groups, KH, KW], got " + shape_str(w.shape));
  const uint64_t n = product(w.shape), rows = w.shape[0], row_len = n / rows;
  if (w.values.size() != n)
    fail("weights '" + name + "': " + std::to_string(w.values.size()) + " codes for shape " + shape_str(w.shape));
  int32_t lo = 0, hi = 0, shift = 0;
  LbmDtype dtype = LbmDtype::i8;
  switch (w.codes) {
    case LbmCodes::binary:
      if (w.bits != 1 || w.zero_point != 0.0f) fail("weights '" + name + "': binary codes have 1 bit, zero point 0");
      lo = -1, hi = 1, dtype = LbmDtype::b1;
      break;
    case LbmCodes::ternary:
      if (w.bits != 2 || w.zero_point != 0.0f) fail("weights '" + name + "': ternary codes have 2 bits, zero point 0");
      lo = -1, hi = 1, dtype = LbmDtype::t2;
      break;
    case LbmCodes::uint:
    case LbmCodes::sint:
      if (w.bits < 1 || w.bits > 8) fail("weights '" + name + "': codes have 1 to 8 bits, got " + std::to_string(w.bits));
      if (w.codes == LbmCodes::uint) {
        lo = 0, hi = (1 << w.bits) - 1, shift = 1 << (w.bits - 1);
      } else {
        if (w.bits < 2) fail("weights '" + name + "': signed codes have at least 2 bits");
        lo = -(1 << (w.bits - 1)), hi = (1 << (w.bits - 1)) - 1;
      }
      dtype = w.bits <= 2 ? LbmDtype::i2 : w.bits <= 4 ? LbmDtype::i4 : LbmDtype::i8;
      break;
    default: fail("weights '" + name + "': codes must be binary, ternary, uint or sint");
  }
  if (!std::isfinite(w.zero_point) || std::floor(w.zero_point * 2.0f) != w.zero_point * 2.0f)
    fail("weights '" + name + "': the zero point must be a multiple of 1/2");
  const uint64_t row_bytes = lbm_packed_bytes(dtype, 1, row_len);
  std::vector<uint8_t> blob(lbm_packed_bytes(dtype, rows, row_len), 0);
  for (uint64_t r = 0; r < rows; ++r) {
    for (uint64_t k = 0; k < row_len; ++k) {
      const int32_t c = w.values[r * row_len + k];
      if (c < lo || c > hi || (w.codes == LbmCodes::binary && c == 0))
        fail("weights '" + name + "': code " + std::to_string(c) + " at element " + std::to_string(r * row_len + k) +
             " is not a valid " + std::to_string(w.bits) + "-bit code");
      const uint64_t base = r * row_bytes * 8;  // bit offset of the row
      switch (dtype) {
        case LbmDtype::b1:
          if (c < 0) put_bit(blob, base + k);
          break;
        case LbmDtype::t2: {
          const uint64_t plane = rows * row_bytes / 2 * 8;  // the sign plane follows the whole mask plane
          const uint64_t rb = r * (row_bytes / 2) * 8;
          if (c != 0) put_bit(blob, rb + k);
          if (c < 0) put_bit(blob, plane + rb + k);
          break;
        }
        case LbmDtype::i2:
        case LbmDtype::i4:
        case LbmDtype::i8: {
          const unsigned width = dtype == LbmDtype::i2 ? 2 : dtype == LbmDtype::i4 ? 4 : 8;
          const uint32_t field = static_cast<uint32_t>(c - shift) & ((1u << width) - 1);
          const uint64_t bit = base + k * width;
          blob[bit / 8] |= static_cast<uint8_t>(field << (bit % 8));
          break;
        }
        default: break;
      }
    }
  }
  return push_tensor(name, dtype, w.codes, w.bits, w.shape, 1.0f, w.zero_point, std::move(blob));
}

void LbmWriter::check_id(uint32_t id, const std::string& op, const char* slot, bool optional) const {
  if (id == kLbmNoTensor && optional) return;
  if (id >= tensors_.size())
    fail("op '" + op + "': " + slot + " names tensor " + (id == kLbmNoTensor ? std::string("(none)") : std::to_string(id)) +
         ", which does not exist (" + std::to_string(tensors_.size()) + " tensors so far)");
}

uint32_t LbmWriter::add_op(const LbmOpSpec& s) {
  if (ops_.size() >= kLbmMaxOps) fail("more than 4096 ops");
  if (s.inputs.empty() || s.inputs.size() > kLbmMaxInputs)
    fail("op '" + s.name + "': 1 to 10 input slots, got " + std::to_string(s.inputs.size()));
  check_id(s.inputs[0], s.name, "input 0", false);
  for (size_t i = 1; i < s.inputs.size(); ++i) check_id(s.inputs[i], s.name, "an input slot", true);
  check_id(s.output, s.name, "the output", false);
  Op op;
  op.name = s.name;
  op.rec.kind = static_cast<uint16_t>(s.kind);
  op.rec.n_inputs = static_cast<uint8_t>(s.inputs.size());
  op.rec.n_outputs = 1;
  for (uint32_t i = 0; i < kLbmMaxInputs; ++i) op.rec.inputs[i] = i < s.inputs.size() ? s.inputs[i] : kLbmNoTensor;
  op.rec.outputs[0] = s.output;
  op.rec.outputs[1] = kLbmNoTensor;
  for (uint32_t i = 0; i < kLbmMaxAttrs; ++i) op.rec.attrs[i] = s.attrs[i];
  ops_.push_back(std::move(op));
  return static_cast<uint32_t>(ops_.size() - 1);
}

uint32_t LbmWriter::add_layer(const LbmLayer& l) {
  LbmOpSpec s;
  s.kind = l.conv ? LbmOpKind::conv2d : LbmOpKind::linear;
  s.name = l.name;
  s.inputs = {l.x, l.w, l.wscale, l.bias, l.a, l.b, l.threshold, l.flip, l.residual};
  check_id(l.w, l.name, "weights", false);
  s.output = l.y;
  if (l.conv) {
    s.attrs[kAttrKernelH] = l.kernel_h, s.attrs[kAttrKernelW] = l.kernel_w;
    s.attrs[kAttrStrideH] = l.stride_h, s.attrs[kAttrStrideW] = l.stride_w;
    s.attrs[kAttrPadH] = l.pad_h, s.attrs[kAttrPadW] = l.pad_w, s.attrs[kAttrGroups] = l.groups;
  } else {
    s.attrs[kAttrKernelH] = s.attrs[kAttrKernelW] = s.attrs[kAttrStrideH] = s.attrs[kAttrStrideW] = 1;
    s.attrs[kAttrGroups] = 1;
  }
  s.attrs[kAttrEpilogue] = static_cast<int32_t>(l.epilogue);
  s.attrs[kAttrAct] = static_cast<int32_t>(l.act);
  s.set_float(kAttrActLo, l.act_lo);
  s.set_float(kAttrActHi, l.act_hi);
  s.set_float(kAttrInvStep, l.inv_step);
  return add_op(s);
}

uint32_t LbmWriter::add_quantize(const std::string& name, uint32_t x, uint32_t y, LbmQuantKind kind, float m,
                                 float d, float lo, float hi, float add) {
  LbmOpSpec s;
  s.kind = LbmOpKind::quantize;
  s.name = name;
  s.inputs = {x};
  s.output = y;
  s.attrs[kAttrQKind] = static_cast<int32_t>(kind);
  s.set_float(kAttrQM, m);
  s.set_float(kAttrQD, d);
  s.set_float(kAttrQLo, lo);
  s.set_float(kAttrQHi, hi);
  s.set_float(kAttrQAdd, add);
  return add_op(s);
}

namespace {
LbmOpSpec pool_spec(LbmOpKind kind, const std::string& name, uint32_t x, uint32_t y, int kernel, int stride, int pad) {
  LbmOpSpec s;
  s.kind = kind;
  s.name = name;
  s.inputs = {x};
  s.output = y;
  s.attrs[kAttrKernelH] = s.attrs[kAttrKernelW] = kernel;
  s.attrs[kAttrStrideH] = s.attrs[kAttrStrideW] = stride;
  s.attrs[kAttrPadH] = s.attrs[kAttrPadW] = pad;
  return s;
}
}  // namespace

uint32_t LbmWriter::add_maxpool(const std::string& name, uint32_t x, uint32_t y, int kernel, int stride, int pad) {
  return add_op(pool_spec(LbmOpKind::maxpool, name, x, y, kernel, stride, pad));
}

uint32_t LbmWriter::add_avgpool(const std::string& name, uint32_t x, uint32_t y, int kernel, int stride, int pad,
                                bool count_include_pad) {
  LbmOpSpec s = pool_spec(LbmOpKind::avgpool, name, x, y, kernel, stride, pad);
  s.attrs[kAttrCountIncludePad] = count_include_pad ? 1 : 0;
  return add_op(s);
}

uint32_t LbmWriter::add_global_avgpool(const std::string& name, uint32_t x, uint32_t y) {
  LbmOpSpec s;
  s.kind = LbmOpKind::global_avgpool;
  s.name = name;
  s.inputs = {x};
  s.output = y;
  return add_op(s);
}

uint32_t LbmWriter::add_add(const std::string& name, uint32_t a, uint32_t b, uint32_t y, LbmAct act, float lo,
                            float hi) {
  LbmOpSpec s;
  s.kind = LbmOpKind::add;
  s.name = name;
  s.inputs = {a, b};
  s.output = y;
  s.attrs[kAttrAct] = static_cast<int32_t>(act);
  s.set_float(kAttrActLo, lo);
  s.set_float(kAttrActHi, hi);
  return add_op(s);
}

uint32_t LbmWriter::add_shortcut_a(const std::string& name, uint32_t x, uint32_t y, int stride, int front) {
  LbmOpSpec s;
  s.kind = LbmOpKind::shortcut_a;
  s.name = name;
  s.inputs = {x};
  s.output = y;
  s.attrs[kAttrScStride] = stride;
  s.attrs[kAttrScFront] = front;
  return add_op(s);
}

uint32_t LbmWriter::add_flatten(const std::string& name, uint32_t x, uint32_t y) {
  LbmOpSpec s;
  s.kind = LbmOpKind::flatten;
  s.name = name;
  s.inputs = {x};
  s.output = y;
  return add_op(s);
}

void LbmWriter::set_input(uint32_t tensor, const std::vector<float>& mean, const std::vector<float>& std) {
  check_id(tensor, "(model input)", "the input", false);
  if (mean.size() != std.size()) fail("input normalisation: " + std::to_string(mean.size()) + " means but " +
                                      std::to_string(std.size()) + " standard deviations");
  input_ = tensor;
  mean_ = std_ = kLbmNoTensor;
  if (!mean.empty()) {
    const uint32_t c = static_cast<uint32_t>(mean.size());
    mean_ = add_f32("input.mean", {c}, mean);
    std_ = add_f32("input.std", {c}, std);
  }
}

void LbmWriter::set_output(uint32_t tensor) {
  check_id(tensor, "(model output)", "the output", false);
  output_ = tensor;
}

std::vector<uint8_t> LbmWriter::serialize() const {
  const uint64_t T = tensors_.size(), O = ops_.size();
  // String pool: model name, then tensor names, then op names, each NUL-terminated.
  std::string pool;
  auto intern = [&pool](const std::string& s, uint32_t& off, uint32_t& len) {
    if (s.find('\0') != std::string::npos) fail("name '" + s + "' contains a NUL byte");
    off = static_cast<uint32_t>(pool.size());
    len = static_cast<uint32_t>(s.size());
    pool += s;
    pool += '\0';
  };
  LbmHeader h{};
  std::memcpy(h.magic, kLbmMagic, 4);
  h.version_major = kLbmVersionMajor;
  h.version_minor = kLbmVersionMinor;
  h.header_bytes = kLbmHeaderBytes;
  h.tensor_count = static_cast<uint32_t>(T);
  h.op_count = static_cast<uint32_t>(O);
  h.tensor_offset = kLbmHeaderBytes;
  h.op_offset = static_cast<uint32_t>(kLbmHeaderBytes + T * sizeof(LbmTensor));
  h.string_offset = static_cast<uint32_t>(h.op_offset + O * sizeof(LbmOp));
  h.input_tensor = input_;
  h.output_tensor = output_;
  h.mean_tensor = mean_;
  h.std_tensor = std_;
  intern(model_name_, h.name_offset, h.name_len);
  std::vector<LbmTensor> trecs(T);
  std::vector<LbmOp> orecs(O);
  for (uint64_t i = 0; i < T; ++i) {
    trecs[i] = tensors_[i].rec;
    intern(tensors_[i].name, trecs[i].name_offset, trecs[i].name_len);
  }
  for (uint64_t i = 0; i < O; ++i) {
    orecs[i] = ops_[i].rec;
    intern(ops_[i].name, orecs[i].name_offset, orecs[i].name_len);
  }
  h.string_bytes = static_cast<uint32_t>(pool.size());
  uint64_t end = uint64_t(h.string_offset) + pool.size();
  if (end > 0xFFFFFFFFull) fail("tables and names exceed 4 GiB");
  for (uint64_t i = 0; i < T; ++i) {
    if (tensors_[i].blob.empty()) continue;
    end = (end + kLbmBlobAlign - 1) / kLbmBlobAlign * kLbmBlobAlign;
    trecs[i].offset = end;
    trecs[i].size = tensors_[i].blob.size();
    end += tensors_[i].blob.size();
  }
  h.file_bytes = end + 4;
  std::vector<uint8_t> out(h.file_bytes, 0);
  std::memcpy(out.data(), &h, sizeof h);
  if (T) std::memcpy(out.data() + h.tensor_offset, trecs.data(), T * sizeof(LbmTensor));
  if (O) std::memcpy(out.data() + h.op_offset, orecs.data(), O * sizeof(LbmOp));
  std::memcpy(out.data() + h.string_offset, pool.data(), pool.size());
  for (uint64_t i = 0; i < T; ++i)
    if (!tensors_[i].blob.empty())
      std::memcpy(out.data() + trecs[i].offset, tensors_[i].blob.data(), tensors_[i].blob.size());
  const uint32_t crc = lbm_crc32(0, out.data(), end);
  for (int b = 0; b < 4; ++b) out[end + b] = static_cast<uint8_t>(crc >> (8 * b));
  return out;
}

std::vector<uint8_t> LbmWriter::bytes() const {
  if (input_ == kLbmNoTensor) fail("no model input (set_input)");
  if (output_ == kLbmNoTensor) fail("no model output (set_output)");
  std::vector<uint8_t> out = serialize();
  lowbit_model m;
  const lowbit_status st = lowbit_model_init(out.data(), out.size(), &m);
  if (st != LOWBIT_OK) fail(std::string("the runtime refuses the model: ") + m.message);
  return out;
}

void LbmWriter::write_file(const std::string& path) const {
  const std::vector<uint8_t> b = bytes();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw std::runtime_error("lbm writer: cannot open '" + path + "' for writing");
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  f.close();
  if (!f) throw std::runtime_error("lbm writer: writing '" + path + "' failed");
}

std::string LbmWriter::c_header(const std::string& symbol) const {
  const std::vector<uint8_t> b = bytes();
  lowbit_model m;
  if (lowbit_model_init(b.data(), b.size(), &m) != LOWBIT_OK) fail(std::string("the runtime refuses the model: ") + m.message);
  return lbm_c_header(b, symbol, lowbit_arena_size(&m));
}

std::string lbm_c_header(const std::vector<uint8_t>& lbm, const std::string& symbol, uint64_t arena_bytes) {
  bool ok = !symbol.empty() && !(symbol[0] >= '0' && symbol[0] <= '9');
  for (char c : symbol) ok = ok && (c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  if (!ok) fail("c-header symbol '" + symbol + "' is not a C identifier");
  std::string upper = symbol;
  for (char& c : upper)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  std::ostringstream o;
  o << "/* " << symbol << ": a lowbit packed model (.lbm, " << lbm.size() << " bytes), generated by lowbit export.\n"
    << " * lowbit_model_init(" << symbol << ", " << upper << "_LEN, &model) and an arena of " << upper
    << "_ARENA_BYTES bytes (64-byte aligned) run it. */\n"
    << "#ifndef " << upper << "_H\n#define " << upper << "_H\n"
    << "#define " << upper << "_LEN " << lbm.size() << "u\n"
    << "#define " << upper << "_ARENA_BYTES " << arena_bytes << "u\n"
    << "#if defined(__GNUC__) || defined(__clang__)\n"
    << "static const unsigned char " << symbol << "[" << lbm.size() << "] __attribute__((aligned(64))) = {\n"
    << "#else\n"
    << "_Alignas(64) static const unsigned char " << symbol << "[" << lbm.size() << "] = {\n"
    << "#endif\n";
  char buf[8];
  for (size_t i = 0; i < lbm.size(); ++i) {
    std::snprintf(buf, sizeof buf, "0x%02x,", lbm[i]);
    o << (i % 16 == 0 ? "  " : "") << buf << (i % 16 == 15 || i + 1 == lbm.size() ? "\n" : "");
  }
  o << "};\n#endif\n";
  return o.str();
}

}  // namespace lowbit::runtime
