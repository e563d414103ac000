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
  if (prec_.scheme == Scheme::bnn) {
    Var w = shadow_weight();
    bnn_clamp_weights(w);
  }
  bump_version();
}

Var QuantizedLayer::penalty() const {
  if (prec_.scheme == Scheme::pact && alpha_.defined() && opts_.pact_alpha_decay > 0.0f)
    return pact_alpha_penalty(alpha_, opts_.pact_alpha_decay);
  return Var();
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
  if (w_step_.defined()) mix(w_step_.value());
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
  switch (prec_.scheme) {
    case Scheme::dorefa:
    case Scheme::pact: return dorefa_weight(w, prec_.wbits);
    case Scheme::bnn: return bnn_sign(w);
    case Scheme::xnor: return xnor_weight(w);
    case Scheme::twn: return twn_weight(w);
    case Scheme::lsq:
      if (lsq_ready_[0] == 0.0f) {
        w_step_.value()[0] = lsq_init_step(w.value(), prec_.wbits, true);
        lsq_ready_[0] = 1.0f;
      }
      return lsq_quantize(w, w_step_, prec_.wbits, true, lsq_grad_scale(w.value().numel(), prec_.wbits, true));
    case Scheme::fp32: break;
  }
  return Quantized{w, {}};
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
  switch (prec_.scheme) {
    case Scheme::dorefa:
    case Scheme::twn: return dorefa_activation(x, prec_.abits);
    case Scheme::bnn: return bnn_sign(x);
    case Scheme::xnor: return xnor_activation(x);
    case Scheme::lsq: {
      if (lsq_ready_[1] == 0.0f) {
        a_step_.value()[0] = lsq_init_step(x.value(), prec_.abits, false);
        lsq_ready_[1] = 1.0f;
      }
      const int64_t batch = x.shape().rank() > 0 ? x.shape()[0] : 1;
      // N = features per sample (the LSQ paper's definition for activations).
      return lsq_quantize(x, a_step_, prec_.abits, false,
                          lsq_grad_scale(x.value().numel() / std::max<int64_t>(batch, 1), prec_.abits, false));
    }
    case Scheme::pact: return pact_activation(x, alpha_, prec_.abits);
    case Scheme::fp32: break;
  }
  return Quantized{x, {}};
}

Var QuantizedLayer::finish_output(const Var& y) {
  if (opts_.dorefa_grad_bits < 32) return dorefa_quantize_grad(y, opts_.dorefa_grad_bits, grad_rng_);
  return y;
}

void QuantizedLayer::ensure_packed(const Quantized& wq, bool skipped, ActKind xk, int xbits, int64_t groups,
                                   int64_t taps) {
  if (skipped) return;
  const IntBackend b = forced_ ? *forced_ : choose_backend(wq.codes.format, wq.codes.bits, xk, xbits);
  LOWBIT_CHECK(backend_supports(b, wq.codes.format, wq.codes.bits, xk, xbits),
               "quantized layer ({}): backend {} cannot multiply these weight and activation codes", prec_.str(),
               backend_name(b));
  const uint64_t h = weight_hash(shadow_weight());
  if (packed_.valid && packed_.version == version_ && packed_hash_ == h && packed_.backend == b) return;
  pack_layer(wq.codes, groups, taps, b, version_, packed_, xk == ActKind::uint && xbits == 1);
  packed_hash_ = h;
  ++pack_count_;
}

std::string QuantizedLayer::describe_precision() const {
  return prec_.str() + (path_ == QPath::fake ? " fake" : "");
}

}  // namespace lowbit::quant
