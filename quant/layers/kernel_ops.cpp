// Kernel-path forward and fp32 backward of the quantized conv / linear layers.
//
// Rescaling (derivation in quant/layers/int_gemm.h): with weight kernel codes kc (real_w = s_m·mult·(kc − zk))
// and activation codes xc (real_x = sx·(xc − zx), zx an integer zero point, 0 except for the 8-bit image
// input; zero padding = code zx, or a corrected binary position),
//   Σ_k (kc − zk)(xc − zx) = D − zk·xsum[n] − zx·wsum[m] + zk·zx·K,   D = Σ_k kc·xc exactly in int32,
//   y[n][m] = (s_m·mult)·sx·(that) + bias[m],
// evaluated in double from exact integers and rounded once to float. The binary × binary route (bconv2d) instead
// lets the kernel apply y = float(s_m·mult·sx)·float(D) + bias in its output pass (D is exact in float for
// K < 2^24, so that is two float roundings instead of one: well inside the kernel-vs-fake tolerance).
#include "quant/layers/kernel_ops.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/threading.h"
#include "kernels/bconv2d/bconv2d.h"
#include "kernels/omp.h"
#include "kernels/pack/pack_bits.h"

namespace lowbit::quant {
namespace {

// Activation code → byte: uint codes as uint8, binary ±1 as int8 bit pattern.
inline uint8_t code_byte(int16_t c) { return static_cast<uint8_t>(static_cast<int8_t>(c)); }

void row_sums(const uint8_t* rows, size_t n, size_t k, size_t ld, int32_t* out) {
  LOWBIT_OMP(parallel for schedule(static) if (n * k > (1u << 16)))
  for (int64_t r = 0; r < static_cast<int64_t>(n); ++r) {
    const uint8_t* p = rows + r * ld;
    int32_t s = 0;
    for (size_t i = 0; i < k; ++i) s += p[i];
    out[r] = s;
  }
}

// The op's inputs: the bias only when the layer has one.
std::vector<Var> op_inputs(const Var& x, const Var& w, const Var& bias) {
  std::vector<Var> in{x, w};
  if (bias.defined()) in.push_back(bias);
  return in;
}

}  // namespace

ActKind act_kind_of(const QCodes& x) {
  LOWBIT_CHECK(x.defined(), "quantized layer: the kernel path needs integer activation codes");
  if (x.format == CodeFormat::binary) return ActKind::binary;
  LOWBIT_CHECK(x.format == CodeFormat::uint && x.bits <= 8 && !x.per_channel() && x.zero_point >= 0.0f &&
                   x.zero_point <= float(x.qmax()) && x.zero_point == std::floor(x.zero_point),
               "quantized layer: activation codes must be binary or unsigned ≤ 8 bit with one scale and an "
               "integer zero point");
  return ActKind::uint;
}

void pack_layer(const QCodes& w, int64_t groups, int64_t taps, IntBackend backend, uint64_t version,
                PackedLayer& out, bool unsigned_1bit_acts) {
  const int64_t cout = w.shape[0];
  const size_t K = static_cast<size_t>(w.numel() / cout);
  const size_t Mg = static_cast<size_t>(cout / groups);
  const QCodes* src = &w;
  QCodes tapmajor;
  if (taps > 1) {  // [Cout][Cg][taps] -> [Cout][taps][Cg]
    tapmajor = w;
    const int64_t cg = static_cast<int64_t>(K) / taps;
    for (int64_t m = 0; m < cout; ++m)
      for (int64_t c = 0; c < cg; ++c)
        for (int64_t t = 0; t < taps; ++t)
          tapmajor.code[m * K + t * cg + c] = w.code[m * K + c * taps + t];
    src = &tapmajor;
  }
  out.groups.clear();
  for (int64_t g = 0; g < groups; ++g) out.groups.push_back(pack_int_weights(*src, g * Mg, Mg, K, backend));
  out.out_scale.resize(static_cast<size_t>(cout));
  out.wsum.assign(static_cast<size_t>(cout), 0);
  for (int64_t m = 0; m < cout; ++m) {
    out.out_scale[m] = w.scale_of(m * static_cast<int64_t>(K)) * out.groups[0].mult;
    const int8_t* kc = out.groups[m / Mg].kc.data() + (m % Mg) * K;
    int32_t s = 0;
    for (size_t k = 0; k < K; ++k) s += kc[k];
    out.wsum[m] = s;
  }
  out.bconv = backend == IntBackend::bgemm && groups == 1;
  out.bconv_affine = !out.bconv && unsigned_1bit_acts && w.format == CodeFormat::binary && groups == 1;
  if (out.bconv || out.bconv_affine) {
    // Rows (m, tap) of Cg sign bits, from ±1 bytes in tap-major order: the bgemm kernel codes are exactly
    // that; for the affine route (another backend's kernel codes) they come from the weight codes themselves.
    std::vector<int8_t>& pm = out.sign_codes;
    pm.clear();
    const int8_t* signs = out.groups[0].kc.data();
    if (out.bconv_affine) {
      pm.resize(static_cast<size_t>(cout) * K);
      out.sign_scale.resize(static_cast<size_t>(cout));
      out.sign_wsum.assign(static_cast<size_t>(cout), 0);
      for (int64_t m = 0; m < cout; ++m) {
        out.sign_scale[m] = w.scale_of(m * static_cast<int64_t>(K));
        for (size_t k = 0; k < K; ++k) {
          const int8_t c = static_cast<int8_t>(src->code[m * K + k]);
          pm[m * K + k] = c;
          out.sign_wsum[m] += c;
        }
      }
      signs = pm.data();
    }
    const size_t cg = K / static_cast<size_t>(taps), cw = kernels::packed_words(cg);
    out.bconv_w.resize(static_cast<size_t>(cout * taps) * cw * sizeof(kernels::bword));
    const size_t rows = static_cast<size_t>(cout * taps);
    const kernels::Status st = kernels::pack_sign_bytes(signs, rows, cg, cg, out.bconv_w.as<kernels::bword>(), cw,
                                                        rows * cw, 0);
    LOWBIT_ASSERT(st == kernels::Status::ok, "pack_sign_bytes: {}", kernels::status_name(st));
  }
  out.affine_H = out.affine_W = -1;
  out.backend = backend;
  out.version = version;
  out.corr_H = out.corr_W = -1;
  out.valid = true;
}

namespace {
// The bconv2d route of qconv2d_kernel (binary × binary, one group): y [N][Cout][P] = scale[m]·dot + bias[m] in
// the kernel's own output pass (dot exact in int32, zero padding corrected inside the kernel). Input bits come
// from the ±1 values (sign bit = value < 0, the codes' sign).
void binary_conv_f32(const float* xval, int64_t batch, const ConvGeom& g, const PackedLayer& packed,
                     LayerScratch& s, const float* scale, const float* bias, float* y, int threads) {
  namespace k = lowbit::kernels;
  k::Bconv2dShape sh;
  sh.batch = static_cast<size_t>(batch);
  sh.in_h = static_cast<size_t>(g.H), sh.in_w = static_cast<size_t>(g.W), sh.in_c = static_cast<size_t>(g.C);
  sh.out_c = packed.out_scale.size();
  sh.kernel_h = static_cast<size_t>(g.KH), sh.kernel_w = static_cast<size_t>(g.KW);
  sh.stride_h = static_cast<size_t>(g.SH), sh.stride_w = static_cast<size_t>(g.SW);
  sh.pad_h = static_cast<size_t>(g.PH), sh.pad_w = static_cast<size_t>(g.PW);
  sh.padding = k::Bconv2dPadding::zero;
  LOWBIT_ASSERT(k::bconv2d_check(sh) == k::Status::ok, "bconv2d route: bad shape");
  const size_t in_words = sh.batch * sh.in_h * sh.in_w * sh.in_words();
  s.rows.resize(in_words * sizeof(k::bword));
  const k::Status st = k::pack_nchw_to_nhwc_bits(xval, sh.batch, sh.in_c, sh.in_h, sh.in_w,
                                                 s.rows.as<k::bword>(), in_words);
  LOWBIT_ASSERT(st == k::Status::ok, "pack_nchw_to_nhwc_bits: {}", k::status_name(st));
  const k::Bconv2dKernels& kern = k::bconv2d_kernels();
  s.gemm.kscratch.resize(kern.scratch_words(sh) * sizeof(k::bword));
  kern.f32(sh, s.rows.as<k::bword>(), packed.bconv_w.as<k::bword>(), scale, bias, y, k::Bconv2dLayout::nchw,
           s.gemm.kscratch.as<k::bword>(), threads);
}

// The affine route (binary weights w ∈ ±1 with real scale E_m, activations x ∈ {0, 1} with scale sx, one
// group). With s = 2x − 1 ∈ ±1 and x = (1 + s)/2, at output pixel p of filter m (sums over the taps whose input
// lies inside the image; zero padding is x = 0 and contributes nothing):
//   y = E_m·sx·Σ_valid w·x + b_m = (E_m·sx/2)·(Σ_valid w·s + Σ_valid w) + b_m.
// bconv2d with zero padding computes D = Σ_valid w·s; Σ_valid w = wsum_m − corr[class(p)][m], where corr sums
// w over the taps a pixel of that padding class loses. So the kernel's output pass applies
//   y0 = a_m·D + (a_m·wsum_m + b_m),  a_m = E_m·sx/2,
// and border pixels (class ≠ 0) get −a_m·corr[class][m] afterwards. Every term is an exact small integer times a
// per-channel float, as on the binary route.
void affine_binary_conv_f32(const Quantized& x, const ConvGeom& g, PackedLayer& packed, LayerScratch& s,
                            const float* bias, float* y, int threads) {
  const int64_t N = x.value.shape()[0], cout = static_cast<int64_t>(packed.sign_scale.size());
  const int64_t P = g.P();
  if (packed.affine_H != g.H || packed.affine_W != g.W) {  // ±1 codes, tap-major
    padding_corrections(g, packed.sign_codes.data(), static_cast<size_t>(cout), packed.affine_pixel_class,
                        packed.affine_corr);
    packed.affine_H = g.H, packed.affine_W = g.W;
  }
  const float sx = x.codes.scale[0];
  s.fscale.resize(static_cast<size_t>(cout));
  s.fbias.resize(static_cast<size_t>(cout));
  for (int64_t m = 0; m < cout; ++m) {
    const double a = double(packed.sign_scale[m]) * sx * 0.5;
    s.fscale[m] = static_cast<float>(a);
    s.fbias[m] = static_cast<float>(a * packed.sign_wsum[m] + (bias ? bias[m] : 0.0f));
  }
  // s = 2x − 1 from the codes (0 → −1, 1 → +1): its sign bit is what the kernel packs.
  const int64_t n = x.value.value().numel();
  s.pm1.resize(static_cast<size_t>(n));
  const int16_t* codes = x.codes.code.data();
  float* pm = s.pm1.data();
  LOWBIT_OMP(parallel for schedule(static) if (n > (1 << 16)))
  for (int64_t i = 0; i < n; ++i) pm[i] = static_cast<float>(2 * codes[i] - 1);
  binary_conv_f32(pm, N, g, packed, s, s.fscale.data(), s.fbias.data(), y, threads);
  const int32_t* cls = packed.affine_pixel_class.data();
  const int32_t* corr = packed.affine_corr.data();
  LOWBIT_OMP(parallel for schedule(static) if (N * cout * P > (1 << 16)))
  for (int64_t bm = 0; bm < N * cout; ++bm) {
    const int64_t m = bm % cout;
    float* out = y + bm * P;
    const float a = s.fscale[m];
    for (int64_t p = 0; p < P; ++p)
      if (cls[p] != 0) out[p] -= a * static_cast<float>(corr[cls[p] * cout + m]);
  }
}

// The binary × binary route: y = out_scale[m]·sx·dot + bias[m], the input bits being x's sign bits.
void sign_binary_conv_f32(const float* x, int64_t batch, float sx, const ConvGeom& g, const PackedLayer& packed,
                          LayerScratch& s, const float* bias, float* y, int threads) {
  const size_t cout = packed.out_scale.size();
  s.fscale.resize(cout);
  for (size_t co = 0; co < cout; ++co) s.fscale[co] = static_cast<float>(double(packed.out_scale[co]) * sx);
  binary_conv_f32(x, batch, g, packed, s, s.fscale.data(), bias, y, threads);
}
}  // namespace

Tensor qconv2d_sign_bits(const Tensor& x, const Var& bias, const ConvGeom& g, PackedLayer& packed, LayerScratch& s) {
  LOWBIT_ASSERT(packed.valid && packed.bconv, "qconv2d_sign_bits: needs weights packed for bconv2d");
  const int64_t N = x.dim(0), cout = static_cast<int64_t>(packed.out_scale.size());
  Tensor y = Tensor::empty(Shape{N, cout, g.OH, g.OW});
  sign_binary_conv_f32(x.data(), N, 1.0f, g, packed, s, bias.defined() ? bias.value().data() : nullptr, y.data(),
                       num_threads());  // bnn_sign's scale is 1
  return y;
}

Var qconv2d_kernel(const Quantized& x, const Var& w_value, const Var& bias, const ConvGeom& g, PackedLayer& packed,
                   LayerScratch& s) {
  LOWBIT_ASSERT(packed.valid, "qconv2d_kernel: weights not packed");
  const ActKind kind = act_kind_of(x.codes);
  const Shape& xs = x.value.shape();
  const int64_t N = xs[0], P = g.P(), Kg = g.K(), CHW = g.C * g.H * g.W;
  const int64_t cout = static_cast<int64_t>(packed.out_scale.size()), Mg = cout / g.G;
  const size_t rowsN = static_cast<size_t>(N * P);
  Tensor y = Tensor::empty(Shape{N, cout, g.OH, g.OW});
  const float sx = x.codes.scale[0];
  const int32_t zx = static_cast<int32_t>(x.codes.zero_point);  // 0 for binary codes
  const float* bptr = bias.defined() ? bias.value().data() : nullptr;
  const int threads = num_threads();
  if (packed.bconv) {
    sign_binary_conv_f32(x.value.value().data(), N, sx, g, packed, s, bptr, y.data(), threads);
  } else if (packed.bconv_affine) {
    LOWBIT_ASSERT(kind == ActKind::uint && x.codes.bits == 1 && zx == 0, "affine bconv2d route: 1-bit codes");
    affine_binary_conv_f32(x, g, packed, s, bptr, y.data(), threads);
  }
  const bool direct = packed.bconv || packed.bconv_affine;  // the output is complete
  const bool need_corr = !direct && kind == ActKind::binary && (g.PH > 0 || g.PW > 0);
  if (need_corr && (packed.corr_H != g.H || packed.corr_W != g.W)) {
    packed.class_corr.assign(static_cast<size_t>(g.G), {});
    for (int64_t gi = 0; gi < g.G; ++gi)  // kernel codes [Mg][K], tap-major
      padding_corrections(g, packed.groups[gi].kc.data(), static_cast<size_t>(Mg), packed.pixel_class,
                          packed.class_corr[gi]);
    packed.corr_H = g.H, packed.corr_W = g.W;
  }
  if (need_corr) {
    s.row_class.resize(rowsN);
    for (int64_t b = 0; b < N; ++b) std::copy(packed.pixel_class.begin(), packed.pixel_class.end(), &s.row_class[b * P]);
  }
  if (!direct) {
    s.rows.resize(rowsN * static_cast<size_t>(Kg));
    s.D.resize(static_cast<size_t>(Mg) * rowsN);
  }
  for (int64_t gi = 0; gi < g.G && !direct; ++gi) {
    const int16_t* codes = x.codes.code.data();
    uint8_t* rows = s.rows.data();
    const int64_t HW = g.H * g.W, cg = g.Cg();
    s.nhwc.resize(static_cast<size_t>(N * HW * cg));
    uint8_t* nhwc = s.nhwc.data();
    LOWBIT_OMP(parallel for schedule(static) if (N > 1))
    for (int64_t b = 0; b < N; ++b) {
      uint8_t* dst = nhwc + b * HW * cg;
      for (int64_t c = 0; c < cg; ++c) {
        const int16_t* src = codes + b * CHW + (gi * cg + c) * HW;
        for (int64_t i = 0; i < HW; ++i) dst[i * cg + c] = code_byte(src[i]);
      }
      im2col_rows_nhwc(dst, g, rows + b * P * Kg, Kg, static_cast<uint8_t>(zx));
    }
    const IntWeights& w = packed.groups[gi];
    IntActs a;
    a.kind = kind;
    a.bits = x.codes.bits;
    a.N = rowsN;
    a.K = static_cast<size_t>(Kg);
    a.rows = rows;
    a.ld = static_cast<size_t>(Kg);
    if (need_corr) {
      a.row_class = s.row_class.data();
      a.class_corr = packed.class_corr[gi].data();
    }
    int_gemm(w, a, s.D.data(), rowsN, s.gemm, threads);
    const bool zk = w.zk != 0.0f;
    if (zk) {
      s.xsum.resize(rowsN);
      row_sums(rows, rowsN, static_cast<size_t>(Kg), static_cast<size_t>(Kg), s.xsum.data());
    }
    const int32_t* D = s.D.data();
    const int32_t* xsum = s.xsum.data();
    float* yd = y.data();
    LOWBIT_OMP(parallel for schedule(static) if (N * Mg * P > (1 << 15)))
    for (int64_t bm = 0; bm < N * Mg; ++bm) {
      const int64_t b = bm / Mg, m = bm % Mg, co = gi * Mg + m;
      const double sc = double(packed.out_scale[co]) * sx;
      const float bv = bptr ? bptr[co] : 0.0f;
      // The zero-point terms: −zx·wsum + zk·zx·K (both 0 unless the codes are the 8-bit image input).
      const double zterm = double(zx) * (double(w.zk) * double(Kg) - double(packed.wsum[co]));
      const int32_t* Dr = D + m * rowsN + b * P;
      float* out = yd + (b * cout + co) * P;
      for (int64_t p = 0; p < P; ++p) {
        const double acc = (zk ? double(Dr[p]) - double(w.zk) * xsum[b * P + p] : double(Dr[p])) + zterm;
        out[p] = static_cast<float>(sc * acc) + bv;
      }
    }
  }
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
  LOWBIT_ASSERT(packed.valid && packed.groups.size() == 1, "qlinear_kernel: weights not packed");
  const ActKind kind = act_kind_of(x.codes);
  const int64_t N = x.value.shape()[0], F = x.value.shape()[1];
  const IntWeights& w = packed.groups[0];
  const int64_t O = static_cast<int64_t>(w.M);
  s.rows.resize(static_cast<size_t>(N * F));
  uint8_t* rows = s.rows.data();
  for (int64_t i = 0; i < N * F; ++i) rows[i] = code_byte(x.codes.code[i]);
  IntActs a;
  a.kind = kind;
  a.bits = x.codes.bits;
  a.N = static_cast<size_t>(N);
  a.K = static_cast<size_t>(F);
  a.rows = rows;
  a.ld = static_cast<size_t>(F);
  s.D.resize(static_cast<size_t>(O * N));
  int_gemm(w, a, s.D.data(), static_cast<size_t>(N), s.gemm, num_threads());
  const bool zk = w.zk != 0.0f;
  if (zk) {
    s.xsum.resize(static_cast<size_t>(N));
    row_sums(rows, static_cast<size_t>(N), static_cast<size_t>(F), static_cast<size_t>(F), s.xsum.data());
  }
  Tensor y = Tensor::empty(Shape{N, O});
  const float sx = x.codes.scale[0];
  const double zx = x.codes.zero_point;  // 0 except for the 8-bit image input
  const float* bptr = bias.defined() ? bias.value().data() : nullptr;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      const double acc = (zk ? double(s.D[o * N + n]) - double(w.zk) * s.xsum[n] : double(s.D[o * N + n])) +
                         zx * (double(w.zk) * double(F) - double(packed.wsum[o]));
      y[n * O + o] = static_cast<float>(double(packed.out_scale[o]) * sx * acc) + (bptr ? bptr[o] : 0.0f);
    }
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
