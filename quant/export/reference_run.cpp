// The reference interpreter of the deployable op list. Every float step is written as the training graph
// computes it (engine BatchNorm: z = y·a + b, then + residual, then the activation; the global average pool
// as the engine's block sum), so where the graph is integer the codes agree exactly.
#include "quant/export/reference_run.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "quant/export/fold_bn.h"

namespace lowbit::quant::deploy {
namespace {

float apply_act(Act a, float z, float lo, float hi) {
  if (a == Act::relu) return z > 0.0f ? z : 0.0f;
  if (a == Act::clamp) {
    z = z < lo ? lo : z;
    return z > hi ? hi : z;
  }
  return z;
}

// The engine's block_sum (engine/ops/common.h): 8 float lanes, then summed in double, then the tail.
double block_sum(const float* p, int64_t n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += p[i + k];
  double s = 0.0;
  for (int k = 0; k < 8; ++k) s += acc[k];
  for (; i < n; ++i) s += p[i];
  return s;
}

void run_weight_layer(const DeployGraph& g, const Op& op, const std::vector<RefTensor>& vals, RefTensor& out,
                      const ReferenceOptions& ro) {
  const WeightLayerInfo& L = op.layer;
  const Value& xv = g.values[op.inputs[0]];
  const RefTensor& x = vals[op.inputs[0]];
  const bool int_route = L.int_weights && xv.kind == ValueKind::codes;
  const int64_t H = L.in_h, W = L.in_w, OH = L.out_h, OW = L.out_w, P = OH * OW;
  const int64_t cin_g = L.in / L.groups, cout_g = L.out / L.groups;
  const int64_t KH = L.kernel_h, KW = L.kernel_w;
  std::vector<float> xf;  // f32 route input
  if (!int_route) {
    xf.resize(static_cast<size_t>(xv.numel()));
    for (size_t i = 0; i < xf.size(); ++i)
      xf[i] = xv.kind == ValueKind::f32 ? x.f[i] : xv.scale * static_cast<float>(x.c[i] - xv.zero_point);
  }
  const Value& ov = g.values[op.output];
  if (ov.kind == ValueKind::f32) out.f.assign(static_cast<size_t>(L.out * P), 0.0f);
  else out.c.assign(static_cast<size_t>(L.out * P), 0);
  const float* res = op.residual >= 0 ? vals[op.residual].f.data() : nullptr;
  const int levels = ov.kind == ValueKind::codes ? (ov.format == CodeFormat::binary ? 2 : 1 << ov.bits) : 0;
  for (int64_t m = 0; m < L.out; ++m) {
    const int64_t grp = m / cout_g;
    for (int64_t p = 0; p < P; ++p) {
      const int64_t oh = p / OW, ow = p % OW;
      int64_t acc = 0;
      double facc = 0.0;
      for (int64_t c = 0; c < cin_g; ++c)
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t ih = oh * L.stride - L.pad + kh;
          if (ih < 0 || ih >= H) continue;
          for (int64_t kw = 0; kw < KW; ++kw) {
            const int64_t iw = ow * L.stride - L.pad + kw;
            if (iw < 0 || iw >= W) continue;
            const int64_t wi = ((m * cin_g + c) * KH + kh) * KW + kw;
            const int64_t xi = ((grp * cin_g + c) * H + ih) * W + iw;
            if (int_route) acc += int64_t(L.v[wi]) * (x.c[xi] - xv.zero_point);
            else facc += double(L.wf32[wi]) * xf[xi];
          }
        }
      const int64_t oi = m * P + p;
      if (ov.kind == ValueKind::codes) {
        const int32_t level = threshold_level(acc, op.dir[m], op.thresholds.data() + m * (levels - 1), levels);
        out.c[oi] = ov.format == CodeFormat::binary ? 2 * level - 1 : level;
        continue;
      }
      float z;
      if (ro.one_step_affine && int_route) {
        z = static_cast<float>(acc) * op.folded_scale[m] + op.folded_bias[m];
      } else {
        const float y = int_route ? static_cast<float>(double(L.wscale[m]) * double(xv.scale) * double(acc)) + L.bias[m]
                                  : static_cast<float>(facc) + L.bias[m];
        z = op.bn ? y * op.bn_a[m] + op.bn_b[m] : y;
      }
      if (res) z += res[oi];
      out.f[oi] = apply_act(op.act, z, op.act_lo, op.act_hi);
    }
  }
}

}  // namespace

std::vector<float> reference_run(const DeployGraph& g, const float* x, const ReferenceOptions& o,
                                 std::vector<RefTensor>* values_out) {
  std::vector<RefTensor> vals(g.values.size());
  vals[0].f.assign(x, x + g.values[0].numel());
  for (const Op& op : g.ops) {
    const Value& ov = g.values[op.output];
    const Value& iv = g.values[op.inputs[0]];
    const RefTensor& in = vals[op.inputs[0]];
    RefTensor& out = vals[op.output];
    switch (op.kind) {
      case OpKind::quantize: {
        std::vector<int16_t> c16(in.f.size());
        std::vector<float> val(in.f.size());
        kernels::fvec_kernels().quantize(in.f.data(), c16.data(), val.data(), static_cast<int64_t>(in.f.size()),
                                         op.quant.params);
        out.c.assign(c16.begin(), c16.end());
        break;
      }
      case OpKind::conv:
      case OpKind::linear: run_weight_layer(g, op, vals, out, o); break;
      case OpKind::maxpool: {
        const int64_t C = iv.shape[0], H = iv.shape[1], W = iv.shape[2], OH = ov.shape[1], OW = ov.shape[2];
        const bool codes = iv.kind == ValueKind::codes;
        (codes ? out.c.resize(static_cast<size_t>(C * OH * OW)) : out.f.resize(static_cast<size_t>(C * OH * OW)));
        for (int64_t c = 0; c < C; ++c)
          for (int64_t oh = 0; oh < OH; ++oh)
            for (int64_t ow = 0; ow < OW; ++ow) {
              float best = -INFINITY;
              int32_t bc = INT32_MIN;
              for (int kh = 0; kh < op.pool_kernel; ++kh)
                for (int kw = 0; kw < op.pool_kernel; ++kw) {
                  const int64_t ih = oh * op.pool_stride - op.pool_pad + kh, iw = ow * op.pool_stride - op.pool_pad + kw;
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  const int64_t i = (c * H + ih) * W + iw;
                  if (codes) bc = std::max(bc, in.c[i]);
                  else if (in.f[i] > best) best = in.f[i];
                }
              const int64_t oi = (c * OH + oh) * OW + ow;
              if (codes) out.c[oi] = bc;
              else out.f[oi] = best;
            }
        break;
      }
      case OpKind::global_avgpool: {
        const int64_t C = iv.shape[0], HW = iv.shape[1] * iv.shape[2];
        const float inv = 1.0f / static_cast<float>(HW);
        out.f.resize(static_cast<size_t>(C));
        for (int64_t c = 0; c < C; ++c) out.f[c] = static_cast<float>(block_sum(in.f.data() + c * HW, HW)) * inv;
        break;
      }
      case OpKind::shortcut_a: {
        const int64_t C = iv.shape[0], H = iv.shape[1], W = iv.shape[2];
        const int64_t OC = ov.shape[0], OH = ov.shape[1], OW = ov.shape[2];
        out.f.assign(static_cast<size_t>(OC * OH * OW), 0.0f);
        for (int64_t c = 0; c < C; ++c)
          for (int64_t i = 0; i < OH; ++i)
            for (int64_t j = 0; j < OW; ++j)
              out.f[((c + op.sc_front) * OH + i) * OW + j] = in.f[(c * H + i * op.sc_stride) * W + j * op.sc_stride];
        break;
      }
      case OpKind::add: {
        const RefTensor& b = vals[op.inputs[1]];
        out.f.resize(in.f.size());
        for (size_t i = 0; i < in.f.size(); ++i) out.f[i] = in.f[i] + b.f[i];
        break;
      }
      case OpKind::flatten: out = in; break;
    }
  }
  std::vector<float> logits = vals[g.output].f;
  if (values_out) *values_out = std::move(vals);
  return logits;
}

}  // namespace lowbit::quant::deploy
