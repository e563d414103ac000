// Pooling over NCHW planes, parallel over (n, c). Max pooling treats padding as −∞ (it never wins) and saves
// the argmax offset within each plane for the backward scatter; the first maximum wins ties. Average pooling
// counts padding as zeros (divides by kernel²), like PyTorch's count_include_pad=True.
#include <limits>
#include <memory>

#include "engine/ops.h"
#include "engine/ops/common.h"

namespace lowbit {
using namespace ops_detail;

namespace {
struct PoolGeom {
  int64_t N, C, H, W, OH, OW;
  int k, s, p;
};

PoolGeom pool_geom(const Var& x, int kernel, int stride, int pad, const char* op) {
  check_rank(x, 4, op, "input");
  LOWBIT_CHECK(kernel >= 1 && stride >= 1 && pad >= 0, "{}: bad kernel {}, stride {}, pad {}", op, kernel, stride,
               pad);
  LOWBIT_CHECK(2 * pad <= kernel, "{}: padding {} exceeds half the kernel {}", op, pad, kernel);
  const Shape s = x.shape();
  PoolGeom g{s[0], s[1], s[2], s[3], 0, 0, kernel, stride, pad};
  g.OH = conv_out_size(g.H, kernel, stride, pad);
  g.OW = conv_out_size(g.W, kernel, stride, pad);
  LOWBIT_CHECK(g.OH >= 1 && g.OW >= 1, "{}: kernel {} does not fit input {} with padding {}", op, kernel, s.str(),
               pad);
  return g;
}
}  // namespace

Var max_pool2d(const Var& x, int kernel, int stride, int pad) {
  const PoolGeom g = pool_geom(x, kernel, stride, pad, "max_pool2d");
  const int64_t HW = g.H * g.W, P = g.OH * g.OW;
  Tensor Y = Tensor::empty(Shape{g.N, g.C, g.OH, g.OW});
  auto arg = std::make_shared<std::vector<int32_t>>(static_cast<size_t>(g.N * g.C * P));
  const float* xp = x.value().data();
  float* yp = Y.data();
  int32_t* ap = arg->data();
  parallel_for_work(g.N * g.C, g.N * g.C * P * kernel * kernel, [&](int64_t nc) {
    const float* xc = xp + nc * HW;
    if (g.p == 0 && g.k == 2 && g.s == 2) {
      // The common 2×2/2 case: every window is inside the image, no bounds checks; same tie rule (first max in
      // row-major window order wins).
      for (int64_t oh = 0; oh < g.OH; ++oh) {
        const float* r0 = xc + 2 * oh * g.W;
        const float* r1 = r0 + g.W;
        float* yo = yp + nc * P + oh * g.OW;
        int32_t* ao = ap + nc * P + oh * g.OW;
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const int64_t c0 = 2 * ow;
          float best = r0[c0];
          int32_t bi = static_cast<int32_t>(2 * oh * g.W + c0);
          if (r0[c0 + 1] > best) best = r0[c0 + 1], bi = static_cast<int32_t>(2 * oh * g.W + c0 + 1);
          if (r1[c0] > best) best = r1[c0], bi = static_cast<int32_t>((2 * oh + 1) * g.W + c0);
          if (r1[c0 + 1] > best) best = r1[c0 + 1], bi = static_cast<int32_t>((2 * oh + 1) * g.W + c0 + 1);
          yo[ow] = best;
          ao[ow] = bi;
        }
      }
      return;
    }
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        float best = -std::numeric_limits<float>::infinity();
        int32_t bi = -1;
        for (int kh = 0; kh < g.k; ++kh) {
          const int64_t ih = oh * g.s - g.p + kh;
          if (ih < 0 || ih >= g.H) continue;
          for (int kw = 0; kw < g.k; ++kw) {
            const int64_t iw = ow * g.s - g.p + kw;
            if (iw < 0 || iw >= g.W) continue;
            const float v = xc[ih * g.W + iw];
            if (bi < 0 || v > best) {
              best = v;
              bi = static_cast<int32_t>(ih * g.W + iw);
            }
          }
        }
        yp[nc * P + oh * g.OW + ow] = best;
        ap[nc * P + oh * g.OW + ow] = bi;
      }
  });
  const Shape xs = x.shape();
  return Var::make(Y, {x}, [g, xs, arg](const Tensor& dy, std::vector<Var>& in) {
    const int64_t HW = g.H * g.W, P = g.OH * g.OW;
    Tensor dx = Tensor::zeros(xs);
    const float* gp = dy.data();
    const int32_t* ap = arg->data();
    float* dxp = dx.data();
    parallel_for_work(g.N * g.C, g.N * g.C * P, [&](int64_t nc) {
      float* d = dxp + nc * HW;
      for (int64_t i = 0; i < P; ++i) d[ap[nc * P + i]] += gp[nc * P + i];
    });
    in[0].add_grad(dx);
  });
}

Var avg_pool2d(const Var& x, int kernel, int stride, int pad) {
  const PoolGeom g = pool_geom(x, kernel, stride, pad, "avg_pool2d");
  const int64_t HW = g.H * g.W, P = g.OH * g.OW;
  const float inv = 1.0f / static_cast<float>(kernel * kernel);
  Tensor Y = Tensor::empty(Shape{g.N, g.C, g.OH, g.OW});
  const float* xp = x.value().data();
  float* yp = Y.data();
  parallel_for_work(g.N * g.C, g.N * g.C * P * kernel * kernel, [&](int64_t nc) {
    const float* xc = xp + nc * HW;
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        float s = 0.0f;
        for (int kh = 0; kh < g.k; ++kh) {
          const int64_t ih = oh * g.s - g.p + kh;
          if (ih < 0 || ih >= g.H) continue;
          for (int kw = 0; kw < g.k; ++kw) {
            const int64_t iw = ow * g.s - g.p + kw;
            if (iw >= 0 && iw < g.W) s += xc[ih * g.W + iw];
          }
        }
        yp[nc * P + oh * g.OW + ow] = s * inv;
      }
  });
  const Shape xs = x.shape();
  return Var::make(Y, {x}, [g, xs, inv](const Tensor& dy, std::vector<Var>& in) {
    const int64_t HW = g.H * g.W, P = g.OH * g.OW;
    Tensor dx = Tensor::zeros(xs);
    const float* gp = dy.data();
    float* dxp = dx.data();
    parallel_for_work(g.N * g.C, g.N * g.C * P * g.k * g.k, [&](int64_t nc) {
      float* d = dxp + nc * HW;
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          const float v = gp[nc * P + oh * g.OW + ow] * inv;
          for (int kh = 0; kh < g.k; ++kh) {
            const int64_t ih = oh * g.s - g.p + kh;
            if (ih < 0 || ih >= g.H) continue;
            for (int kw = 0; kw < g.k; ++kw) {
              const int64_t iw = ow * g.s - g.p + kw;
              if (iw >= 0 && iw < g.W) d[ih * g.W + iw] += v;
            }
          }
        }
    });
    in[0].add_grad(dx);
  });
}

Var global_avg_pool(const Var& x) {
  check_rank(x, 4, "global_avg_pool", "input");
  const Shape xs = x.shape();
  const int64_t NC = xs[0] * xs[1], HW = xs[2] * xs[3];
  LOWBIT_CHECK(HW > 0, "global_avg_pool: empty spatial extent in {}", xs.str());
  const float inv = 1.0f / static_cast<float>(HW);
  Tensor Y = Tensor::empty(Shape{xs[0], xs[1]});
  const float* xp = x.value().data();
  float* yp = Y.data();
  parallel_for_work(NC, NC * HW, [&](int64_t i) {
    const float* p = xp + i * HW;
    yp[i] = static_cast<float>(block_sum(0, HW, [p](int64_t j) { return p[j]; })) * inv;
  });
  return Var::make(Y, {x}, [xs, NC, HW, inv](const Tensor& dy, std::vector<Var>& in) {
    Tensor dx = Tensor::empty(xs);
    const float* gp = dy.data();
    float* dxp = dx.data();
    parallel_for_work(NC, NC * HW, [&](int64_t i) {
      const float v = gp[i] * inv;
      for (int64_t j = 0; j < HW; ++j) dxp[i * HW + j] = v;
    });
    in[0].add_grad(dx);
  });
}

}  // namespace lowbit
