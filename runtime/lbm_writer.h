// Host-side builder of .lbm files (runtime/FORMAT.md): add tensors and ops, then write bytes, a file, or a C
// header for firmware. Used by `lowbit export` (quant/export/) and the runtime's tests. Not built for firmware
// (it uses the STL and throws); the runtime itself only reads.
//
// Usage:
//   LbmWriter w("lenet5");
//   uint32_t x  = w.add_f32_activation("input", {1, 28, 28});
//   uint32_t xq = w.add_code_activation("input.q", LbmDtype::u8, 8, {1, 28, 28}, scale, zero_point);
//   w.add_quantize("input.q", x, xq, LbmQuantKind::div_clamp, scale, 1, -zp, 255 - zp, zp);
//   uint32_t wt = w.add_weights("conv1.w", codes);                 // integer codes, packed canonically here
//   uint32_t ws = w.add_f32("conv1.wscale", {6}, wscale);
//   LbmLayer l; l.name = "conv1"; l.x = xq; l.w = wt; l.wscale = ws; l.y = ...; l.kernel_h = l.kernel_w = 5; …
//   w.add_layer(l);
//   …
//   w.set_input(x, mean, std); w.set_output(logits);
//   std::vector<uint8_t> bytes = w.bytes();   // checks the whole model with the runtime's own loader first
//
// Every add_* returns the new tensor's id (its index in the tensor table). Mistakes (a code outside its format,
// a shape that does not match, a tensor id that does not exist, a file the loader would refuse) throw
// std::invalid_argument naming the tensor or op. This API is stable: new features add members with defaults.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/format.h"

namespace lowbit::runtime {

// Integer weight codes of a conv [O, C/groups, KH, KW] or linear [O, F] layer, in OIHW order, with real value
// wscale[m]·(code − zero_point) (wscale is a separate f32 tensor, the layer's kInWScale input).
struct LbmWeightCodes {
  LbmCodes codes = LbmCodes::binary;  // binary (±1), ternary, uint or sint
  int bits = 1;                       // binary 1, ternary 2, uint/sint 1 … 8
  float zero_point = 0.0f;            // wzero: a multiple of 1/2 (DoReFa's (2^k − 1)/2); 0 for binary/ternary
  std::vector<uint32_t> shape;        // [O, Cg, KH, KW] or [O, F]
  std::vector<int32_t> values;        // the codes, shape's product of them
};

// A conv2d or linear op (runtime/FORMAT.md "conv2d / linear").
struct LbmLayer {
  std::string name;
  bool conv = true;                  // false: linear
  uint32_t x = kLbmNoTensor, w = kLbmNoTensor, y = kLbmNoTensor;
  uint32_t wscale = kLbmNoTensor;    // f32 [O] or [1]; absent for f32 weights (an fp32 layer)
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, groups = 1;
  LbmEpilogue epilogue = LbmEpilogue::f32;
  uint32_t bias = kLbmNoTensor;      // f32 [O] (f32 epilogue)
  uint32_t a = kLbmNoTensor;         // f32 [O]: BN multiplier (f32) / requant scale
  uint32_t b = kLbmNoTensor;         // f32 [O]: BN offset (f32) / requant shift
  uint32_t threshold = kLbmNoTensor; // i32 [O] (bits) or [O, 2^bits − 1] (thresholds)
  uint32_t flip = kLbmNoTensor;      // b1 [O] (bits, thresholds)
  uint32_t residual = kLbmNoTensor;  // f32 activation of y's shape (f32 epilogue)
  LbmAct act = LbmAct::none;         // f32 epilogue
  float act_lo = 0.0f, act_hi = 0.0f;
  float inv_step = 1.0f;             // requant
};

// Any op, attribute words as stored (runtime/format.h kAttr* slots).
struct LbmOpSpec {
  LbmOpKind kind = LbmOpKind::flatten;
  std::string name;
  std::vector<uint32_t> inputs;  // slot order; kLbmNoTensor for an absent optional slot
  uint32_t output = kLbmNoTensor;
  std::array<int32_t, kLbmMaxAttrs> attrs{};
  void set_float(int slot, float v);
};

class LbmWriter {
 public:
  explicit LbmWriter(std::string model_name);

  // ---- activations (placed in the arena by the runtime) ----
  uint32_t add_f32_activation(const std::string& name, const std::vector<uint32_t>& shape);
  // Integer codes: dtype u8 (uint codes of `bits` bits, one per byte) or b1 (binary ±1, bits 1, zero_point 0).
  // real = scale·(code − zero_point).
  uint32_t add_code_activation(const std::string& name, LbmDtype dtype, int bits, const std::vector<uint32_t>& shape,
                               float scale, int32_t zero_point);

  // ---- constants (blobs in the file) ----
  uint32_t add_f32(const std::string& name, const std::vector<uint32_t>& shape, const std::vector<float>& values);
  uint32_t add_i32(const std::string& name, const std::vector<uint32_t>& shape, const std::vector<int32_t>& values);
  // Per-channel flips as b1 [O]: flip[m] != 0 sets bit m.
  uint32_t add_flips(const std::string& name, const std::vector<uint8_t>& flip);
  // Weight codes, packed canonically: binary → b1, ternary → t2, sint → i2/i4/i8 by bits, uint → i2/i4/i8 by
  // bits holding code − 2^(bits−1) (runtime/FORMAT.md "Weights").
  uint32_t add_weights(const std::string& name, const LbmWeightCodes& w);

  // ---- ops, in execution order; each returns the op's index ----
  uint32_t add_layer(const LbmLayer& l);
  uint32_t add_quantize(const std::string& name, uint32_t x, uint32_t y, LbmQuantKind kind, float m, float d,
                        float lo, float hi, float add);
  uint32_t add_maxpool(const std::string& name, uint32_t x, uint32_t y, int kernel, int stride, int pad = 0);
  uint32_t add_avgpool(const std::string& name, uint32_t x, uint32_t y, int kernel, int stride, int pad = 0,
                       bool count_include_pad = true);
  uint32_t add_global_avgpool(const std::string& name, uint32_t x, uint32_t y);
  uint32_t add_add(const std::string& name, uint32_t a, uint32_t b, uint32_t y, LbmAct act = LbmAct::none,
                   float lo = 0.0f, float hi = 0.0f);
  uint32_t add_shortcut_a(const std::string& name, uint32_t x, uint32_t y, int stride, int front);
  uint32_t add_flatten(const std::string& name, uint32_t x, uint32_t y);
  uint32_t add_op(const LbmOpSpec& op);

  // The model input (an f32 activation [C, H, W]) with the normalisation it already carries (one mean and one
  // std per channel, or both empty), and the output (f32 logits [classes]).
  void set_input(uint32_t tensor, const std::vector<float>& mean = {}, const std::vector<float>& std = {});
  void set_output(uint32_t tensor);

  size_t tensor_count() const { return tensors_.size(); }
  size_t op_count() const { return ops_.size(); }

  // The file. Checks it with the runtime's loader (lowbit_model_init) and throws its message if refused.
  std::vector<uint8_t> bytes() const;
  // bytes() written to `path` (throws std::runtime_error naming the path on an I/O error).
  void write_file(const std::string& path) const;
  // A C header for firmware (lbm_c_header below) holding bytes(), with the arena size lowbit_arena_size gives at
  // batch 1 on this host: the largest over the backends and kernel variants compiled here, so it also fits the
  // firmware's reference kernels. symbol: a C identifier.
  std::string c_header(const std::string& symbol) const;

 private:
  struct Tensor {
    LbmTensor rec{};
    std::string name;
    std::vector<uint8_t> blob;
  };
  struct Op {
    LbmOp rec{};
    std::string name;
  };
  uint32_t push_tensor(const std::string& name, LbmDtype dtype, LbmCodes codes, int bits,
                       const std::vector<uint32_t>& shape, float scale, float zero_point, std::vector<uint8_t> blob);
  void check_id(uint32_t id, const std::string& op, const char* slot, bool optional) const;
  std::vector<uint8_t> serialize() const;

  std::string model_name_;
  std::vector<Tensor> tensors_;
  std::vector<Op> ops_;
  uint32_t input_ = kLbmNoTensor, output_ = kLbmNoTensor, mean_ = kLbmNoTensor, std_ = kLbmNoTensor;
};

// A C header for firmware holding `lbm`: `static const unsigned char <symbol>[]` aligned to 64 bytes, plus
// `#define <SYMBOL>_LEN` and `#define <SYMBOL>_ARENA_BYTES <arena_bytes>`. symbol: a C identifier.
std::string lbm_c_header(const std::vector<uint8_t>& lbm, const std::string& symbol, uint64_t arena_bytes);

}  // namespace lowbit::runtime
