#include "quant/layers/qconv2d.h"

#include "engine/ops.h"

namespace lowbit::quant {

QConv2d::QConv2d(const nn::Conv2dOptions& o, const Precision& p, const QuantOptions& q, Rng& rng)
    : nn::Conv2d("QConv2d", o, rng), QuantizedLayer(p, q, rng.fork(0x51A7C0DEull).next_u64()) {
  init_quant_params([this](const std::string& n, Tensor t) { return register_parameter(n, std::move(t)); },
                    [this](const std::string& n, Tensor t) {
                      register_buffer(n, std::move(t));
                      return buffer(local_buffers().size() - 1);
                    });
}

Var QConv2d::forward(const Var& x) {
  check_input(x);
  const nn::Conv2dOptions& o = options();
  if (prec_.is_fp32()) return conv2d(x, weight(), bias(), params());
  bool skipped = false;
  const Quantized wq = quantize_weight(weight(), skipped);
  const Shape& s = x.shape();
  const ConvGeom g =
      make_conv_geom(s[0], s[1], s[2], s[3], o.out_channels, o.kernel_h, o.kernel_w, o.stride, o.pad, o.groups);
  Var y;
  if (sign_bits_suffice()) {
    ensure_packed(wq, skipped, ActKind::binary, 1, 0, g, true);
    if (packed_.view.route == kernels::QlRoute::bconv) {
      y = Var(qconv2d_sign_bits(x.value(), bias(), g, packed_, scratch_));
      last_backend_ = packed_.backend;
    }
  }
  if (!y.defined()) {
    const Quantized xq = quantize_input(x);
    if (use_kernel(xq)) {
      ensure_packed(wq, skipped, act_kind_of(xq.codes), xq.codes.bits, static_cast<int32_t>(xq.codes.zero_point), g,
                    true);
      y = qconv2d_kernel(xq, wq.value, bias(), g, packed_, scratch_);
      last_backend_ = packed_.backend;
    } else {
      y = conv2d(xq.value, wq.value, bias(), params());
    }
  }
  if (prec_.scheme == Scheme::xnor && opts_.xnor_scale_activations && prec_.quantizes_activations() &&
      !prec_.image_input)
    y = scale_positions(y, xnor_input_scale_conv(x, o.kernel_h, o.kernel_w, o.stride, o.stride, o.pad, o.pad));
  return finish_output(y);
}

std::string QConv2d::describe() const { return nn::Conv2d::describe() + " " + describe_precision(); }

}  // namespace lowbit::quant
