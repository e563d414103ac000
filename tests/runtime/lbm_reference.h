// A naive reference interpreter of .lbm files for the runtime tests: plain loops over NCHW values, integer codes
// as int32 and the layer accumulator T in int64, written from runtime/FORMAT.md alone (it shares nothing with the
// executor but the loader's validation and the weight decoding). Integer results must match the runtime exactly;
// float results to rounding.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "runtime/model_view.h"
#include "runtime/plan.h"

namespace lowbit::runtime::testing {

struct RefValue {
  std::vector<int64_t> codes;  // integer activations, NCHW
  std::vector<float> f;        // f32 activations, NCHW
};

inline float ref_round(float u) {
  constexpr float kShift = 12582912.0f;
  return (u + kShift) - kShift;
}

inline float ref_act(float z, int32_t act, float lo, float hi) {
  if (act == 1) return z > 0.0f ? z : 0.0f;
  if (act == 2) return z < lo ? lo : (z > hi ? hi : z);
  return z;
}

// Runs n images [n][C][H][W]; returns the logits [n][classes].
inline std::vector<float> reference_run(const ModelView& v, int64_t n, const float* input) {
  std::vector<RefValue> val(v.h.tensor_count);
  const LbmTensor in = v.tensor(v.h.input_tensor);
  val[v.h.input_tensor].f.assign(input, input + n * int64_t(tensor_numel(in)));
  for (uint32_t i = 0; i < v.h.op_count; ++i) {
    const LbmOp op = v.op(i);
    const LbmTensor x = v.tensor(op.inputs[0]), y = v.tensor(op.outputs[0]);
    const Chw xi = tensor_chw(x), yo = tensor_chw(y);
    const RefValue& X = val[op.inputs[0]];
    RefValue& Y = val[op.outputs[0]];
    const int32_t* a = op.attrs;
    auto fattr = [&](int s) { return attr_float(op, s); };
    switch (static_cast<LbmOpKind>(op.kind)) {
      case LbmOpKind::quantize: {
        Y.codes.resize(X.f.size());
        const int32_t qmax = (1 << y.bits) - 1;
        for (size_t k = 0; k < X.f.size(); ++k) {
          const float xv = X.f[k];
          const float m = fattr(kAttrQM), d = fattr(kAttrQD), lo = fattr(kAttrQLo), hi = fattr(kAttrQHi),
                      add = fattr(kAttrQAdd);
          float c = 0;
          switch (static_cast<LbmQuantKind>(a[kAttrQKind])) {
            case LbmQuantKind::mul_clamp: c = ref_round(std::fmin(std::fmax(xv * m, lo), hi)) + add; break;
            case LbmQuantKind::div_clamp: c = ref_round(std::fmin(std::fmax(xv / m, lo), hi)) + add; break;
            case LbmQuantKind::clamp_mul: c = ref_round(std::fmin(std::fmax(xv, lo), hi) * m / d) + add; break;
            case LbmQuantKind::sign: c = xv < 0.0f ? -1.0f : 1.0f; break;
          }
          if (a[kAttrQKind] != int32_t(LbmQuantKind::sign)) c = std::fmin(std::fmax(c, 0.0f), float(qmax));
          Y.codes[k] = static_cast<int64_t>(c);
        }
        break;
      }
      case LbmOpKind::conv2d:
      case LbmOpKind::linear: {
        const LbmTensor w = v.tensor(op.inputs[kInW]);
        const bool conv = op.kind == uint16_t(LbmOpKind::conv2d);
        const int64_t O = w.dims[0], C = xi.c, H = xi.h, W = xi.w, G = conv ? a[kAttrGroups] : 1;
        const int64_t KH = conv ? a[kAttrKernelH] : 1, KW = conv ? a[kAttrKernelW] : 1;
        const int64_t SH = conv ? a[kAttrStrideH] : 1, SW = conv ? a[kAttrStrideW] : 1;
        const int64_t PH = conv ? a[kAttrPadH] : 0, PW = conv ? a[kAttrPadW] : 0;
        const int64_t OH = yo.h, OW = yo.w, Cg = C / G, Og = O / G, P = OH * OW;
        const auto ptr = [&](int s) -> const uint8_t* {
          return op.inputs[s] == kLbmNoTensor ? nullptr : v.blob(v.tensor(op.inputs[s]));
        };
        auto fvec = [&](int s, int64_t m) {
          float f;
          std::memcpy(&f, ptr(s) + 4 * m, 4);
          return f;
        };
        const bool f32 = w.codes == uint8_t(LbmCodes::none);
        std::vector<int16_t> wc(f32 ? 0 : tensor_numel(w));
        if (!f32) decode_weight_codes(v, w, wc.data());
        const double wz2 = 2.0 * w.zero_point;  // 2·wzero is an integer
        const int64_t az = x.dtype == uint8_t(LbmDtype::b1) ? 0 : int64_t(x.zero_point);
        const int32_t epi = a[kAttrEpilogue];
        if (y.dtype == uint8_t(LbmDtype::f32)) Y.f.assign(size_t(n * O * P), 0.0f);
        else Y.codes.assign(size_t(n * O * P), 0);
        for (int64_t b = 0; b < n; ++b)
          for (int64_t m = 0; m < O; ++m)
            for (int64_t p = 0; p < P; ++p) {
              const int64_t oh = p / OW, ow = p % OW, g = m / Og;
              int64_t T = 0;
              float fsum = 0.0f;
              for (int64_t c = 0; c < Cg; ++c)
                for (int64_t i2 = 0; i2 < KH; ++i2)
                  for (int64_t j2 = 0; j2 < KW; ++j2) {
                    const int64_t ih = oh * SH - PH + i2, iw = ow * SW - PW + j2;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    const int64_t xk = ((b * C + g * Cg + c) * H + ih) * W + iw;
                    const int64_t wk = ((m * Cg + c) * KH + i2) * KW + j2;
                    if (f32) {
                      float wf;
                      std::memcpy(&wf, v.blob(w) + 4 * wk, 4);
                      fsum += wf * X.f[size_t(xk)];
                    } else {
                      T += (2 * int64_t(wc[size_t(wk)]) - int64_t(wz2)) * (X.codes[size_t(xk)] - az);
                    }
                  }
              const size_t yk = size_t((b * O + m) * P + p);
              const float sx = x.scale;
              const int64_t wsi = f32 ? 0 : (v.tensor(op.inputs[kInWScale]).dims[0] == 1 ? 0 : m);
              const float yreal = f32 ? fsum : static_cast<float>(double(fvec(kInWScale, wsi)) * double(sx) * 0.5 * double(T));
              switch (static_cast<LbmEpilogue>(epi)) {
                case LbmEpilogue::f32: {
                  float z = yreal + (ptr(kInBias) ? fvec(kInBias, m) : 0.0f);
                  if (ptr(kInA)) z = z * fvec(kInA, m) + fvec(kInB, m);
                  if (op.inputs[kInResidual] != kLbmNoTensor) z = z + val[op.inputs[kInResidual]].f[yk];
                  Y.f[yk] = ref_act(z, a[kAttrAct], fattr(kAttrActLo), fattr(kAttrActHi));
                  break;
                }
                case LbmEpilogue::bits: {
                  int32_t t;
                  std::memcpy(&t, ptr(kInThreshold) + 4 * m, 4);
                  const bool flip = ptr(kInFlip) && ((ptr(kInFlip)[m / 8] >> (m % 8)) & 1);
                  const bool bit = (T < t) != flip;
                  Y.codes[yk] = bit ? -1 : 1;
                  break;
                }
                case LbmEpilogue::requant: {
                  const float z = (ptr(kInA) ? fvec(kInA, m) : 1.0f) * yreal + (ptr(kInB) ? fvec(kInB, m) : 0.0f);
                  const float u = z * fattr(kAttrInvStep);
                  const int32_t qmax = (1 << y.bits) - 1;
                  Y.codes[yk] = !(u > 0.0f) ? 0 : u >= float(qmax) ? qmax : int64_t(ref_round(u));
                  break;
                }
                case LbmEpilogue::thresholds: {
                  const int64_t L = (int64_t{1} << y.bits) - 1;
                  const bool flip = ptr(kInFlip) && ((ptr(kInFlip)[m / 8] >> (m % 8)) & 1);
                  int64_t level = 0;
                  for (int64_t j = 0; j < L; ++j) {
                    int32_t t;
                    std::memcpy(&t, ptr(kInThreshold) + 4 * (m * L + j), 4);
                    level += flip ? T <= t : T >= t;
                  }
                  Y.codes[yk] = level;
                  break;
                }
              }
            }
        break;
      }
      case LbmOpKind::maxpool:
      case LbmOpKind::avgpool: {
        const bool maxp = op.kind == uint16_t(LbmOpKind::maxpool);
        const bool fl = x.dtype == uint8_t(LbmDtype::f32);
        const size_t cnt = size_t(n * yo.c * yo.h * yo.w);
        if (fl) Y.f.assign(cnt, 0.0f);
        else Y.codes.assign(cnt, 0);
        for (int64_t bc = 0; bc < n * xi.c; ++bc)
          for (int64_t oh = 0; oh < yo.h; ++oh)
            for (int64_t ow = 0; ow < yo.w; ++ow) {
              double best = -INFINITY, sum = 0;
              int64_t count = 0;
              for (int64_t i2 = 0; i2 < a[kAttrKernelH]; ++i2)
                for (int64_t j2 = 0; j2 < a[kAttrKernelW]; ++j2) {
                  const int64_t ih = oh * a[kAttrStrideH] - a[kAttrPadH] + i2, iw = ow * a[kAttrStrideW] - a[kAttrPadW] + j2;
                  if (ih < 0 || ih >= xi.h || iw < 0 || iw >= xi.w) continue;
                  const size_t k = size_t((bc * xi.h + ih) * xi.w + iw);
                  const double xv = fl ? double(X.f[k]) : double(X.codes[k]);
                  best = xv > best ? xv : best;
                  sum += xv;
                  ++count;
                }
              const size_t yk = size_t((bc * yo.h + oh) * yo.w + ow);
              const double div = a[kAttrCountIncludePad] ? double(a[kAttrKernelH] * a[kAttrKernelW]) : double(count);
              if (fl) Y.f[yk] = float(maxp ? best : sum / div);
              else Y.codes[yk] = int64_t(best);
            }
        break;
      }
      case LbmOpKind::global_avgpool: {
        Y.f.assign(size_t(n * xi.c), 0.0f);
        for (int64_t bc = 0; bc < n * xi.c; ++bc) {
          double s = 0;
          for (int64_t k = 0; k < xi.h * xi.w; ++k) s += X.f[size_t(bc * xi.h * xi.w + k)];
          Y.f[size_t(bc)] = float(s / double(xi.h * xi.w));
        }
        break;
      }
      case LbmOpKind::add: {
        const RefValue& B = val[op.inputs[1]];
        Y.f.resize(X.f.size());
        for (size_t k = 0; k < X.f.size(); ++k) Y.f[k] = ref_act(X.f[k] + B.f[k], a[kAttrAct], fattr(kAttrActLo), fattr(kAttrActHi));
        break;
      }
      case LbmOpKind::shortcut_a: {
        Y.f.assign(size_t(n * yo.c * yo.h * yo.w), 0.0f);
        const int64_t s = a[kAttrScStride], front = a[kAttrScFront];
        for (int64_t b = 0; b < n; ++b)
          for (int64_t c = 0; c < xi.c; ++c)
            for (int64_t i2 = 0; i2 < yo.h; ++i2)
              for (int64_t j2 = 0; j2 < yo.w; ++j2)
                Y.f[size_t(((b * yo.c + c + front) * yo.h + i2) * yo.w + j2)] = X.f[size_t(((b * xi.c + c) * xi.h + i2 * s) * xi.w + j2 * s)];
        break;
      }
      case LbmOpKind::flatten: Y = X; break;
    }
  }
  return val[v.h.output_tensor].f;
}

}  // namespace lowbit::runtime::testing
