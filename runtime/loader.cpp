// The .lbm loader: header, CRC, tables, tensors, weight codes, ops and the dataflow, each checked before use with
// overflow-checked arithmetic (runtime/loader.h lists what a successful load guarantees). No heap: the one piece
// of state, which tensors have been written, is a bitmap on the stack (kLbmMaxTensors bits).
#include "runtime/loader.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>

#include "kernels/conv/conv_geom.h"

namespace lowbit::runtime {

lowbit_status report(lowbit_status s, char* message, size_t message_bytes, const char* fmt, ...) {
  if (message && message_bytes > 0) {
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(message, message_bytes, fmt, ap);
    va_end(ap);
  }
  return s;
}

namespace {

constexpr uint64_t kMaxElements = uint64_t{1} << 40;
constexpr int32_t kMaxKernel = 4096;  // kernel, stride and padding bound (bconv2d's)

struct Ctx {
  const ModelView& v;
  char* msg;
  size_t msg_bytes;
  uint8_t written[kLbmMaxTensors / 8];
  bool is_written(uint32_t i) const { return (written[i / 8] >> (i % 8)) & 1u; }
  void set_written(uint32_t i) { written[i / 8] = static_cast<uint8_t>(written[i / 8] | (1u << (i % 8))); }
};

#define LBM_FAIL(status, ...) return report(status, c.msg, c.msg_bytes, __VA_ARGS__)
#define LBM_TRY(expr)                     \
  do {                                    \
    const lowbit_status s_ = (expr);      \
    if (s_ != LOWBIT_OK) return s_;       \
  } while (0)

bool range_ok(uint64_t off, uint64_t size, uint64_t limit) { return off <= limit && size <= limit - off; }

const char* tname(const Ctx& c, const LbmTensor& t) { return c.v.str(t.name_offset); }

bool finite_float(float f) { return std::isfinite(f); }

lowbit_status check_name(Ctx& c, uint32_t off, uint32_t len, const char* what, uint32_t index) {
  const LbmHeader& h = c.v.h;
  if (!range_ok(off, uint64_t(len) + 1, h.string_bytes))
    LBM_FAIL(LOWBIT_ERR_RANGE, "lbm: %s %u: name [%u, +%u] outside the string pool (%u bytes)", what, index, off, len,
             h.string_bytes);
  if (c.v.str(off)[len] != '\0') LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: %s %u: name is not NUL-terminated", what, index);
  return LOWBIT_OK;
}

// Expected container of weight codes.
bool weight_dtype_ok(LbmCodes codes, int bits, LbmDtype d) {
  switch (codes) {
    case LbmCodes::binary: return d == LbmDtype::b1 && bits == 1;
    case LbmCodes::ternary: return d == LbmDtype::t2 && bits == 2;
    case LbmCodes::uint:
    case LbmCodes::sint:
      if (bits < 1 || bits > 8 || (codes == LbmCodes::sint && bits < 2)) return false;
      return d == (bits <= 2 ? LbmDtype::i2 : bits <= 4 ? LbmDtype::i4 : LbmDtype::i8);
    default: return false;
  }
}

// Bits of a row past its elements must be 0 (canonical form), and every code must lie in its format's range.
lowbit_status check_codes(Ctx& c, uint32_t index, const LbmTensor& t) {
  const LbmDtype d = static_cast<LbmDtype>(t.dtype);
  const LbmCodes codes = static_cast<LbmCodes>(t.codes);
  const uint64_t rows = (t.rank == 2 || t.rank == 4) && codes != LbmCodes::none ? t.dims[0] : 1;
  const uint64_t row_len = tensor_numel(t) / rows;
  const uint8_t* p = c.v.blob(t);
  if (d == LbmDtype::b1 || d == LbmDtype::t2) {
    const uint64_t words = (row_len + 63) / 64, planes = d == LbmDtype::t2 ? 2 : 1;
    const unsigned tail = static_cast<unsigned>(row_len % 64);
    for (uint64_t r = 0; r < rows; ++r) {
      for (uint64_t pl = 0; pl < planes; ++pl) {
        const uint8_t* last = p + ((pl * rows + r) * words + words - 1) * 8;
        for (unsigned b = tail; b < 64 && tail != 0; ++b)
          if ((last[b / 8] >> (b % 8)) & 1u)
            LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': padding bit %u of row %llu is set (must be 0)", index,
                     tname(c, t), b, static_cast<unsigned long long>(r));
      }
      if (d == LbmDtype::t2)
        for (uint64_t w = 0; w < words * 8; ++w) {
          const uint8_t mask = p[r * words * 8 + w], sign = p[(rows + r) * words * 8 + w];
          if (sign & ~mask)
            LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': ternary sign bit without its mask bit in row %llu",
                     index, tname(c, t), static_cast<unsigned long long>(r));
        }
    }
    return LOWBIT_OK;
  }
  if (d != LbmDtype::i2 && d != LbmDtype::i4 && d != LbmDtype::i8) return LOWBIT_OK;
  const unsigned width = d == LbmDtype::i2 ? 2 : d == LbmDtype::i4 ? 4 : 8;
  const int bits = t.bits;
  const int32_t lo = codes == LbmCodes::uint ? -(1 << (bits - 1)) : -(1 << (bits - 1));
  const int32_t hi = codes == LbmCodes::uint ? (1 << (bits - 1)) - 1 : (1 << (bits - 1)) - 1;
  const uint64_t row_bytes = lbm_packed_bytes(d, 1, row_len);
  for (uint64_t r = 0; r < rows; ++r) {
    const uint8_t* row = p + r * row_bytes;
    for (uint64_t k = 0; k < row_bytes * 8 / width; ++k) {
      const uint64_t bit = k * width;
      const uint32_t field = (row[bit / 8] >> (bit % 8)) & ((1u << width) - 1);
      if (k >= row_len) {
        if (field != 0)
          LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': padding field after row %llu is not 0", index,
                   tname(c, t), static_cast<unsigned long long>(r));
        continue;
      }
      const int32_t s = field >= (1u << (width - 1)) ? int32_t(field) - int32_t(1u << width) : int32_t(field);
      if (s < lo || s > hi)
        LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': stored code %d at element %llu outside the %d-bit %s range",
                 index, tname(c, t), s, static_cast<unsigned long long>(r * row_len + k), bits,
                 codes == LbmCodes::uint ? "uint" : "sint");
    }
  }
  return LOWBIT_OK;
}

lowbit_status check_tensor(Ctx& c, uint32_t i, uint64_t blobs_start, uint64_t payload_end) {
  const LbmTensor t = c.v.tensor(i);
  LBM_TRY(check_name(c, t.name_offset, t.name_len, "tensor", i));
  const char* name = tname(c, t);
  if (t.dtype >= kLbmDtypeCount) LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': unknown dtype %u", i, name, t.dtype);
  if (t.rank < 1 || t.rank > kLbmMaxRank)
    LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': rank %u (must be 1 to 4)", i, name, t.rank);
  if (t.codes > static_cast<uint8_t>(LbmCodes::sint))
    LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': unknown code kind %u", i, name, t.codes);
  if (t.flags & ~kLbmTensorConstant)
    LBM_FAIL(LOWBIT_ERR_UNSUPPORTED, "lbm: tensor %u '%s': unknown flags 0x%x", i, name, t.flags);
  if (t.reserved != 0) LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': reserved field is not 0", i, name);
  uint64_t n = 1;
  for (uint32_t d = 0; d < kLbmMaxRank; ++d) {
    if (d < t.rank) {
      if (t.dims[d] < 1 || t.dims[d] > kLbmMaxDim)
        LBM_FAIL(LOWBIT_ERR_RANGE, "lbm: tensor %u '%s': dimension %u is %u (must be 1 to 2^24)", i, name, d, t.dims[d]);
      n *= t.dims[d];
      if (n > kMaxElements) LBM_FAIL(LOWBIT_ERR_RANGE, "lbm: tensor %u '%s': more than 2^40 elements", i, name);
    } else if (t.dims[d] != 0) {
      LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': dimension %u past the rank is not 0", i, name, d);
    }
  }
  const LbmDtype dt = static_cast<LbmDtype>(t.dtype);
  const LbmCodes codes = static_cast<LbmCodes>(t.codes);
  if (!finite_float(t.scale) || !finite_float(t.zero_point))
    LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': scale or zero point is not finite", i, name);
  if (!is_constant(t)) {
    if (t.offset != 0 || t.size != 0)
      LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': an activation with a blob (offset %llu, size %llu)", i, name,
               static_cast<unsigned long long>(t.offset), static_cast<unsigned long long>(t.size));
    if (t.rank != 1 && t.rank != 3)
      LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': activations are [C, H, W] or [F], got rank %u", i, name, t.rank);
    switch (dt) {
      case LbmDtype::f32:
        if (codes != LbmCodes::none || t.bits != 0)
          LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': f32 activations carry no codes", i, name);
        break;
      case LbmDtype::u8:
        if (codes != LbmCodes::uint || t.bits < 1 || t.bits > 8)
          LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': u8 activations hold uint codes of 1 to 8 bits", i, name);
        if (!(t.scale > 0.0f) || t.zero_point < 0.0f || t.zero_point > float((1 << t.bits) - 1) ||
            std::floor(t.zero_point) != t.zero_point)
          LBM_FAIL(LOWBIT_ERR_MALFORMED,
                   "lbm: tensor %u '%s': u8 codes need a positive scale and an integer zero point in 0 .. %d", i, name,
                   (1 << t.bits) - 1);
        break;
      case LbmDtype::b1:
        if (codes != LbmCodes::binary || t.bits != 1 || t.zero_point != 0.0f)
          LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': b1 activations hold binary codes, zero point 0", i, name);
        break;
      default:
        LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': activations are f32, u8 or b1, not %s", i, name,
                 lbm_dtype_name(dt));
    }
    return LOWBIT_OK;
  }
  // Constants: blob placement and size.
  if (t.offset % kLbmBlobAlign != 0)
    LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': blob offset %llu is not a multiple of 64", i, name,
             static_cast<unsigned long long>(t.offset));
  if (t.offset < blobs_start || !range_ok(t.offset, t.size, payload_end))
    LBM_FAIL(LOWBIT_ERR_RANGE, "lbm: tensor %u '%s': blob [%llu, +%llu) outside the blob area [%llu, %llu)", i, name,
             static_cast<unsigned long long>(t.offset), static_cast<unsigned long long>(t.size),
             static_cast<unsigned long long>(blobs_start), static_cast<unsigned long long>(payload_end));
  uint64_t rows = 1, row_len = n;
  if (codes != LbmCodes::none) {
    if (t.rank != 2 && t.rank != 4)
      LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': weight codes are [O, F] or [O, C/groups, KH, KW]", i, name);
    if (!weight_dtype_ok(codes, t.bits, dt))
      LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': %d-bit codes of kind %u cannot be stored as %s", i, name,
               t.bits, t.codes, lbm_dtype_name(dt));
    if (codes == LbmCodes::binary || codes == LbmCodes::ternary ? t.zero_point != 0.0f
                                                                 : std::floor(t.zero_point * 2.0f) != t.zero_point * 2.0f)
      LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': weight zero point %g is not allowed (binary/ternary: 0, "
               "else a multiple of 1/2)", i, name, double(t.zero_point));
    if (std::fabs(t.zero_point) > 256.0f)
      LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': weight zero point %g out of range", i, name, double(t.zero_point));
    rows = t.dims[0];
    row_len = n / rows;
  } else if (dt != LbmDtype::f32 && dt != LbmDtype::i32 && dt != LbmDtype::b1) {
    LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': a constant without codes is f32, i32 or b1, not %s", i, name,
             lbm_dtype_name(dt));
  }
  const uint64_t want = lbm_packed_bytes(dt, rows, row_len);
  if (want != t.size)
    LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': blob has %llu bytes, its shape and dtype need %llu", i, name,
             static_cast<unsigned long long>(t.size), static_cast<unsigned long long>(want));
  if (dt == LbmDtype::f32) {
    const uint8_t* p = c.v.blob(t);
    for (uint64_t k = 0; k < n; ++k) {
      float f;
      std::memcpy(&f, p + 4 * k, 4);
      if (!finite_float(f))
        LBM_FAIL(LOWBIT_ERR_MALFORMED, "lbm: tensor %u '%s': element %llu is not finite", i, name,
                 static_cast<unsigned long long>(k));
    }
  }
  return check_codes(c, i, t);
}

// ---- ops ----
struct OpCtx {
  Ctx& c;
  uint32_t index;
  LbmOp op;
  const char* name;
};

#define OP_FAIL(status, fmt, ...) \
  return report(status, o.c.msg, o.c.msg_bytes, "lbm: op %u '%s' (%s): " fmt, o.index, o.name, kind_name, __VA_ARGS__)

// Tensor in slot `slot` (fails if absent and required). *present = false for an absent optional slot.
lowbit_status slot_tensor(OpCtx& o, int slot, bool required, LbmTensor* t, bool* present) {
  const char* kind_name = lbm_op_kind_name(static_cast<LbmOpKind>(o.op.kind));
  const uint32_t id = o.op.inputs[slot];
  *present = false;
  if (id == kLbmNoTensor) {
    if (required) OP_FAIL(LOWBIT_ERR_MALFORMED, "input slot %d is required%s", slot, "");
    return LOWBIT_OK;
  }
  if (id >= o.c.v.h.tensor_count)
    OP_FAIL(LOWBIT_ERR_RANGE, "input slot %d names tensor %u (the file has %u)", slot, id, o.c.v.h.tensor_count);
  *t = o.c.v.tensor(id);
  if (!is_constant(*t) && !o.c.is_written(id) && id != o.c.v.h.input_tensor)
    OP_FAIL(LOWBIT_ERR_MALFORMED, "input slot %d reads activation %u '%s' before any op writes it", slot, id,
            o.c.v.str(t->name_offset));
  *present = true;
  return LOWBIT_OK;
}

bool is_act(const LbmTensor& t, LbmDtype d) { return !is_constant(t) && t.dtype == static_cast<uint8_t>(d); }
bool is_const(const LbmTensor& t, LbmDtype d, LbmCodes codes = LbmCodes::none) {
  return is_constant(t) && t.dtype == static_cast<uint8_t>(d) && t.codes == static_cast<uint8_t>(codes);
}
bool same_shape(const LbmTensor& a, const LbmTensor& b) {
  if (a.rank != b.rank) return false;
  for (uint32_t d = 0; d < kLbmMaxRank; ++d)
    if (a.dims[d] != b.dims[d]) return false;
  return true;
}
bool same_quant(const LbmTensor& a, const LbmTensor& b) {
  return a.dtype == b.dtype && a.codes == b.codes && a.bits == b.bits && a.scale == b.scale &&
         a.zero_point == b.zero_point;
}
bool is_vec(const LbmTensor& t, uint32_t n) { return t.rank == 1 && t.dims[0] == n; }

lowbit_status check_window(OpCtx& o, const char* kind_name, bool pool) {
  const int32_t* a = o.op.attrs;
  for (int s = kAttrKernelH; s <= kAttrPadW; ++s) {
    const int32_t lo = s >= kAttrPadH ? 0 : 1;
    if (a[s] < lo || a[s] > kMaxKernel) OP_FAIL(LOWBIT_ERR_MALFORMED, "attribute %d is %d (must be %d to 4096)", s, a[s], lo);
  }
  if (pool && (2 * a[kAttrPadH] > a[kAttrKernelH] || 2 * a[kAttrPadW] > a[kAttrKernelW]))
    OP_FAIL(LOWBIT_ERR_MALFORMED, "padding %dx%d exceeds half the %dx%d window", a[kAttrPadH], a[kAttrPadW],
            a[kAttrKernelH], a[kAttrKernelW]);
  return LOWBIT_OK;
}

// Output size of a window op over x [C, H, W]; fails if y's shape differs.
lowbit_status check_window_out(OpCtx& o, const char* kind_name, const LbmTensor& x, const LbmTensor& y, uint32_t c_out) {
  const int32_t* a = o.op.attrs;
  const int64_t oh = kernels::conv_out_extent(x.dims[1], a[kAttrKernelH], a[kAttrStrideH], a[kAttrPadH]);
  const int64_t ow = kernels::conv_out_extent(x.dims[2], a[kAttrKernelW], a[kAttrStrideW], a[kAttrPadW]);
  if (oh < 1 || ow < 1) OP_FAIL(LOWBIT_ERR_MALFORMED, "the window does not fit the %ux%u input", x.dims[1], x.dims[2]);
  if (y.rank != 3 || y.dims[0] != c_out || int64_t(y.dims[1]) != oh || int64_t(y.dims[2]) != ow)
    OP_FAIL(LOWBIT_ERR_MALFORMED, "output must be [%u, %lld, %lld]", c_out, static_cast<long long>(oh),
            static_cast<long long>(ow));
  return LOWBIT_OK;
}

lowbit_status check_act_attr(OpCtx& o, const char* kind_name) {
  const int32_t act = o.op.attrs[kAttrAct];
  if (act < 0 || act > static_cast<int32_t>(LbmAct::clamp)) OP_FAIL(LOWBIT_ERR_MALFORMED, "unknown activation %d", act);
  const float lo = attr_float(o.op, kAttrActLo), hi = attr_float(o.op, kAttrActHi);
  if (act == static_cast<int32_t>(LbmAct::clamp) && !(finite_float(lo) && finite_float(hi) && lo <= hi))
    OP_FAIL(LOWBIT_ERR_MALFORMED, "clamp bounds [%g, %g] are not an interval", double(lo), double(hi));
  return LOWBIT_OK;
}

lowbit_status check_layer(OpCtx& o, const LbmTensor& x, const LbmTensor& y) {
  const char* kind_name = lbm_op_kind_name(static_cast<LbmOpKind>(o.op.kind));
  const bool conv = o.op.kind == static_cast<uint16_t>(LbmOpKind::conv2d);
  const int32_t* a = o.op.attrs;
  LbmTensor w{}, ws{};
  bool has_w, has_ws, has_bias, has_a, has_b, has_thr, has_flip, has_res;
  LBM_TRY(slot_tensor(o, kInW, true, &w, &has_w));
  const bool f32_layer = is_const(w, LbmDtype::f32);
  if (!f32_layer && (!is_constant(w) || w.codes == static_cast<uint8_t>(LbmCodes::none)))
    OP_FAIL(LOWBIT_ERR_MALFORMED, "weights must be integer codes (or f32 for an fp32 %s)", kind_name);
  if (f32_layer) {
    if (!is_act(x, LbmDtype::f32) || x.rank != (conv ? 3u : 1u))
      OP_FAIL(LOWBIT_ERR_MALFORMED, "an fp32 %s reads an f32 %s activation", kind_name, conv ? "[C, H, W]" : "[F]");
  } else if (!(is_act(x, LbmDtype::u8) || is_act(x, LbmDtype::b1))) {
    OP_FAIL(LOWBIT_ERR_MALFORMED, "an integer layer reads u8 or b1 codes, not %s", lbm_dtype_name(static_cast<LbmDtype>(x.dtype)));
  }
  uint32_t O = w.dims[0];
  if (conv) {
    LBM_TRY(check_window(o, kind_name, false));
    if (x.rank != 3 || w.rank != 4) OP_FAIL(LOWBIT_ERR_MALFORMED, "conv2d needs x [C, H, W] and weights [O, C/groups, KH, KW]%s", "");
    const int32_t G = a[kAttrGroups];
    if (G < 1 || x.dims[0] % uint32_t(G) != 0 || O % uint32_t(G) != 0 || w.dims[1] != x.dims[0] / uint32_t(G))
      OP_FAIL(LOWBIT_ERR_MALFORMED, "groups %d do not fit %u input and %u output channels (weights have %u per group)",
              G, x.dims[0], O, w.dims[1]);
    if (int64_t(w.dims[2]) != a[kAttrKernelH] || int64_t(w.dims[3]) != a[kAttrKernelW])
      OP_FAIL(LOWBIT_ERR_MALFORMED, "weights are %ux%u, the kernel attribute %dx%d", w.dims[2], w.dims[3], a[kAttrKernelH],
              a[kAttrKernelW]);
    LBM_TRY(check_window_out(o, kind_name, x, y, O));
  } else {
    if (x.rank != 1 || w.rank != 2 || w.dims[1] != x.dims[0])
      OP_FAIL(LOWBIT_ERR_MALFORMED, "linear needs x [F] and weights [O, F] with the same F (%u vs %u)", x.dims[0],
              w.rank == 2 ? w.dims[1] : 0);
    if (y.rank != 1 || y.dims[0] != O) OP_FAIL(LOWBIT_ERR_MALFORMED, "output must be [%u]", O);
  }
  uint64_t K = tensor_numel(w) / O;
  if (K > (uint64_t{1} << 24)) OP_FAIL(LOWBIT_ERR_UNSUPPORTED, "%llu inputs per output (at most 2^24)", static_cast<unsigned long long>(K));
  LBM_TRY(slot_tensor(o, kInWScale, !f32_layer, &ws, &has_ws));
  if (f32_layer && has_ws) OP_FAIL(LOWBIT_ERR_MALFORMED, "an fp32 %s has no weight scale", kind_name);
  if (has_ws && !(is_const(ws, LbmDtype::f32) && (is_vec(ws, O) || is_vec(ws, 1))))
    OP_FAIL(LOWBIT_ERR_MALFORMED, "weight scale must be an f32 constant [%u] or [1]", O);
  LbmTensor bias{}, ta{}, tb{}, thr{}, flip{}, res{};
  LBM_TRY(slot_tensor(o, kInBias, false, &bias, &has_bias));
  LBM_TRY(slot_tensor(o, kInA, false, &ta, &has_a));
  LBM_TRY(slot_tensor(o, kInB, false, &tb, &has_b));
  LBM_TRY(slot_tensor(o, kInThreshold, false, &thr, &has_thr));
  LBM_TRY(slot_tensor(o, kInFlip, false, &flip, &has_flip));
  LBM_TRY(slot_tensor(o, kInResidual, false, &res, &has_res));
  const LbmTensor* vecs[3] = {&bias, &ta, &tb};
  const bool has_vec[3] = {has_bias, has_a, has_b};
  const int vec_slot[3] = {kInBias, kInA, kInB};
  for (int i = 0; i < 3; ++i)
    if (has_vec[i] && !(is_const(*vecs[i], LbmDtype::f32) && is_vec(*vecs[i], O)))
      OP_FAIL(LOWBIT_ERR_MALFORMED, "input slot %d must be an f32 constant [%u]", vec_slot[i], O);
  if (has_flip && !(is_const(flip, LbmDtype::b1) && is_vec(flip, O)))
    OP_FAIL(LOWBIT_ERR_MALFORMED, "flips must be a b1 constant [%u]", O);
  const int32_t epi = a[kAttrEpilogue];
  if (epi < 0 || epi > static_cast<int32_t>(LbmEpilogue::thresholds)) OP_FAIL(LOWBIT_ERR_MALFORMED, "unknown epilogue %d", epi);
  if (f32_layer && epi != static_cast<int32_t>(LbmEpilogue::f32))
    OP_FAIL(LOWBIT_ERR_MALFORMED, "an fp32 %s has the f32 epilogue only", kind_name);
  switch (static_cast<LbmEpilogue>(epi)) {
    case LbmEpilogue::f32:
      if (!is_act(y, LbmDtype::f32)) OP_FAIL(LOWBIT_ERR_MALFORMED, "the f32 epilogue writes an f32 activation%s", "");
      if (has_a != has_b) OP_FAIL(LOWBIT_ERR_MALFORMED, "the f32 epilogue needs both a and b, or neither%s", "");
      if (has_thr || has_flip) OP_FAIL(LOWBIT_ERR_MALFORMED, "the f32 epilogue takes no thresholds or flips%s", "");
      if (has_res && !(is_act(res, LbmDtype::f32) && same_shape(res, y)))
        OP_FAIL(LOWBIT_ERR_MALFORMED, "the residual must be an f32 activation of the output's shape%s", "");
      LBM_TRY(check_act_attr(o, kind_name));
      break;
    case LbmEpilogue::bits:
      if (!is_act(y, LbmDtype::b1)) OP_FAIL(LOWBIT_ERR_MALFORMED, "the bits epilogue writes a b1 activation%s", "");
      if (!has_thr || !(is_const(thr, LbmDtype::i32) && is_vec(thr, O)))
        OP_FAIL(LOWBIT_ERR_MALFORMED, "the bits epilogue needs i32 thresholds [%u]", O);
      if (has_bias || has_a || has_b || has_res) OP_FAIL(LOWBIT_ERR_MALFORMED, "the bits epilogue takes thresholds and flips only%s", "");
      break;
    case LbmEpilogue::requant:
      if (!is_act(y, LbmDtype::u8)) OP_FAIL(LOWBIT_ERR_MALFORMED, "the requant epilogue writes u8 codes%s", "");
      if (y.zero_point != 0.0f) OP_FAIL(LOWBIT_ERR_MALFORMED, "requantised codes have zero point 0%s", "");
      if (has_bias || has_thr || has_flip || has_res) OP_FAIL(LOWBIT_ERR_MALFORMED, "the requant epilogue takes a and b only%s", "");
      if (!(attr_float(o.op, kAttrInvStep) > 0.0f) || !finite_float(attr_float(o.op, kAttrInvStep)))
        OP_FAIL(LOWBIT_ERR_MALFORMED, "inv_step must be positive and finite%s", "");
      break;
    case LbmEpilogue::thresholds: {
      if (!is_act(y, LbmDtype::u8)) OP_FAIL(LOWBIT_ERR_MALFORMED, "the thresholds epilogue writes u8 codes%s", "");
      const uint32_t levels = (1u << y.bits) - 1;
      if (!has_thr || !is_const(thr, LbmDtype::i32) || thr.rank != 2 || thr.dims[0] != O || thr.dims[1] != levels)
        OP_FAIL(LOWBIT_ERR_MALFORMED, "the thresholds epilogue needs i32 thresholds [%u, %u]", O, levels);
      if (has_bias || has_a || has_b || has_res) OP_FAIL(LOWBIT_ERR_MALFORMED, "the thresholds epilogue takes thresholds and flips only%s", "");
      // T is carried in float: |T| ≤ 2·K·max|c_w − wzero|·max|c_x − azero| must stay below 2^24.
      const double wmax = (w.codes == static_cast<uint8_t>(LbmCodes::binary) || w.codes == static_cast<uint8_t>(LbmCodes::ternary))
                              ? 1.0 : double(1 << w.bits) + std::fabs(double(w.zero_point));
      const double xmax = x.dtype == static_cast<uint8_t>(LbmDtype::b1) ? 1.0 : double(1 << x.bits);
      if (2.0 * double(K) * wmax * xmax >= 16777216.0)
        OP_FAIL(LOWBIT_ERR_UNSUPPORTED, "the thresholds epilogue needs |T| < 2^24 (K = %llu is too deep for these bits)",
                static_cast<unsigned long long>(K));
      break;
    }
  }
  return LOWBIT_OK;
}

lowbit_status check_op(Ctx& c, uint32_t i) {
  OpCtx o{c, i, c.v.op(i), ""};
  const LbmOp& op = o.op;
  LBM_TRY(check_name(c, op.name_offset, op.name_len, "op", i));
  o.name = c.v.str(op.name_offset);
  if (op.kind >= kLbmOpKindCount)
    return report(LOWBIT_ERR_MALFORMED, c.msg, c.msg_bytes, "lbm: op %u '%s': unknown kind %u", i, o.name, op.kind);
  const LbmOpKind kind = static_cast<LbmOpKind>(op.kind);
  const char* kind_name = lbm_op_kind_name(kind);
  if (op.n_inputs < 1 || op.n_inputs > kLbmMaxInputs || op.n_outputs != 1 || op.reserved != 0)
    OP_FAIL(LOWBIT_ERR_MALFORMED, "%u inputs / %u outputs (1 to 10 inputs, 1 output; reserved 0)", op.n_inputs, op.n_outputs);
  for (uint32_t s = op.n_inputs; s < kLbmMaxInputs; ++s)
    if (op.inputs[s] != kLbmNoTensor) OP_FAIL(LOWBIT_ERR_MALFORMED, "unused input slot %u is not empty", s);
  if (op.outputs[1] != kLbmNoTensor) OP_FAIL(LOWBIT_ERR_MALFORMED, "second output slot is not empty%s", "");
  const uint32_t yid = op.outputs[0];
  if (yid >= c.v.h.tensor_count) OP_FAIL(LOWBIT_ERR_RANGE, "output names tensor %u (the file has %u)", yid, c.v.h.tensor_count);
  const LbmTensor y = c.v.tensor(yid);
  if (is_constant(y) || yid == c.v.h.input_tensor || c.is_written(yid))
    OP_FAIL(LOWBIT_ERR_MALFORMED, "output tensor %u '%s' is a constant, the model input, or written twice", yid,
            c.v.str(y.name_offset));
  LbmTensor x{};
  bool has_x;
  LBM_TRY(slot_tensor(o, 0, true, &x, &has_x));
  if (is_constant(x)) OP_FAIL(LOWBIT_ERR_MALFORMED, "input 0 must be an activation%s", "");
  const int32_t* a = op.attrs;
  switch (kind) {
    case LbmOpKind::quantize: {
      if (!is_act(x, LbmDtype::f32) || !same_shape(x, y)) OP_FAIL(LOWBIT_ERR_MALFORMED, "quantize maps f32 to codes of the same shape%s", "");
      const int32_t qk = a[kAttrQKind];
      if (qk < 0 || qk > static_cast<int32_t>(LbmQuantKind::sign)) OP_FAIL(LOWBIT_ERR_MALFORMED, "unknown quantizer %d", qk);
      const bool sign = qk == static_cast<int32_t>(LbmQuantKind::sign);
      if (sign ? !is_act(y, LbmDtype::b1) : !is_act(y, LbmDtype::u8))
        OP_FAIL(LOWBIT_ERR_MALFORMED, "the %s quantizer writes %s codes", sign ? "sign" : "affine", sign ? "b1" : "u8");
      for (int s = kAttrQM; s <= kAttrQAdd; ++s)
        if (!finite_float(attr_float(op, s))) OP_FAIL(LOWBIT_ERR_MALFORMED, "quantizer attribute %d is not finite", s);
      if (!sign && (attr_float(op, kAttrQLo) > attr_float(op, kAttrQHi) ||
                    (qk == int32_t(LbmQuantKind::div_clamp) && attr_float(op, kAttrQM) == 0.0f) ||
                    (qk == int32_t(LbmQuantKind::clamp_mul) && attr_float(op, kAttrQD) == 0.0f)))
        OP_FAIL(LOWBIT_ERR_MALFORMED, "quantizer clamp [lo, hi] empty or a zero divisor%s", "");
      break;
    }
    case LbmOpKind::conv2d:
    case LbmOpKind::linear: LBM_TRY(check_layer(o, x, y)); break;
    case LbmOpKind::maxpool:
    case LbmOpKind::avgpool:
      if (x.rank != 3) OP_FAIL(LOWBIT_ERR_MALFORMED, "pooling reads [C, H, W]%s", "");
      if (kind == LbmOpKind::avgpool ? !is_act(x, LbmDtype::f32) : false)
        OP_FAIL(LOWBIT_ERR_MALFORMED, "average pooling reads f32%s", "");
      if (!same_quant(x, y)) OP_FAIL(LOWBIT_ERR_MALFORMED, "pooling keeps dtype, codes, scale and zero point%s", "");
      if (kind == LbmOpKind::avgpool && (a[kAttrCountIncludePad] < 0 || a[kAttrCountIncludePad] > 1))
        OP_FAIL(LOWBIT_ERR_MALFORMED, "count_include_pad is %d (0 or 1)", a[kAttrCountIncludePad]);
      LBM_TRY(check_window(o, kind_name, true));
      LBM_TRY(check_window_out(o, kind_name, x, y, x.dims[0]));
      break;
    case LbmOpKind::global_avgpool:
      if (!is_act(x, LbmDtype::f32) || x.rank != 3 || !is_act(y, LbmDtype::f32) || !is_vec(y, x.dims[0]))
        OP_FAIL(LOWBIT_ERR_MALFORMED, "global average pooling maps f32 [C, H, W] to f32 [C]%s", "");
      break;
    case LbmOpKind::add: {
      LbmTensor b{};
      bool has_b;
      LBM_TRY(slot_tensor(o, 1, true, &b, &has_b));
      if (!is_act(x, LbmDtype::f32) || !is_act(b, LbmDtype::f32) || !is_act(y, LbmDtype::f32) || !same_shape(x, b) ||
          !same_shape(x, y))
        OP_FAIL(LOWBIT_ERR_MALFORMED, "add maps two f32 activations of one shape to a third%s", "");
      LBM_TRY(check_act_attr(o, kind_name));
      break;
    }
    case LbmOpKind::shortcut_a: {
      const int32_t s = a[kAttrScStride], front = a[kAttrScFront];
      if (!is_act(x, LbmDtype::f32) || !is_act(y, LbmDtype::f32) || x.rank != 3 || y.rank != 3)
        OP_FAIL(LOWBIT_ERR_MALFORMED, "the option-A shortcut maps f32 [C, H, W] to f32%s", "");
      if (s < 1 || s > kMaxKernel || front < 0 || int64_t(front) + x.dims[0] > y.dims[0] ||
          int64_t(y.dims[1]) != (int64_t(x.dims[1]) + s - 1) / s || int64_t(y.dims[2]) != (int64_t(x.dims[2]) + s - 1) / s)
        OP_FAIL(LOWBIT_ERR_MALFORMED, "stride %d / %d front channels do not map [%u, %u, %u] to [%u, %u, %u]", s, front,
                x.dims[0], x.dims[1], x.dims[2], y.dims[0], y.dims[1], y.dims[2]);
      break;
    }
    case LbmOpKind::flatten:
      if (x.rank != 3 || y.rank != 1 || uint64_t(y.dims[0]) != tensor_numel(x) || !same_quant(x, y))
        OP_FAIL(LOWBIT_ERR_MALFORMED, "flatten maps [C, H, W] to [C·H·W] of the same dtype and codes%s", "");
      break;
  }
  if (kind != LbmOpKind::conv2d && kind != LbmOpKind::linear && kind != LbmOpKind::add && op.n_inputs != 1)
    OP_FAIL(LOWBIT_ERR_MALFORMED, "takes one input, not %u", op.n_inputs);
  if (kind == LbmOpKind::add && op.n_inputs != 2) OP_FAIL(LOWBIT_ERR_MALFORMED, "takes two inputs, not %u", op.n_inputs);
  c.set_written(yid);
  return LOWBIT_OK;
}

}  // namespace

lowbit_status load_model(const uint8_t* blob, size_t len, ModelView* out, char* message, size_t message_bytes) {
  if (message && message_bytes) message[0] = '\0';
  if (!blob || !out) return report(LOWBIT_ERR_NULL, message, message_bytes, "lbm: null blob or model");
  if (reinterpret_cast<uintptr_t>(blob) % 8 != 0)
    return report(LOWBIT_ERR_ALIGNMENT, message, message_bytes, "lbm: the blob must be 8-byte aligned (64 recommended)");
  if (len < kLbmHeaderBytes)
    return report(LOWBIT_ERR_TRUNCATED, message, message_bytes, "lbm: %zu bytes, shorter than the %u-byte header", len,
                  kLbmHeaderBytes);
  ModelView v;
  v.base = blob;
  v.len = len;
  std::memcpy(&v.h, blob, sizeof v.h);
  const LbmHeader& h = v.h;
  if (std::memcmp(h.magic, kLbmMagic, 4) != 0)
    return report(LOWBIT_ERR_MAGIC, message, message_bytes, "lbm: not a lowbit model (magic bytes differ)");
  if (h.version_major != kLbmVersionMajor)
    return report(LOWBIT_ERR_VERSION, message, message_bytes,
                  "lbm: format version %u.%u; this runtime reads version %u.x: export the model again with a lowbit "
                  "whose runtime matches, or update the runtime",
                  h.version_major, h.version_minor, kLbmVersionMajor);
  if (h.file_bytes > len)
    return report(LOWBIT_ERR_TRUNCATED, message, message_bytes, "lbm: the header says %llu bytes, the blob has %zu",
                  static_cast<unsigned long long>(h.file_bytes), len);
  if (h.header_bytes < kLbmHeaderBytes || h.header_bytes % 8 != 0 || uint64_t(h.header_bytes) + 4 > h.file_bytes)
    return report(LOWBIT_ERR_MALFORMED, message, message_bytes, "lbm: header size %u (at least 128, a multiple of 8, "
                  "inside the file)", h.header_bytes);
  const uint64_t payload = h.file_bytes - 4;
  uint32_t stored = 0;
  for (int b = 0; b < 4; ++b) stored |= uint32_t(blob[payload + b]) << (8 * b);
  const uint32_t crc = lbm_crc32(0, blob, payload);
  if (crc != stored)
    return report(LOWBIT_ERR_CRC, message, message_bytes, "lbm: CRC-32 mismatch (stored %08x, computed %08x): the file is "
                  "corrupted or truncated", stored, crc);
  if (h.flags != 0) return report(LOWBIT_ERR_UNSUPPORTED, message, message_bytes, "lbm: unknown header flags 0x%x", h.flags);
  for (uint8_t r : h.reserved)
    if (r != 0) return report(LOWBIT_ERR_MALFORMED, message, message_bytes, "lbm: reserved header bytes are not 0");
  if (h.tensor_count > kLbmMaxTensors || h.op_count > kLbmMaxOps)
    return report(LOWBIT_ERR_RANGE, message, message_bytes, "lbm: %u tensors / %u ops (at most %u / %u)", h.tensor_count,
                  h.op_count, kLbmMaxTensors, kLbmMaxOps);
  if (h.op_count == 0) return report(LOWBIT_ERR_MALFORMED, message, message_bytes, "lbm: the model has no ops");
  if (h.tensor_offset % 8 || h.op_offset % 8 || h.tensor_offset < h.header_bytes || h.op_offset < h.header_bytes ||
      h.string_offset < h.header_bytes ||
      !range_ok(h.tensor_offset, uint64_t(h.tensor_count) * sizeof(LbmTensor), payload) ||
      !range_ok(h.op_offset, uint64_t(h.op_count) * sizeof(LbmOp), payload) ||
      !range_ok(h.string_offset, h.string_bytes, payload))
    return report(LOWBIT_ERR_RANGE, message, message_bytes,
                  "lbm: tables (tensors at %u, ops at %u, names at %u +%u) outside the %llu-byte file or misaligned",
                  h.tensor_offset, h.op_offset, h.string_offset, h.string_bytes,
                  static_cast<unsigned long long>(h.file_bytes));
  // Tables and the pool must not overlap each other.
  const uint64_t t_end = h.tensor_offset + uint64_t(h.tensor_count) * sizeof(LbmTensor);
  const uint64_t o_end = h.op_offset + uint64_t(h.op_count) * sizeof(LbmOp);
  const uint64_t s_end = uint64_t(h.string_offset) + h.string_bytes;
  auto overlap = [](uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1) { return a0 < b1 && b0 < a1; };
  if (overlap(h.tensor_offset, t_end, h.op_offset, o_end) || overlap(h.tensor_offset, t_end, h.string_offset, s_end) ||
      overlap(h.op_offset, o_end, h.string_offset, s_end))
    return report(LOWBIT_ERR_MALFORMED, message, message_bytes, "lbm: the tensor table, op table and string pool overlap");
  uint64_t blobs_start = t_end > o_end ? t_end : o_end;
  blobs_start = blobs_start > s_end ? blobs_start : s_end;
  Ctx c{v, message, message_bytes, {}};
  if (!range_ok(h.name_offset, uint64_t(h.name_len) + 1, h.string_bytes) || v.str(h.name_offset)[h.name_len] != '\0')
    return report(LOWBIT_ERR_RANGE, message, message_bytes, "lbm: the model name is outside the string pool or unterminated");
  for (uint32_t i = 0; i < h.tensor_count; ++i) LBM_TRY(check_tensor(c, i, blobs_start, payload));
  // Input, output, normalisation.
  if (h.input_tensor >= h.tensor_count || h.output_tensor >= h.tensor_count)
    return report(LOWBIT_ERR_RANGE, message, message_bytes, "lbm: input tensor %u / output tensor %u (the file has %u)",
                  h.input_tensor, h.output_tensor, h.tensor_count);
  const LbmTensor in = v.tensor(h.input_tensor), outp = v.tensor(h.output_tensor);
  if (!is_act(in, LbmDtype::f32) || in.rank != 3)
    return report(LOWBIT_ERR_MALFORMED, message, message_bytes, "lbm: the input '%s' must be an f32 activation [C, H, W]",
                  v.str(in.name_offset));
  if (!is_act(outp, LbmDtype::f32) || outp.rank != 1 || h.output_tensor == h.input_tensor)
    return report(LOWBIT_ERR_MALFORMED, message, message_bytes, "lbm: the output '%s' must be an f32 activation [classes]",
                  v.str(outp.name_offset));
  if ((h.mean_tensor == kLbmNoTensor) != (h.std_tensor == kLbmNoTensor))
    return report(LOWBIT_ERR_MALFORMED, message, message_bytes, "lbm: input mean and std must both be given or both absent");
  if (h.mean_tensor != kLbmNoTensor) {
    if (h.mean_tensor >= h.tensor_count || h.std_tensor >= h.tensor_count)
      return report(LOWBIT_ERR_RANGE, message, message_bytes, "lbm: mean/std tensor ids %u/%u (the file has %u)",
                    h.mean_tensor, h.std_tensor, h.tensor_count);
    const LbmTensor m = v.tensor(h.mean_tensor), s = v.tensor(h.std_tensor);
    if (!is_const(m, LbmDtype::f32) || !is_const(s, LbmDtype::f32) || !is_vec(m, in.dims[0]) || !is_vec(s, in.dims[0]))
      return report(LOWBIT_ERR_MALFORMED, message, message_bytes, "lbm: mean and std must be f32 constants [%u]", in.dims[0]);
    for (uint32_t k = 0; k < in.dims[0]; ++k) {
      float f;
      std::memcpy(&f, v.blob(s) + 4 * k, 4);
      if (f == 0.0f) return report(LOWBIT_ERR_MALFORMED, message, message_bytes, "lbm: std[%u] is 0", k);
    }
  }
  for (uint32_t i = 0; i < h.op_count; ++i) LBM_TRY(check_op(c, i));
  if (!c.is_written(h.output_tensor))
    return report(LOWBIT_ERR_MALFORMED, message, message_bytes, "lbm: no op writes the output '%s'", v.str(outp.name_offset));
  *out = v;
  return LOWBIT_OK;
}

}  // namespace lowbit::runtime
