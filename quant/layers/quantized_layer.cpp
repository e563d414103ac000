#include "quant/layers/quantized_layer.h"

#include <cstring>

#include "engine/error.h"

namespace lowbit::quant {

QuantizedLayer::QuantizedLayer(const Precision& p, const QuantOptions& o, uint64_t seed)
    : prec_(p), opts_(o), grad_rng_(seed) {
  validate(p, "quantized layer");
}

void QuantizedLayer::set_backend(std::optional<IntBackend> b) {
  forced_ = b;
  packed_.valid = false;
  last_backend_.reset();
}

void QuantizedLayer::after_step() {
  if (const AfterStep hook = scheme_traits(prec_.scheme).after_step) {
    Var w = shadow_weight();
    hook(w);
  }
  bump_version();
}

Var QuantizedLayer::penalty() const {
  const Penalty p = scheme_traits(prec_.scheme).penalty;
  return p ? p(state_, opts_) : Var();
}

// FNV-1a over the bits of the shadow weights and the LSQ weight step: what the packed codes depend on.
uint64_t QuantizedLayer::weight_hash(const Var& w) const {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const Tensor& t) {
    const float* d = t.data();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) {
      uint32_t bits;
      std::memcpy(&bits, d + i, sizeof bits);
      h = (h ^ bits) * 1099511628211ull;
    }
  };
  mix(w.value());
  if (state_.w_step.defined()) mix(state_.w_step.value());
  return h;
}

Quantized QuantizedLayer::quantize_weight(const Var& w, bool& skipped) {
  skipped = false;
  if (!prec_.quantizes_weights()) return Quantized{w, {}};
  if (!grad_enabled() && path_ == QPath::kernel && prec_.quantizes_activations() && packed_.valid &&
      packed_.version == version_ && packed_hash_ == weight_hash(w)) {
    skipped = true;  // inference with a current pack: the weight rule has nothing to add
    return Quantized{};
  }
  return scheme_traits(prec_.scheme).weight(w, prec_.wbits, state_);
}

Quantized QuantizedLayer::quantize_input(const Var& x) {
  if (!prec_.quantizes_activations()) return Quantized{x, {}};
  if (prec_.image_input) {
    if (input_range_[2] == 0.0f) {
      const InputRange r = image_input_range(x.value());
      input_range_[0] = r.lo, input_range_[1] = r.hi, input_range_[2] = 1.0f;
    }
    return image_input_u8(x, InputRange{input_range_[0], input_range_[1]});
  }
  return scheme_traits(prec_.scheme).activation(x, prec_.abits, state_);
}

Var QuantizedLayer::finish_output(const Var& y) {
  if (opts_.dorefa_grad_bits < 32) return dorefa_quantize_grad(y, opts_.dorefa_grad_bits, grad_rng_);
  return y;
}

void QuantizedLayer::ensure_packed(const Quantized& wq, bool skipped, ActKind xk, int xbits, int32_t azero,
                                   const ConvGeom& geom, bool conv) {
  if (skipped) return;
  const IntBackend b = forced_ ? *forced_ : choose_backend(wq.codes.format, wq.codes.bits, xk, xbits);
  LOWBIT_CHECK(backend_supports(b, wq.codes.format, wq.codes.bits, xk, xbits),
               "quantized layer ({}): backend {} cannot multiply these weight and activation codes", prec_.str(),
               backend_name(b));
  const uint64_t h = weight_hash(shadow_weight());
  if (packed_.valid && packed_.version == version_ && packed_hash_ == h && packed_.backend == b &&
      packed_.act == xk && packed_.abits == xbits && packed_.azero == azero)
    return;
  pack_layer(wq.codes, geom, conv, xk, xbits, azero, b, version_, packed_);
  packed_hash_ = h;
  ++pack_count_;
}

std::string QuantizedLayer::describe_precision() const {
  return prec_.str() + (path_ == QPath::fake ? " fake" : "");
}

}  // namespace lowbit::quant
