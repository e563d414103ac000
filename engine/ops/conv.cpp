// 2-D convolution, NCHW, weight [Cout, Cin/groups, KH, KW].
//
// General path (im2col + GEMM), per image n and group g, with K = Cin_g·KH·KW and P = OH·OW:
//   y[n, g][Cout_g, P] = W_g[Cout_g, K] · col[K, P] + b,   col = im2col(x[n, g]) (zero padding as zeros)
//   The forward never materialises col: im2col_panels (conv_geom.h) writes it block by block straight into the
//   GEMM's packed B panels through sgemm_serial_cb, so the unfolded matrix only ever exists in L1/L2-sized pieces.
// Backward, with dy[n, g] of shape [Cout_g, P]:
//   dx: for stride 1 and "same" padding (p = (k−1)/2) it is again a convolution, dx = conv(dy, W̃) with the
//       flipped, channel-transposed kernel W̃[c][o][kh][kw] = W[o][c][KH−1−kh][KW−1−kw]; otherwise
//       dcol[K, P] = W_gᵀ · dy[n, g] followed by col2im, which scatter-adds dcol back onto dx[n, g].
//   dW_g += dy[n, g] · colᵀ   (im2col recomputed instead of stored, a slice of output rows at a time so the slice
//                             stays in L2: keeping col would cost K·P floats per image per layer)
//   db[c] = Σ_{n, p} dy[n, c, p]
// Images are processed in parallel (static schedule, per-thread scratch). The weight gradient is accumulated per
// thread and the per-thread partials are summed in thread order, so results are bit-identical for a fixed thread
// count. 1×1 convolutions with stride 1 and no padding skip im2col (col is x itself).
//
// Depthwise path (groups == Cin == Cout): a direct loop; a GEMM with M = 1 would waste the kernel.
#include <algorithm>
#include <cstring>

#include "engine/allocator.h"
#include "engine/gemm.h"
#include "engine/ops.h"
#include "engine/ops/common.h"
#include "engine/ops/conv_geom.h"

namespace lowbit {
using namespace ops_detail;

int64_t conv_out_size(int64_t in, int k, int stride, int pad) {
  LOWBIT_CHECK(stride >= 1, "conv_out_size: stride must be >= 1, got {}", stride);
  return (in + 2 * static_cast<int64_t>(pad) - k) / stride + 1;
}

namespace {


// Strided row helpers with __restrict so the compiler vectorises them (they run once per (c, kh, kw, oh)).
inline void add_row(float* __restrict dst, const float* __restrict src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
}

// dx[c][ih][iw] += Σ dcol over all (kh, kw, oh, ow) that read it: the adjoint of im2col.
void col2im_add(const float* col, const ConvGeom& g, float* dx) {
  const int64_t C = g.Cg(), H = g.H, W = g.W, OH = g.OH, OW = g.OW;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const float* row = col + ((c * g.KH + kh) * g.KW + kw) * OH * OW;
        float* xc = dx + c * H * W;
        const int64_t off = kw - g.PW;
        int64_t ow_lo = off >= 0 ? 0 : (-off + g.SW - 1) / g.SW;
        int64_t ow_hi = W - off <= 0 ? 0 : (W - off + g.SW - 1) / g.SW;
        ow_lo = std::min(ow_lo, OW);
        ow_hi = std::min(std::max(ow_hi, ow_lo), OW);
        for (int64_t oh = 0; oh < OH; ++oh) {
          const int64_t ih = oh * g.SH - g.PH + kh;
          if (ih < 0 || ih >= H) continue;
          const float* r = row + oh * OW;
          float* xr = xc + ih * W + off;
          if (g.SW == 1) {
            add_row(xr + ow_lo, r + ow_lo, ow_hi - ow_lo);
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) xr[ow * g.SW] += r[ow];
          }
        }
      }
}

int thread_id() {
#if defined(_OPENMP)
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// Threads for a loop over the batch: parallel over images when there are enough of them.
int batch_threads(int64_t N) {
#if defined(_OPENMP)
  if (omp_in_parallel()) return 1;
#endif
  return static_cast<int>(std::min<int64_t>(num_threads(), N));
}

// ---- general (im2col + GEMM) ----

void conv_forward_gemm(const ConvGeom& g, const float* x, const float* w, const float* b, float* y) {
  const int64_t K = g.K(), P = g.P(), Og = g.Og(), Cg = g.Cg();
  const int nt = batch_threads(g.N);
  const bool pw = g.pointwise();
  const Im2colTables tab(g);
  const Im2colKernels& packers = im2col_kernels();
  const PackBFn pack = packers.panels;
  const std::vector<unsigned char> pieces = pw ? std::vector<unsigned char>() : packers.panel_pieces(g);
  // The weights are packed into GEMM panels once per call, not once per image.
  std::vector<SgemmPackedA> wp;
  if (!pw)
    for (int64_t gi = 0; gi < g.G; ++gi) wp.emplace_back(false, Og, K, w + gi * Og * K, K);
  LOWBIT_OMP(parallel for num_threads(nt) schedule(static))
  for (int64_t n = 0; n < g.N; ++n) {
    for (int64_t gi = 0; gi < g.G; ++gi) {
      const float* xg = x + (n * g.C + gi * Cg) * g.H * g.W;
      float* yg = y + (n * g.O + gi * Og) * P;
      if (b) {
        for (int64_t o = 0; o < Og; ++o) std::fill(yg + o * P, yg + (o + 1) * P, b[gi * Og + o]);
      }
      const float beta = b ? 1.0f : 0.0f;
      if (pw) {
        // With nt == 1 (a single image) let the GEMM itself use the threads.
        (nt > 1 ? sgemm_serial : sgemm)(false, false, Og, P, K, 1.0f, w + gi * Og * K, K, xg, P, beta, yg, P);
      } else {
        const Im2colPanelCtx ctx{xg, &g, tab.off.data(), tab.kh.data(), tab.kw.data(),
                                 pieces.empty() ? nullptr : pieces.data()};
        // With nt == 1 (fewer images than threads) the GEMM splits its columns over the threads instead.
        if (nt > 1) sgemm_serial_cb(wp[gi], P, 1.0f, pack, &ctx, beta, yg, P);
        else sgemm_cb(wp[gi], P, 1.0f, pack, &ctx, beta, yg, P);
      }
    }
  }
}

// For stride 1 the input gradient is itself a stride-1 convolution ("full" correlation): dx = conv(dy, W̃) with
// W̃[c][o][kh][kw] = W[o][c][KH−1−kh][KW−1−kw] (per group) and padding K−1−p. Running it through the forward
// path (im2col packed straight into the GEMM panels) avoids materialising dcol and the scatter-add of col2im.
bool backward_input_as_conv(const ConvGeom& g) {
  // Only "same" convolutions: with other paddings the full correlation would also multiply the extra zeros.
  return g.SH == 1 && g.SW == 1 && 2 * g.PH == g.KH - 1 && 2 * g.PW == g.KW - 1;
}

void conv_backward_input_as_conv(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t Cg = g.Cg(), Og = g.Og(), KK = g.KH * g.KW;
  ScratchFloats wt(g.C * Og * KK);
  for (int64_t gi = 0; gi < g.G; ++gi)
    for (int64_t o = 0; o < Og; ++o)
      for (int64_t c = 0; c < Cg; ++c) {
        const float* src = w + ((gi * Og + o) * Cg + c) * KK;
        float* dst = wt.data() + ((gi * Cg + c) * Og + o) * KK;
        for (int64_t k = 0; k < KK; ++k) dst[k] = src[KK - 1 - k];
      }
  ConvGeom t = g;
  t.C = g.O, t.H = g.OH, t.W = g.OW;
  t.O = g.C, t.OH = g.H, t.OW = g.W;
  t.PH = g.KH - 1 - g.PH, t.PW = g.KW - 1 - g.PW;
  conv_forward_gemm(t, dy, wt.data(), nullptr, dx);
}

void conv_backward_input_gemm(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t K = g.K(), P = g.P(), Og = g.Og(), Cg = g.Cg();
  const int nt = batch_threads(g.N);
  const bool pw = g.pointwise();
  LOWBIT_OMP(parallel num_threads(nt))
  {
    ScratchFloats dcol(pw ? 0 : K * P);
    auto gemm = nt > 1 ? sgemm_serial : sgemm;
    LOWBIT_OMP(for schedule(static))
    for (int64_t n = 0; n < g.N; ++n) {
      for (int64_t gi = 0; gi < g.G; ++gi) {
        float* dxg = dx + (n * g.C + gi * Cg) * g.H * g.W;
        const float* dyg = dy + (n * g.O + gi * Og) * P;
        if (pw) {
          gemm(true, false, K, P, Og, 1.0f, w + gi * Og * K, K, dyg, P, 0.0f, dxg, P);
        } else {
          gemm(true, false, K, P, Og, 1.0f, w + gi * Og * K, K, dyg, P, 0.0f, dcol.data(), P);
          std::memset(dxg, 0, static_cast<size_t>(Cg * g.H * g.W) * sizeof(float));
          col2im_add(dcol.data(), g, dxg);
        }
      }
    }
  }
}

// dw = Σ_n dy[n]·col[n]ᵀ, accumulated per thread then reduced in thread order. col is unfolded a slice of
// output rows at a time (at most kWgradSliceFloats floats = 256 KB, at least one row), so it stays in L2 between
// im2col and the GEMM that reads it instead of streaming K·P floats per image through memory.
// The slices are balanced (OH = 16 in two slices of 8, not 14 + 2): every slice is one GEMM call that loads and
// stores the whole dW accumulator, so a thin slice costs nearly as much as a full one. 256 KB covers a whole
// image of ResNet-20's stage 3 (K = 576, P = 64: one call per image instead of two).
constexpr int64_t kWgradSliceFloats = 64 * 1024;

void conv_backward_weight_gemm(const ConvGeom& g, const float* dy, const float* x, float* dw) {
  const int64_t K = g.K(), P = g.P(), Og = g.Og(), Cg = g.Cg();
  const int64_t wsize = g.O * K;
  const int nt = batch_threads(g.N);
  const bool pw = g.pointwise();
  const int64_t max_rows = std::max<int64_t>(1, std::min(g.OH, kWgradSliceFloats / (K * g.OW)));
  const int64_t nslices = (g.OH + max_rows - 1) / max_rows;
  const int64_t slice_rows = (g.OH + nslices - 1) / nslices;
  // The packer's run tables per slice (every image has the same slices), built once here.
  std::vector<std::vector<unsigned char>> slice_pieces;
  if (!pw)
    for (int64_t oh0 = 0; oh0 < g.OH; oh0 += slice_rows)
      slice_pieces.push_back(im2col_kernels().slice_pieces(g, oh0, std::min(g.OH, oh0 + slice_rows)));
  ScratchFloats partial(std::max(0, nt - 1) * wsize);
  std::fill(dw, dw + wsize, 0.0f);
  LOWBIT_OMP(parallel num_threads(nt))
  {
    const int t = thread_id();
    float* acc = t == 0 ? dw : partial.data() + (t - 1) * wsize;
    std::fill(acc, acc + wsize, 0.0f);
    ScratchFloats col(pw ? 0 : K * slice_rows * g.OW);
    const Im2colFn im2col = im2col_kernels().rows;
    auto gemm = nt > 1 ? sgemm_serial : sgemm;
    LOWBIT_OMP(for schedule(static))
    for (int64_t n = 0; n < g.N; ++n) {
      for (int64_t gi = 0; gi < g.G; ++gi) {
        const float* xg = x + (n * g.C + gi * Cg) * g.H * g.W;
        const float* dyg = dy + (n * g.O + gi * Og) * P;
        float* accg = acc + gi * Og * K;
        if (pw) {
          gemm(false, true, Og, K, P, 1.0f, dyg, P, xg, P, 1.0f, accg, K);
          continue;
        }
        for (int64_t oh0 = 0; oh0 < g.OH; oh0 += slice_rows) {
          const int64_t oh1 = std::min(g.OH, oh0 + slice_rows), Pc = (oh1 - oh0) * g.OW;
          const std::vector<unsigned char>& sp = slice_pieces[static_cast<size_t>(oh0 / slice_rows)];
          im2col(xg, g, oh0, oh1, col.data(), sp.empty() ? nullptr : sp.data());
          gemm(false, true, Og, K, Pc, 1.0f, dyg + oh0 * g.OW, P, col.data(), Pc, 1.0f, accg, K);
        }
      }
    }
  }
  for (int t = 1; t < nt; ++t) {
    const float* p = partial.data() + (t - 1) * wsize;
    for (int64_t i = 0; i < wsize; ++i) dw[i] += p[i];
  }
}

// ---- depthwise (groups == C == O): direct loops ----

void dw_forward(const ConvGeom& g, const float* x, const float* w, const float* b, float* y) {
  const int64_t HW = g.H * g.W, P = g.P();
  parallel_for_work(g.N * g.C, g.N * g.C * P * g.KH * g.KW, [&](int64_t nc) {
    const int64_t c = nc % g.C;
    const float* xc = x + nc * HW;
    const float* wc = w + c * g.KH * g.KW;
    float* yc = y + nc * P;
    const float bias = b ? b[c] : 0.0f;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        float s = bias;
        for (int64_t kh = 0; kh < g.KH; ++kh) {
          const int64_t ih = oh * g.SH - g.PH + kh;
          if (ih < 0 || ih >= g.H) continue;
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            const int64_t iw = ow * g.SW - g.PW + kw;
            if (iw < 0 || iw >= g.W) continue;
            s += wc[kh * g.KW + kw] * xc[ih * g.W + iw];
          }
        }
        yc[oh * g.OW + ow] = s;
      }
  });
}

void dw_backward_input(const ConvGeom& g, const float* dy, const float* w, float* dx) {
  const int64_t HW = g.H * g.W, P = g.P();
  parallel_for_work(g.N * g.C, g.N * g.C * P * g.KH * g.KW, [&](int64_t nc) {
    const int64_t c = nc % g.C;
    float* dxc = dx + nc * HW;
    const float* wc = w + c * g.KH * g.KW;
    const float* dyc = dy + nc * P;
    std::fill(dxc, dxc + HW, 0.0f);
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const float d = dyc[oh * g.OW + ow];
        for (int64_t kh = 0; kh < g.KH; ++kh) {
          const int64_t ih = oh * g.SH - g.PH + kh;
          if (ih < 0 || ih >= g.H) continue;
          for (int64_t kw = 0; kw < g.KW; ++kw) {
            const int64_t iw = ow * g.SW - g.PW + kw;
            if (iw < 0 || iw >= g.W) continue;
            dxc[ih * g.W + iw] += wc[kh * g.KW + kw] * d;
          }
        }
      }
  });
}

void dw_backward_weight(const ConvGeom& g, const float* dy, const float* x, float* dw) {
  const int64_t HW = g.H * g.W, P = g.P(), KK = g.KH * g.KW;
  parallel_for_work(g.C, g.N * g.C * P * KK, [&](int64_t c) {
    double acc[64] = {};  // KH·KW ≤ 64 is checked by the caller
    for (int64_t n = 0; n < g.N; ++n) {
      const float* xc = x + (n * g.C + c) * HW;
      const float* dyc = dy + (n * g.C + c) * P;
      for (int64_t kh = 0; kh < g.KH; ++kh)
        for (int64_t kw = 0; kw < g.KW; ++kw) {
          float s = 0.0f;
          for (int64_t oh = 0; oh < g.OH; ++oh) {
            const int64_t ih = oh * g.SH - g.PH + kh;
            if (ih < 0 || ih >= g.H) continue;
            for (int64_t ow = 0; ow < g.OW; ++ow) {
              const int64_t iw = ow * g.SW - g.PW + kw;
              if (iw < 0 || iw >= g.W) continue;
              s += dyc[oh * g.OW + ow] * xc[ih * g.W + iw];
            }
          }
          acc[kh * g.KW + kw] += s;
        }
    }
    for (int64_t k = 0; k < KK; ++k) dw[c * KK + k] = static_cast<float>(acc[k]);
  });
}

void bias_backward(const ConvGeom& g, const float* dy, float* db) {
  const int64_t P = g.P();
  parallel_for_work(g.O, g.N * g.O * P, [&](int64_t o) {
    double s = 0.0;
    for (int64_t n = 0; n < g.N; ++n) {
      const float* p = dy + (n * g.O + o) * P;
      s += block_sum(0, P, [p](int64_t i) { return p[i]; });
    }
    db[o] = static_cast<float>(s);
  });
}

// The geometry of conv2d(x [N, C, H, W], w [O, C/groups, KH, KW]), every precondition checked with a message that
// names the shapes.
ConvGeom conv_geom(const Shape& xs, const Shape& ws, const Conv2dParams& p) {
  LOWBIT_CHECK(xs.rank() == 4 && ws.rank() == 4, "conv2d: input {} and weight {} must both have rank 4", xs.str(),
               ws.str());
  LOWBIT_CHECK(p.stride_h >= 1 && p.stride_w >= 1, "conv2d: strides must be >= 1, got {}x{}", p.stride_h,
               p.stride_w);
  LOWBIT_CHECK(p.pad_h >= 0 && p.pad_w >= 0, "conv2d: padding must be >= 0, got {}x{}", p.pad_h, p.pad_w);
  LOWBIT_CHECK(p.groups >= 1, "conv2d: groups must be >= 1, got {}", p.groups);
  ConvGeom g{};
  g.N = xs[0], g.C = xs[1], g.H = xs[2], g.W = xs[3];
  g.O = ws[0], g.KH = ws[2], g.KW = ws[3];
  g.SH = p.stride_h, g.SW = p.stride_w, g.PH = p.pad_h, g.PW = p.pad_w, g.G = p.groups;
  LOWBIT_CHECK(g.N >= 0 && g.C >= 1 && g.O >= 1, "conv2d: empty input {} or weight {}", xs.str(), ws.str());
  LOWBIT_CHECK(g.C % g.G == 0 && g.O % g.G == 0,
               "conv2d: groups {} must divide input channels {} (input {}) and output channels {} (weight {})", g.G,
               g.C, xs.str(), g.O, ws.str());
  LOWBIT_CHECK(ws[1] == g.C / g.G, "conv2d: weight {} expects {} input channels per group, input {} has {} / {} groups",
               ws.str(), ws[1], xs.str(), g.C, g.G);
  LOWBIT_CHECK(g.KH >= 1 && g.KW >= 1, "conv2d: empty kernel in weight {}", ws.str());
  LOWBIT_CHECK(kernels::conv_geom_finish(g) == kernels::Status::ok,
               "conv2d: kernel {}x{} (weight {}) does not fit input {} with padding {}x{} (or its sizes overflow)",
               g.KH, g.KW, ws.str(), xs.str(), p.pad_h, p.pad_w);
  return g;
}

bool is_depthwise(const ConvGeom& g) { return g.G == g.C && g.G == g.O && g.G > 1 && g.KH * g.KW <= 64; }

void backward_into(const ConvGeom& g, const float* x, const float* w, const float* dy, float* dx, float* dw,
                   float* db) {
  const bool depthwise = is_depthwise(g);
  if (dx) {
    if (depthwise) dw_backward_input(g, dy, w, dx);
    else if (backward_input_as_conv(g)) conv_backward_input_as_conv(g, dy, w, dx);
    else conv_backward_input_gemm(g, dy, w, dx);
  }
  if (dw) {
    if (depthwise) dw_backward_weight(g, dy, x, dw);
    else conv_backward_weight_gemm(g, dy, x, dw);
  }
  if (db) bias_backward(g, dy, db);
}

}  // namespace

void conv2d_backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Conv2dParams& p, Tensor* dx,
                     Tensor* dw, Tensor* db) {
  const ConvGeom g = conv_geom(x.shape(), w.shape(), p);
  LOWBIT_CHECK(dy.shape() == Shape({g.N, g.O, g.OH, g.OW}), "conv2d_backward: gradient {} does not fit the output "
               "[{}, {}, {}, {}] of input {} and weight {}", dy.shape().str(), g.N, g.O, g.OH, g.OW, x.shape().str(),
               w.shape().str());
  if (dx) *dx = Tensor::empty(x.shape());
  if (dw) *dw = Tensor::empty(w.shape());
  if (db) *db = Tensor::empty(Shape{g.O});
  backward_into(g, x.data(), w.data(), dy.data(), dx ? dx->data() : nullptr, dw ? dw->data() : nullptr,
                db ? db->data() : nullptr);
}

Var conv2d(const Var& x, const Var& w, const Var& b, const Conv2dParams& p) {
  check_rank(x, 4, "conv2d", "input");
  check_rank(w, 4, "conv2d", "weight");
  const Shape xs = x.shape(), ws = w.shape();
  const ConvGeom g = conv_geom(xs, ws, p);
  const bool has_bias = b.defined();
  if (has_bias)
    LOWBIT_CHECK(b.shape() == Shape{g.O}, "conv2d: bias {} must be [{}] for weight {}", b.shape().str(), g.O,
                 ws.str());

  Tensor X = x.value(), W = w.value();
  Tensor Y = Tensor::empty(Shape{g.N, g.O, g.OH, g.OW});
  const float* bp = has_bias ? b.value().data() : nullptr;
  if (is_depthwise(g)) dw_forward(g, X.data(), W.data(), bp, Y.data());
  else conv_forward_gemm(g, X.data(), W.data(), bp, Y.data());

  std::vector<Var> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  return Var::make(Y, std::move(inputs), [g, X, W](const Tensor& dy, std::vector<Var>& in) {
    Tensor dx, dw, db;
    if (in[0].requires_grad()) dx = Tensor::empty(X.shape());
    if (in[1].requires_grad()) dw = Tensor::empty(W.shape());
    if (wants_grad(in, 2)) db = Tensor::empty(Shape{g.O});
    backward_into(g, X.data(), W.data(), dy.data(), dx.defined() ? dx.data() : nullptr,
                  dw.defined() ? dw.data() : nullptr, db.defined() ? db.data() : nullptr);
    if (dx.defined()) in[0].add_grad(dx);
    if (dw.defined()) in[1].add_grad(dw);
    if (db.defined()) in[2].add_grad(db);
  });
}

}  // namespace lowbit
