// The ISA im2col packers (materialised rows and GEMM panels) against the portable ones, bit for bit, over
// geometries that exercise the padding prefix/suffix masks, runs shorter and longer than 16 lanes, panels that
// span several output rows and ragged panel tails, and strides 2 (vector path when OW >= 8) and others (which the
// AVX-512 packers hand to the portable ones).
#include <doctest/doctest.h>

#include <utility>
#include <vector>

#include "engine/ops/conv_geom.h"
#include "engine/rng.h"
#include "kernels/isa.h"

using namespace lowbit;
using namespace lowbit::ops_detail;

namespace {
ConvGeom geom(int64_t C, int64_t H, int64_t W, int64_t K, int64_t stride, int64_t pad) {
  ConvGeom g{};
  g.N = 1, g.C = C, g.H = H, g.W = W, g.O = 4, g.KH = K, g.KW = K;
  g.sh = g.sw = stride, g.ph = g.pw = pad, g.G = 1;
  g.OH = (H + 2 * pad - K) / stride + 1;
  g.OW = (W + 2 * pad - K) / stride + 1;
  return g;
}
}  // namespace

TEST_CASE("im2col: AVX-512 packers equal the portable ones") {
  if (!kernels::isa_supported(kernels::Isa::avx512)) return;  // nothing to compare on this CPU
#if defined(__x86_64__) || defined(_M_X64)
  Rng rng(5);
  for (const ConvGeom& g : {geom(3, 32, 32, 3, 1, 1), geom(2, 16, 16, 3, 1, 1), geom(2, 8, 8, 3, 1, 1),
                            geom(3, 7, 5, 3, 1, 1), geom(2, 9, 21, 5, 1, 2), geom(2, 6, 40, 3, 1, 0),
                            geom(2, 11, 13, 3, 2, 1), geom(1, 4, 3, 1, 1, 0), geom(2, 5, 37, 7, 1, 3),
                            // stride 2 with OW >= 8 (the vector path): ResNet stage transitions, ragged widths,
                            // 5x5 with padding 2, and no padding
                            geom(3, 32, 32, 3, 2, 1), geom(2, 16, 16, 3, 2, 1), geom(2, 17, 19, 3, 2, 1),
                            geom(2, 20, 21, 5, 2, 2), geom(2, 9, 18, 3, 2, 0), geom(2, 18, 17, 1, 2, 0)}) {
    CAPTURE(g.H); CAPTURE(g.W); CAPTURE(g.KH); CAPTURE(g.sh); CAPTURE(g.ph);
    std::vector<float> x(static_cast<size_t>(g.C * g.H * g.W));
    for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
    const int64_t K = g.K(), P = g.P();
    std::vector<float> a(static_cast<size_t>(K * P), 7.0f), b(static_cast<size_t>(K * P), -7.0f);
    for (auto [oh0, oh1] : {std::pair<int64_t, int64_t>{0, g.OH}, {g.OH / 2, g.OH}, {1, std::min<int64_t>(2, g.OH)}}) {
      if (oh0 >= oh1) continue;
      im2col_ref(x.data(), g, oh0, oh1, a.data());
      im2col_avx512(x.data(), g, oh0, oh1, b.data());
      CHECK(a == b);
      // With the slice's run tables precomputed (what conv2d's weight gradient passes).
      const std::vector<unsigned char> sp = im2col_slice_pieces_avx512(g, oh0, oh1);
      std::vector<float> c(a.size(), -9.0f);
      std::copy(b.begin() + (oh1 - oh0) * g.OW * K, b.end(), c.begin() + (oh1 - oh0) * g.OW * K);  // beyond the slice
      im2col_avx512(x.data(), g, oh0, oh1, c.data(), sp.empty() ? nullptr : sp.data());
      CHECK(a == c);
    }

    const Im2colTables tab(g);
    const Im2colPanelCtx ctx{x.data(), &g, tab.off.data(), tab.kh.data(), tab.kw.data()};
    for (int64_t n0 : {int64_t(0), int64_t(32), P / 2 / 32 * 32}) {
      if (n0 >= P) continue;
      const int64_t nc = std::min<int64_t>(P - n0, kSgemmMaxNc), k0 = K > 2 ? 1 : 0, kc = K - k0;
      const size_t len = static_cast<size_t>((nc + 31) / 32 * 32 * kc);
      std::vector<float> pa(len, 3.0f), pb(len, -3.0f);
      im2col_panels_ref(&ctx, k0, kc, n0, nc, pa.data());
      im2col_panels_avx512(&ctx, k0, kc, n0, nc, pb.data());
      CHECK(pa == pb);
      // With the run tables precomputed once for the whole layer (what conv2d passes), and for a block that
      // ends short of the positions (the packer must then compute its own tables: the precomputed last panel
      // would fill lanes beyond the block).
      const std::vector<unsigned char> pieces = im2col_panel_pieces_avx512(g);
      Im2colPanelCtx pre = ctx;
      pre.pieces = pieces.empty() ? nullptr : pieces.data();
      std::vector<float> pc(len, -5.0f);
      im2col_panels_avx512(&pre, k0, kc, n0, nc, pc.data());
      CHECK(pa == pc);
      if (nc > 40) {
        const int64_t short_nc = nc - 9, short_len = (short_nc + 31) / 32 * 32 * kc;
        std::vector<float> sa(static_cast<size_t>(short_len), 1.0f), sb(static_cast<size_t>(short_len), -1.0f);
        im2col_panels_ref(&ctx, k0, kc, n0, short_nc, sa.data());
        im2col_panels_avx512(&pre, k0, kc, n0, short_nc, sb.data());
        CHECK(sa == sb);
      }
    }
  }
#endif
}
