// Kernel-path forward (the integer layer tier, kernels/qlayer/qlayer.h) and fp32 backward of the quantized conv /
// linear layers. The tier returns y = (wscale[m]·sx/2)·T + bias[m] with T its exact integer accumulator; this
// file only maps quant's codes and tensors onto the tier's pointers and turns its Status into lowbit::Error.
#include "quant/layers/kernel_ops.h"

#include <cmath>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/threading.h"

namespace lowbit::quant {
namespace k = lowbit::kernels;
namespace {

// The op's inputs: the bias only when the layer has one.
std::vector<Var> op_inputs(const Var& x, const Var& w, const Var& bias) {
  std::vector<Var> in{x, w};
  if (bias.defined()) in.push_back(bias);
  return in;
}

// Runs the tier with an f32 NCHW output (+ bias) into y.
void run_tier(PackedLayer& packed, const ConvGeom& g, const k::QLayerInput& in, const Var& bias, float* y,
              LayerScratch& s) {
  k::QLayerOutput out;
  out.kind = k::QlEpilogue::f32;
  out.data = y;
  out.bias = bias.defined() ? bias.value().data() : nullptr;
  const size_t bytes = k::qlayer_workspace_bytes(packed.view, g, in.layout, out.kind);
  LOWBIT_ASSERT(bytes > 0, "quantized layer: the integer tier refuses this call (route {}, input layout {})",
                k::qlayer_route_name(packed.view.route), static_cast<int>(in.layout));
  s.ws.resize(bytes);
  const k::Status st = k::qlayer_forward(packed.view, g, in, out, s.ws.data(), bytes, num_threads());
  LOWBIT_CHECK(st == k::Status::ok, "quantized layer: integer forward failed: {}", k::status_name(st));
}

}  // namespace

ConvGeom make_conv_geom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int stride, int pad,
                        int groups) {
  ConvGeom g;
  g.N = N, g.C = C, g.H = H, g.W = W, g.O = O;
  g.KH = kh, g.KW = kw, g.SH = g.SW = stride, g.PH = g.PW = pad;
  g.G = groups;
  LOWBIT_CHECK(k::conv_geom_finish(g) == k::Status::ok,
               "conv geometry: input {}x{}x{}x{} does not fit kernel {}x{} stride {} pad {} groups {} into {} channels",
               N, C, H, W, kh, kw, stride, pad, groups, O);
  return g;
}

ConvGeom linear_geom(int64_t N, int64_t F, int64_t O) { return make_conv_geom(N, F, 1, 1, O, 1, 1, 1, 0, 1); }

ActKind act_kind_of(const QCodes& x) {
  LOWBIT_CHECK(x.defined(), "quantized layer: the kernel path needs integer activation codes");
  if (x.format == CodeFormat::binary) return ActKind::binary;
  LOWBIT_CHECK(x.format == CodeFormat::uint && x.bits <= 8 && !x.per_channel() && x.zero_point >= 0.0f &&
                   x.zero_point <= float(x.qmax()) && x.zero_point == std::floor(x.zero_point),
               "quantized layer: activation codes must be binary or unsigned ≤ 8 bit with one scale and an "
               "integer zero point");
  return ActKind::uint;
}

void pack_layer(const QCodes& w, const ConvGeom& geom, bool conv, ActKind xk, int xbits, int32_t azero,
                IntBackend backend, uint64_t version, PackedLayer& out) {
  k::QLayerDesc d;
  d.geom = geom;
  d.conv = conv;
  d.wfmt = weight_format(w.format);
  d.wbits = w.bits;
  d.wzero = w.zero_point;
  d.afmt = xk;
  d.abits = xk == ActKind::binary ? 1 : xbits;
  d.azero = azero;
  d.backend = backend;
  const size_t bytes = k::qlayer_packed_bytes(d);
  LOWBIT_CHECK(bytes > 0, "quantized layer: backend {} cannot pack {}-bit weights for {}-bit activations",
               backend_name(backend), w.bits, xbits);
  out.valid = false;
  out.buf.resize(bytes);
  k::QLayerWeights src;
  src.codes16 = w.code.data();
  src.scale = w.scale.data();
  src.nscale = w.scale.size();
  const k::Status st = k::qlayer_pack(d, src, out.buf.data(), bytes, &out.view);
  LOWBIT_CHECK(st == k::Status::ok, "quantized layer: packing the weights failed: {}", k::status_name(st));
  out.backend = backend;
  out.act = xk;
  out.abits = xbits;
  out.azero = azero;
  out.version = version;
  out.valid = true;
}

Tensor qconv2d_sign_bits(const Tensor& x, const Var& bias, const ConvGeom& g, PackedLayer& packed, LayerScratch& s) {
  LOWBIT_ASSERT(packed.valid && packed.view.route == k::QlRoute::bconv,
                "qconv2d_sign_bits: needs weights packed for the bconv route");
  Tensor y = Tensor::empty(Shape{g.N, g.O, g.OH, g.OW});
  k::QLayerInput in;
  in.layout = k::QlInput::nchw_f32;
  in.data = x.data();
  in.scale = 1.0f;  // bnn_sign's scale
  run_tier(packed, g, in, bias, y.data(), s);
  return y;
}

Var qconv2d_kernel(const Quantized& x, const Var& w_value, const Var& bias, const ConvGeom& g, PackedLayer& packed,
                   LayerScratch& s) {
  LOWBIT_ASSERT(packed.valid, "qconv2d_kernel: weights not packed");
  act_kind_of(x.codes);
  Tensor y = Tensor::empty(Shape{g.N, g.O, g.OH, g.OW});
  k::QLayerInput in;
  in.scale = x.codes.scale[0];
  if (packed.view.route == k::QlRoute::bconv) {  // binary codes: the values' sign bits, packed straight from fp32
    in.layout = k::QlInput::nchw_f32;
    in.data = x.value.value().data();
  } else {
    in.layout = k::QlInput::nchw_i16;
    in.data = x.codes.code.data();
  }
  run_tier(packed, g, in, bias, y.data(), s);
  // w_value is undefined only in inference with a cached pack (no graph is recorded then).
  const Tensor xv = x.value.value(), wv = w_value.defined() ? w_value.value() : Tensor();
  Conv2dParams cp;
  cp.stride_h = static_cast<int>(g.SH), cp.stride_w = static_cast<int>(g.SW);
  cp.pad_h = static_cast<int>(g.PH), cp.pad_w = static_cast<int>(g.PW), cp.groups = static_cast<int>(g.G);
  return Var::make(y, op_inputs(x.value, w_value, bias), [xv, wv, cp](const Tensor& gy, std::vector<Var>& in) {
    const bool want_b = in.size() > 2 && in[2].defined() && in[2].requires_grad();
    Tensor gx, gw, gb;
    conv2d_backward(xv, wv, gy, cp, in[0].requires_grad() ? &gx : nullptr, in[1].requires_grad() ? &gw : nullptr,
                    want_b ? &gb : nullptr);
    if (gx.defined()) in[0].add_grad(gx);
    if (gw.defined()) in[1].add_grad(gw);
    if (gb.defined()) in[2].add_grad(gb);
  });
}

Var qlinear_kernel(const Quantized& x, const Var& w_value, const Var& bias, PackedLayer& packed, LayerScratch& s) {
  LOWBIT_ASSERT(packed.valid && !packed.view.desc.conv, "qlinear_kernel: weights not packed");
  act_kind_of(x.codes);
  const int64_t N = x.value.shape()[0], F = x.value.shape()[1], O = packed.view.desc.geom.O;
  const ConvGeom g = linear_geom(N, F, O);
  Tensor y = Tensor::empty(Shape{N, O});
  k::QLayerInput in;
  in.layout = k::QlInput::nchw_i16;
  in.data = x.codes.code.data();
  in.scale = x.codes.scale[0];
  run_tier(packed, g, in, bias, y.data(), s);
  // w_value is undefined only in inference with a cached pack (no graph is recorded then).
  const Tensor xv = x.value.value(), wv = w_value.defined() ? w_value.value() : Tensor();
  return Var::make(y, op_inputs(x.value, w_value, bias), [xv, wv](const Tensor& gy, std::vector<Var>& in) {
    const bool want_b = in.size() > 2 && in[2].defined() && in[2].requires_grad();
    Tensor gx, gw, gb;
    linear_backward(xv, wv, gy, in[0].requires_grad() ? &gx : nullptr, in[1].requires_grad() ? &gw : nullptr,
                    want_b ? &gb : nullptr);
    if (gx.defined()) in[0].add_grad(gx);
    if (gw.defined()) in[1].add_grad(gw);
    if (gb.defined()) in[2].add_grad(gb);
  });
}

Var scale_positions(const Var& y, const Var& k) {
  const Shape& ys = y.shape();
  const int64_t N = ys[0], C = ys[1], S = ys.numel() / (N * C);
  LOWBIT_CHECK(k.shape().numel() == N * S && k.shape()[0] == N, "scale_positions: factor {} does not fit {}",
               k.shape().str(), ys.str());
  const Tensor yv = y.value(), kv = k.value();
  Tensor out = Tensor::empty(ys);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < S; ++i) out[(n * C + c) * S + i] = yv[(n * C + c) * S + i] * kv[n * S + i];
  return Var::make(out, {y, k}, [yv, kv, N, C, S](const Tensor& g, std::vector<Var>& in) {
    if (in[0].requires_grad()) {
      Tensor gy = Tensor::empty(g.shape());
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < S; ++i) gy[(n * C + c) * S + i] = g[(n * C + c) * S + i] * kv[n * S + i];
      in[0].add_grad(gy);
    }
    if (in[1].requires_grad()) {
      Tensor gk = Tensor::zeros(kv.shape());
      for (int64_t n = 0; n < N; ++n)
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < S; ++i) gk[n * S + i] += g[(n * C + c) * S + i] * yv[(n * C + c) * S + i];
      in[1].add_grad(gk);
    }
  });
}

}  // namespace lowbit::quant
