#include "quant/layers/qlinear.h"

#include "engine/error.h"
#include "engine/ops.h"

namespace lowbit::quant {

QLinear::QLinear(int in_features, int out_features, bool bias, const Precision& p, const QuantOptions& q, Rng& rng)
    : nn::Linear("QLinear", in_features, out_features, rng, bias),
      QuantizedLayer(p, q, rng.fork(0x51A71EA5ull).next_u64()) {
  init_quant_params([this](const std::string& n, Tensor t) { return register_parameter(n, std::move(t)); },
                    [this](const std::string& n, Tensor t) {
                      register_buffer(n, std::move(t));
                      return buffer(local_buffers().size() - 1);
                    });
}

Var QLinear::forward(const Var& x) {
  LOWBIT_CHECK(x.shape().rank() == 2 && x.shape()[1] == in_features(), "{}: expected input [N, {}], got {}",
               type_name(), in_features(), x.shape().str());
  if (prec_.is_fp32()) return linear(x, weight(), bias());
  const Quantized xq = quantize_input(x);
  bool skipped = false;
  const Quantized wq = quantize_weight(weight(), skipped);
  Var y;
  if (use_kernel(xq)) {
    ensure_packed(wq, skipped, act_kind_of(xq.codes), xq.codes.bits, static_cast<int32_t>(xq.codes.zero_point),
                  linear_geom(x.shape()[0], in_features(), out_features()), false);
    y = qlinear_kernel(xq, wq.value, bias(), packed_, scratch_);
    last_backend_ = packed_.backend;
  } else {
    y = linear(xq.value, wq.value, bias());
  }
  if (prec_.scheme == Scheme::xnor && opts_.xnor_scale_activations && prec_.quantizes_activations() &&
      !prec_.image_input)
    y = scale_positions(y, xnor_input_scale_linear(x));
  return finish_output(y);
}

std::string QLinear::describe() const { return nn::Linear::describe() + " " + describe_precision(); }

}  // namespace lowbit::quant
