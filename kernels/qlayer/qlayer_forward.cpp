// qlayer_forward (kernels/qlayer/qlayer.h): the three routes and the epilogues, in caller workspace.
//
// Workspace (64-byte sections, sized and carved by the same function, so the size query and the call agree):
//   generic: one group's channel-last bytes | im2col rows (+ over-read slack) | D [Mg][N·P] | xsum [N·P] |
//            padding classes + corrections (binary activations on bgemm/tgemm with padding) | row classes [N·P] |
//            the group GEMM's packed activations and kernel scratch
//   bconv / affine: input bits [N][H][W][words(C)] | ±1 floats or bytes (inputs that are not bits yet) |
//            bconv2d scratch | per-channel scale, bias, kernel thresholds | D [N][O][P] (epilogues the kernel does
//            not fuse) | padding classes + corrections (affine)
// The integer result of every route is turned into the canonical T (qlayer.h) by one function, t_value, and every
// epilogue that is not fused into bconv2d reads T through it.
#include <cmath>
#include <cstring>

#include "kernels/bconv2d/bconv2d.h"
#include "kernels/bgemm/bgemm.h"
#include "kernels/omp.h"
#include "kernels/pack/pack_bits.h"
#include "kernels/qlayer/qlayer_internal.h"

namespace lowbit::kernels {
namespace {
using namespace qlayer_detail;

struct Ws {
  // generic
  uint8_t* nhwc = nullptr;
  uint8_t* rows = nullptr;
  int32_t* D = nullptr;
  int32_t* xsum = nullptr;
  int32_t* row_class = nullptr;
  uint8_t* gemm = nullptr;
  ClassBufs cls;
  bool use_classes = false;
  // bconv / affine
  bword* xbits = nullptr;
  size_t xbits_words = 0;
  float* pm1 = nullptr;
  int8_t* sbytes = nullptr;
  bword* kscratch = nullptr;
  float* fscale = nullptr;
  float* fbias = nullptr;
  int32_t* kthr = nullptr;
  size_t used = 0;
};

Bconv2dShape bconv_shape(const ConvGeom& g) {
  Bconv2dShape sh;
  sh.batch = static_cast<size_t>(g.N);
  sh.in_h = static_cast<size_t>(g.H), sh.in_w = static_cast<size_t>(g.W), sh.in_c = static_cast<size_t>(g.C);
  sh.out_c = static_cast<size_t>(g.O);
  sh.kernel_h = static_cast<size_t>(g.KH), sh.kernel_w = static_cast<size_t>(g.KW);
  sh.stride_h = static_cast<size_t>(g.SH), sh.stride_w = static_cast<size_t>(g.SW);
  sh.pad_h = static_cast<size_t>(g.PH), sh.pad_w = static_cast<size_t>(g.PW);
  sh.padding = Bconv2dPadding::zero;
  return sh;
}

bool input_ok(const QLayerPacked& p, QlInput in) {
  const bool binary = p.desc.afmt == QlActFormat::binary;
  switch (p.route) {
    case QlRoute::generic:
      if (in == QlInput::nchw_f32) return binary;
      if (in == QlInput::nhwc_bits) return binary || p.desc.abits == 1;
      return true;
    case QlRoute::bconv: return true;
    case QlRoute::affine: return in != QlInput::nchw_f32;
  }
  return false;
}

bool padded(const ConvGeom& g) { return g.PH > 0 || g.PW > 0; }

// Sizes (base null) or carves the workspace of one call.
Ws carve(const QLayerPacked& p, const ConvGeom& g, QlInput in, QlEpilogue out, uint8_t* base) {
  Ws w;
  Carver c{base, 0};
  const size_t N = static_cast<size_t>(g.N), P = static_cast<size_t>(g.P()), HW = static_cast<size_t>(g.H * g.W);
  const size_t M = p.M, C = static_cast<size_t>(g.C);
  if (p.route == QlRoute::generic) {
    const size_t rowsN = N * P;
    w.nhwc = c.take<uint8_t>(N * HW * p.cg);
    w.rows = c.take<uint8_t>(rowsN * p.K + kPackedOverreadBytes);
    w.D = c.take<int32_t>(p.Mg * rowsN);
    if (p.tz != 0) w.xsum = c.take<int32_t>(rowsN);
    w.use_classes = p.desc.afmt == QlActFormat::binary && padded(g) &&
                    (p.desc.backend == QlBackend::bgemm || p.desc.backend == QlBackend::tgemm);
    if (w.use_classes) {
      carve_classes(g, M, c, &w.cls);
      w.row_class = c.take<int32_t>(rowsN);
    }
    w.gemm = c.take<uint8_t>(gemm_scratch_bytes(p, rowsN));
  } else {
    const Bconv2dShape sh = bconv_shape(g);
    w.xbits_words = N * HW * packed_words(C);
    w.xbits = c.take<bword>(w.xbits_words + kPackedOverreadBytes / sizeof(bword));
    if (in == QlInput::nchw_i16) w.pm1 = c.take<float>(N * C * HW);
    if (in == QlInput::nhwc_u8 && p.route == QlRoute::affine) w.sbytes = c.take<int8_t>(N * C * HW);
    w.kscratch = c.take<bword>(bconv2d_scratch_words_max(sh));
    w.fscale = c.take<float>(M);
    w.fbias = c.take<float>(M);
    w.kthr = c.take<int32_t>(M);
    const bool fused = out == QlEpilogue::f32 || (out == QlEpilogue::bits && p.route == QlRoute::bconv);
    if (!fused) w.D = c.take<int32_t>(N * M * P);
    if (p.route == QlRoute::affine) {
      carve_classes(g, M, c, &w.cls);
      w.use_classes = true;
    }
  }
  w.used = c.used;
  return w;
}

// Where T comes from: D[m·ldm + b·ldb + p] of channel co (group-local m), per the route.
struct TView {
  const int32_t* D = nullptr;
  size_t ldm = 0, ldb = 0;
  int64_t tmul = 2, tz = 0, azero = 0, K = 0;
  const int32_t* xsum = nullptr;      // [N·P] (generic, tz ≠ 0)
  const int32_t* kwsum = nullptr;     // [O]
  bool affine = false;                // T = D + kwsum − corr[class]
  const int32_t* pixel_class = nullptr;
  const int32_t* corr = nullptr;      // [classes][O]
  size_t M = 0;
};

inline int64_t channel_const(const TView& v, size_t co) {
  if (v.affine) return v.kwsum[co];
  return -v.azero * (v.tmul * int64_t(v.kwsum[co]) - v.tz * v.K);
}

inline int64_t t_value(const TView& v, size_t m, size_t co, size_t b, size_t p, size_t P, int64_t cst) {
  int64_t t = v.tmul * int64_t(v.D[m * v.ldm + b * v.ldb + p]) + cst;
  if (v.xsum) t -= v.tz * int64_t(v.xsum[b * P + p]);
  if (v.affine) {
    const int32_t c = v.pixel_class[p];
    if (c) t -= v.corr[static_cast<size_t>(c) * v.M + co];
  }
  return t;
}

// Writes the epilogue for channels [c0, c0 + Mc) of every pixel (N images × P pixels).
void epilogue(const QLayerPacked& p, const TView& v, size_t c0, size_t Mc, size_t N, size_t P, float sx,
              const QLayerOutput& y, int threads) {
  (void)threads;
  const size_t M = p.M;
  const int32_t qmax = (1 << y.bits) - 1;
  if (y.kind == QlEpilogue::bits) {
    const size_t words = packed_words(M);
    bword* out = static_cast<bword*>(y.data);
    LOWBIT_OMP(parallel for schedule(static) num_threads(threads) if (N * P * Mc > (1u << 15) && threads > 1))
    for (int64_t bp = 0; bp < static_cast<int64_t>(N * P); ++bp) {
      const size_t b = static_cast<size_t>(bp) / P, px = static_cast<size_t>(bp) % P;
      bword* row = out + static_cast<size_t>(bp) * words;
      for (size_t m = 0; m < Mc; ++m) {
        const size_t co = c0 + m;
        const int64_t t = t_value(v, m, co, b, px, P, channel_const(v, co));
        bword bit = t < y.threshold[co] ? 1u : 0u;
        if (y.flip) bit ^= (y.flip[co / 64] >> (co % 64)) & 1u;
        row[co / 64] |= bit << (co % 64);
      }
    }
    return;
  }
  const bool f32 = y.kind == QlEpilogue::f32;
  // NCHW: (b, m) rows of P pixels; NHWC: pixel rows of Mc channels. Element (b, co, px) at b·M·P + off.
  const size_t cs_m = y.nhwc ? 1 : P, cs_p = y.nhwc ? M : 1;
  LOWBIT_OMP(parallel for schedule(static) num_threads(threads) if (N * P * Mc > (1u << 15) && threads > 1))
  for (int64_t bm = 0; bm < static_cast<int64_t>(N * Mc); ++bm) {
    const size_t b = static_cast<size_t>(bm) / Mc, m = static_cast<size_t>(bm) % Mc, co = c0 + m;
    const int64_t cst = channel_const(v, co);
    const double coef = double(p.wscale[co]) * double(sx) * 0.5;
    const size_t base = b * M * P + co * cs_m;
    if (f32) {
      float* out = static_cast<float*>(y.data) + base;
      const float bv = y.bias ? y.bias[co] : 0.0f;
      if (!v.affine) {  // the training hot path: T in double (exact), no per-pixel branches
        const int32_t* Dr = v.D + m * v.ldm + b * v.ldb;
        const double tm = double(v.tmul), c = double(cst), tz = double(v.tz);
        if (v.xsum) {
          const int32_t* xs = v.xsum + b * P;
          for (size_t px = 0; px < P; ++px)
            out[px * cs_p] = static_cast<float>(coef * (tm * double(Dr[px]) - tz * double(xs[px]) + c)) + bv;
        } else {
          for (size_t px = 0; px < P; ++px)
            out[px * cs_p] = static_cast<float>(coef * (tm * double(Dr[px]) + c)) + bv;
        }
      } else {
        for (size_t px = 0; px < P; ++px)
          out[px * cs_p] = static_cast<float>(coef * double(t_value(v, m, co, b, px, P, cst))) + bv;
      }
    } else {
      uint8_t* out = static_cast<uint8_t*>(y.data);
      const float a = y.scale ? y.scale[co] : 1.0f, c = y.shift ? y.shift[co] : 0.0f;
      for (size_t px = 0; px < P; ++px) {
        const float yv = static_cast<float>(coef * double(t_value(v, m, co, b, px, P, cst)));
        out[base + px * cs_p] = qlayer_requant(a * yv + c, y.inv_step, qmax);
      }
    }
  }
}

Status forward_generic(const QLayerPacked& p, const ConvGeom& g, const QLayerInput& x, const QLayerOutput& y,
                       Ws& w, int threads) {
  const size_t N = static_cast<size_t>(g.N), P = static_cast<size_t>(g.P()), rowsN = N * P, K = p.K;
  const bool binary = p.desc.afmt == QlActFormat::binary;
  const uint8_t pad = binary ? 0 : static_cast<uint8_t>(p.desc.azero);
  if (w.use_classes) {
    build_classes(p, g, w.cls);
    for (size_t b = 0; b < N; ++b) std::memcpy(w.row_class + b * P, w.cls.pixel_class, P * sizeof(int32_t));
  }
  const size_t classes = w.use_classes ? w.cls.pc.classes() : 0;
  for (size_t gi = 0; gi < static_cast<size_t>(g.G); ++gi) {
    gather_group(p, g, x, gi, w.nhwc, threads);
    const int64_t HWc = g.H * g.W * g.Cg();
    uint8_t* rows = w.rows;
    const uint8_t* nhwc = w.nhwc;
    LOWBIT_OMP(parallel for schedule(static) num_threads(threads) if (N > 1 && threads > 1))
    for (int64_t b = 0; b < static_cast<int64_t>(N); ++b)
      im2col_rows(nhwc + b * HWc, g, rows + static_cast<size_t>(b) * P * K, K, pad);
    GemmActs a;
    a.N = rowsN, a.K = K, a.ld = K, a.rows = rows;
    if (w.use_classes) a.row_class = w.row_class, a.class_corr = w.cls.corr + gi * classes * p.Mg;
    const Status st = gemm_group(p, gi, a, w.D, rowsN, w.gemm, threads);
    if (st != Status::ok) return st;
    if (w.xsum) {
      int32_t* xs = w.xsum;
      LOWBIT_OMP(parallel for schedule(static) num_threads(threads) if (rowsN * K > (1u << 16) && threads > 1))
      for (int64_t r = 0; r < static_cast<int64_t>(rowsN); ++r) {
        const uint8_t* q = rows + static_cast<size_t>(r) * K;
        int32_t s = 0;
        if (binary) {
          for (size_t i = 0; i < K; ++i) s += static_cast<int8_t>(q[i]);
        } else {
          for (size_t i = 0; i < K; ++i) s += q[i];
        }
        xs[r] = s;
      }
    }
    TView v;
    v.D = w.D, v.ldm = rowsN, v.ldb = P;
    v.tmul = p.tmul, v.tz = p.tz, v.azero = p.desc.azero, v.K = static_cast<int64_t>(K);
    v.xsum = w.xsum, v.kwsum = p.kwsum, v.M = p.M;
    epilogue(p, v, gi * p.Mg, p.Mg, N, P, x.scale, y, threads);
  }
  return Status::ok;
}

// Input bits of the bconv / affine routes: the ±1 sign bits (affine: s = 2x − 1, bit 1 ⇔ code 0).
Status input_bits(const QLayerPacked& p, const ConvGeom& g, const QLayerInput& x, Ws& w, int threads,
                  const bword** bits) {
  const size_t N = static_cast<size_t>(g.N), C = static_cast<size_t>(g.C), H = static_cast<size_t>(g.H),
               W = static_cast<size_t>(g.W), n = N * C * H * W;
  const bool affine = p.route == QlRoute::affine;
  switch (x.layout) {
    case QlInput::nhwc_bits: *bits = static_cast<const bword*>(x.data); return Status::ok;
    case QlInput::nchw_f32:
      *bits = w.xbits;
      return pack_nchw_to_nhwc_bits(static_cast<const float*>(x.data), N, C, H, W, w.xbits, w.xbits_words);
    case QlInput::nchw_i16: {
      const int16_t* codes = static_cast<const int16_t*>(x.data);
      float* pm = w.pm1;
      const int32_t mul = affine ? 2 : 1, off = affine ? -1 : 0;
      (void)threads;
      LOWBIT_OMP(parallel for schedule(static) num_threads(threads) if (n > (1u << 16) && threads > 1))
      for (int64_t i = 0; i < static_cast<int64_t>(n); ++i) pm[i] = static_cast<float>(mul * codes[i] + off);
      *bits = w.xbits;
      return pack_nchw_to_nhwc_bits(pm, N, C, H, W, w.xbits, w.xbits_words);
    }
    case QlInput::nhwc_u8: {
      const int8_t* src = static_cast<const int8_t*>(x.data);
      if (affine) {
        const uint8_t* u = static_cast<const uint8_t*>(x.data);
        for (size_t i = 0; i < n; ++i) w.sbytes[i] = static_cast<int8_t>(2 * int32_t(u[i]) - 1);
        src = w.sbytes;
      }
      *bits = w.xbits;
      return pack_sign_bytes(src, N * H * W, C, C, w.xbits, packed_words(C), w.xbits_words, threads);
    }
  }
  return Status::unsupported;
}

Status forward_bconv(const QLayerPacked& p, const ConvGeom& g, const QLayerInput& x, const QLayerOutput& y, Ws& w,
                     int threads) {
  const Bconv2dShape sh = bconv_shape(g);
  if (bconv2d_check(sh) != Status::ok) return Status::bad_size;
  const bword* bits = nullptr;
  Status st = input_bits(p, g, x, w, threads, &bits);
  if (st != Status::ok) return st;
  const Bconv2dKernels& k = bconv2d_kernels();
  const size_t M = p.M, N = static_cast<size_t>(g.N), P = static_cast<size_t>(g.P());
  const Bconv2dLayout layout = y.nhwc ? Bconv2dLayout::nhwc : Bconv2dLayout::nchw;
  const bool affine = p.route == QlRoute::affine;
  if (affine) build_classes(p, g, w.cls);
  if (y.kind == QlEpilogue::f32) {
    // bconv: y = float(wscale·sx)·float(dot) + bias. affine: y = a·dot + (a·kwsum + bias) − a·corr[class],
    // a = wscale·sx/2 (T/2 = (dot + kwsum − corr)/2), the border term applied after the kernel.
    for (size_t m = 0; m < M; ++m) {
      if (affine) {
        const double a = double(p.wscale[m]) * double(x.scale) * 0.5;
        w.fscale[m] = static_cast<float>(a);
        w.fbias[m] = static_cast<float>(a * p.kwsum[m] + (y.bias ? y.bias[m] : 0.0f));
      } else {
        w.fscale[m] = static_cast<float>(double(p.wscale[m]) * double(x.scale));
      }
    }
    float* out = static_cast<float*>(y.data);
    k.f32(sh, bits, p.bconv_w, w.fscale, affine ? w.fbias : y.bias, out, layout, w.kscratch, threads);
    if (affine) {
      const int32_t* cls = w.cls.pixel_class;
      const int32_t* corr = w.cls.corr;
      const size_t cs_m = y.nhwc ? 1 : P, cs_p = y.nhwc ? M : 1;
      const float* fs = w.fscale;
      LOWBIT_OMP(parallel for schedule(static) num_threads(threads) if (N * M * P > (1u << 16) && threads > 1))
      for (int64_t bm = 0; bm < static_cast<int64_t>(N * M); ++bm) {
        const size_t b = static_cast<size_t>(bm) / M, m = static_cast<size_t>(bm) % M;
        float* o = out + b * M * P + m * cs_m;
        const float a = fs[m];
        for (size_t px = 0; px < P; ++px)
          if (cls[px] != 0) o[px * cs_p] -= a * static_cast<float>(corr[static_cast<size_t>(cls[px]) * M + m]);
      }
    }
    return Status::ok;
  }
  if (y.kind == QlEpilogue::bits && !affine) {
    // T = 2·dot: 2·dot < t ⇔ dot < ⌈t/2⌉.
    for (size_t m = 0; m < M; ++m) {
      // In 64 bits: the "never" / "always" thresholds INT32_MAX and INT32_MIN would overflow t + 1 and −t.
      const int64_t t = y.threshold[m];
      w.kthr[m] = static_cast<int32_t>(t >= 0 ? (t + 1) / 2 : -((-t) / 2));
    }
    k.bits(sh, bits, p.bconv_w, w.kthr, y.flip, static_cast<bword*>(y.data), w.kscratch, threads);
    return Status::ok;
  }
  k.i32(sh, bits, p.bconv_w, w.D, Bconv2dLayout::nchw, w.kscratch, threads);
  TView v;
  v.D = w.D, v.ldm = P, v.ldb = M * P, v.M = M, v.kwsum = p.kwsum, v.K = static_cast<int64_t>(p.K);
  if (affine) {
    v.tmul = 1, v.affine = true, v.pixel_class = w.cls.pixel_class, v.corr = w.cls.corr;
  } else {
    v.tmul = 2;
  }
  epilogue(p, v, 0, M, N, P, x.scale, y, threads);
  return Status::ok;
}

bool geometry_matches(const QLayerPacked& p, const ConvGeom& g) {
  const ConvGeom& d = p.desc.geom;
  if (g.C != d.C || g.O != d.O || g.KH != d.KH || g.KW != d.KW || g.G != d.G) return false;
  if (g.N < 1 || g.OH < 1 || g.OW < 1) return false;
  ConvGeom chk = g;
  if (conv_geom_finish(chk) != Status::ok || chk.OH != g.OH || chk.OW != g.OW) return false;
  return p.desc.conv || (g.H == 1 && g.W == 1);
}

}  // namespace

size_t qlayer_workspace_bytes(const QLayerPacked& p, const ConvGeom& g, QlInput in, QlEpilogue out) {
  if (!p.kc || !geometry_matches(p, g) || !input_ok(p, in)) return 0;
  return carve(p, g, in, out, nullptr).used;
}

Status qlayer_forward(const QLayerPacked& p, const ConvGeom& g, const QLayerInput& x, const QLayerOutput& y,
                      void* workspace, size_t workspace_bytes, int threads) {
  if (!p.kc || !x.data || !y.data || !workspace) return Status::null_pointer;
  if (y.kind == QlEpilogue::bits && !y.threshold) return Status::null_pointer;
  if (y.kind == QlEpilogue::u8 && (y.bits < 1 || y.bits > 8)) return Status::bad_size;
  if (!geometry_matches(p, g)) return Status::bad_size;
  if (!input_ok(p, x.layout)) return Status::unsupported;
  if (reinterpret_cast<uintptr_t>(workspace) % 64 != 0) return Status::bad_size;
  Ws w = carve(p, g, x.layout, y.kind, static_cast<uint8_t*>(workspace));
  if (w.used > workspace_bytes) return Status::bad_size;
  if (threads <= 0) threads = default_threads();
  if (y.kind == QlEpilogue::bits) {  // the epilogues OR bits into zeroed rows
    const size_t words = static_cast<size_t>(g.N * g.P()) * packed_words(p.M);
    std::memset(y.data, 0, words * sizeof(bword));
  }
  if (p.route == QlRoute::generic) return forward_generic(p, g, x, y, w, threads);
  return forward_bconv(p, g, x, y, w, threads);
}

void qlayer_thresholds(const QLayerPacked& p, float sx, const float* a, const float* b, int32_t* threshold,
                       bword* flip) {
  // z = a·(wscale·sx/2)·T + b: an affine of T with slope s[m], folded by bgemm's exact rule (bgemm.h); computed
  // one channel at a time so no buffer is needed.
  for (size_t w = 0; w < packed_words(p.M); ++w) flip[w] = 0;
  for (size_t m = 0; m < p.M; ++m) {
    const float s = static_cast<float>(double(a ? a[m] : 1.0f) * double(p.wscale[m]) * double(sx) * 0.5);
    const float bb = b ? b[m] : 0.0f;
    bword f = 0;
    bgemm_thresholds_from_affine(&s, &bb, 1, threshold + m, &f);
    flip[m / 64] |= (f & 1u) << (m % 64);
  }
}

}  // namespace lowbit::kernels
