// What QConv2d and QLinear share: the precision, the quantizer parameters (LSQ steps, PACT α), the weight
// version counter and the packed-weight cache, and the choice between the two forward paths:
//   kernel — integer codes → low-bit kernels → rescale (the deployed computation); backward fp32 on the
//            dequantized values (quant/layers/kernel_ops.h). Used whenever both operands have integer codes.
//   fake   — fp32 conv/linear on the dequantized values (the "fake-quant" simulation).
// A first layer under policy "q" (Precision::image_input) quantizes its input to 8-bit affine codes
// (image_input_u8) with a range calibrated on the first batch, whatever the scheme's activation rule.
// Layers whose activations stay fp32 (TWN/BWN with abits 32, first layers under policy "8") have no integer
// product to run: both paths are the fp32 computation on the quantized weights.
//
// Weight cache: packed weights are rebuilt when the version changes (bump_version(), called by the
// optimizer hook in quant/training.h after every step) or when the shadow weights' bits changed otherwise
// (a checkpoint load): a 64-bit hash of the weights is kept with the cache, so a stale pack is impossible.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "engine/rng.h"
#include "engine/var.h"
#include "quant/layers/kernel_ops.h"
#include "quant/precision.h"
#include "quant/rules.h"
#include "quant/schemes.h"

namespace lowbit::quant {

enum class QPath { kernel, fake };

class QuantizedLayer {
 public:
  virtual ~QuantizedLayer() = default;
  const Precision& precision() const { return prec_; }
  const QuantOptions& quant_options() const { return opts_; }
  void set_path(QPath p) { path_ = p; }
  QPath path() const { return path_; }
  // Forces one integer backend (tests, benchmarks); std::nullopt = choose_backend().
  void set_backend(std::optional<IntBackend> b);
  // The backend of the last kernel-path forward (nullopt if none ran).
  std::optional<IntBackend> last_backend() const { return last_backend_; }
  uint64_t version() const { return version_; }
  void bump_version() { ++version_; }
  // Number of weight (re)packs so far (tests of the cache).
  int64_t pack_count() const { return pack_count_; }
  // After an optimizer step: the scheme's hook (BNN clamps the shadow weights to [−1, 1]); every scheme bumps
  // the version.
  void after_step();
  // Regularisation this layer adds to the loss (PACT's α decay), or an undefined Var.
  Var penalty() const;
  virtual Var shadow_weight() const = 0;

 protected:
  QuantizedLayer(const Precision& p, const QuantOptions& o, uint64_t seed);
  // Creates the parameters the scheme learns — LSQ steps "w_step"/"a_step" with the buffer "lsq_ready"
  // (records that they were initialised from data, so a resumed run keeps them), PACT's "alpha" — through the
  // concrete layer's registration functions: reg_param(name, Tensor) -> Var, reg_buffer(name, Tensor) -> Tensor.
  // Which ones: the scheme's registry row (quant/schemes.h, SchemeTraits::learns).
  template <class RegParam, class RegBuffer>
  void init_quant_params(RegParam reg_param, RegBuffer reg_buffer) {
    const unsigned learns = scheme_traits(prec_.scheme).learns;
    const bool hidden_input = prec_.quantizes_activations() && !prec_.image_input;
    if ((learns & kLearnsWeightStep) && prec_.quantizes_weights())
      state_.w_step = reg_param("w_step", Tensor::ones(Shape{1}));
    if ((learns & kLearnsActStep) && hidden_input) state_.a_step = reg_param("a_step", Tensor::ones(Shape{1}));
    if ((learns & (kLearnsWeightStep | kLearnsActStep)) && !prec_.is_fp32())
      state_.lsq_ready = reg_buffer("lsq_ready", Tensor::zeros(Shape{2}));
    if ((learns & kLearnsAlpha) && hidden_input)
      state_.alpha = reg_param("alpha", Tensor::full(Shape{1}, opts_.pact_alpha_init));
    // [lo, hi, calibrated]: the 8-bit image input's range, from the first batch seen (kept in checkpoints).
    if (prec_.image_input) input_range_ = reg_buffer("input_range", Tensor::zeros(Shape{3}));
  }
  // The quantized weight (value = w when weights stay fp32). May skip the rule (returns undefined value)
  // when no graph is recorded and the packed cache is current: `skipped` says so.
  Quantized quantize_weight(const Var& w, bool& skipped);
  // The quantized input (value = x, no codes, when activations stay fp32). features = elements per sample.
  Quantized quantize_input(const Var& x);
  // Post-processing of the layer output: DoReFa gradient quantization when configured.
  Var finish_output(const Var& y);
  // True when the kernel path applies to these operands.
  bool use_kernel(const Quantized& xq) const { return path_ == QPath::kernel && xq.codes.defined() && prec_.quantizes_weights(); }
  // Makes `packed_` current for these weight codes and activations of kind xk with xbits bits and zero point
  // azero; geom: the layer's geometry (conv, or linear_geom), conv: false for a linear layer.
  void ensure_packed(const Quantized& wq, bool skipped, ActKind xk, int xbits, int32_t azero, const ConvGeom& geom,
                     bool conv);
  // Inference (no graph) on the kernel path with sign-quantized activations (BNN, XNOR): the binary kernels read
  // only the sign bits of the quantized input, and those are the input's own sign bits (sign(x) = −1 ⇔ x < 0), so
  // the activation rule can be skipped.
  bool sign_bits_suffice() const {
    return !grad_enabled() && path_ == QPath::kernel && prec_.quantizes_weights() && prec_.quantizes_activations() &&
           !prec_.image_input && scheme_traits(prec_.scheme).sign_activations;
  }
  std::string describe_precision() const;

  Precision prec_;
  QuantOptions opts_;
  QPath path_ = QPath::kernel;
  std::optional<IntBackend> forced_;
  std::optional<IntBackend> last_backend_;
  QuantState state_;             // the scheme's learned parameters, registered by the concrete layer
  Tensor input_range_;           // buffer [3] when prec_.image_input
  uint64_t version_ = 1;
  int64_t pack_count_ = 0;
  uint64_t packed_hash_ = 0;
  PackedLayer packed_;
  LayerScratch scratch_;
  Rng grad_rng_;

 private:
  uint64_t weight_hash(const Var& w) const;
};

}  // namespace lowbit::quant
