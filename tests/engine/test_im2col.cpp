// Every ISA table's im2col packers (materialised rows and GEMM panels) against the portable ones, bit for bit, over
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
  g.SH = g.SW = stride, g.PH = g.PW = pad, g.G = 1;
  REQUIRE(kernels::conv_geom_finish(g) == kernels::Status::ok);
  return g;
}
}  // namespace

TEST_CASE("im2col: every ISA's packers equal the portable ones") {
  const Im2colKernels& ref = *im2col_kernels_for(kernels::Isa::ref);
  for (int i = 1; i < kernels::kIsaCount; ++i) {
    const Im2colKernels* isa = im2col_kernels_for(static_cast<kernels::Isa>(i));
    if (!isa) continue;  // this build or CPU cannot run it
    CAPTURE(kernels::isa_name(static_cast<kernels::Isa>(i)));
    Rng rng(5);
    for (const ConvGeom& g : {geom(3, 32, 32, 3, 1, 1), geom(2, 16, 16, 3, 1, 1), geom(2, 8, 8, 3, 1, 1),
                              geom(3, 7, 5, 3, 1, 1), geom(2, 9, 21, 5, 1, 2), geom(2, 6, 40, 3, 1, 0),
                              geom(2, 11, 13, 3, 2, 1), geom(1, 4, 3, 1, 1, 0), geom(2, 5, 37, 7, 1, 3),
                              // stride 2 with OW >= 8 (the vector path): ResNet stage transitions, ragged widths,
                              // 5x5 with padding 2, and no padding
                              geom(3, 32, 32, 3, 2, 1), geom(2, 16, 16, 3, 2, 1), geom(2, 17, 19, 3, 2, 1),
                              geom(2, 20, 21, 5, 2, 2), geom(2, 9, 18, 3, 2, 0), geom(2, 18, 17, 1, 2, 0)}) {
      CAPTURE(g.H); CAPTURE(g.W); CAPTURE(g.KH); CAPTURE(g.SH); CAPTURE(g.PH);
      std::vector<float> x(static_cast<size_t>(g.C * g.H * g.W));
      for (float& v : x) v = rng.uniform(-1.0f, 1.0f);
      const int64_t K = g.K(), P = g.P();
      std::vector<float> a(static_cast<size_t>(K * P), 7.0f), b(static_cast<size_t>(K * P), -7.0f);
      for (auto [oh0, oh1] : {std::pair<int64_t, int64_t>{0, g.OH}, {g.OH / 2, g.OH}, {1, std::min<int64_t>(2, g.OH)}}) {
        if (oh0 >= oh1) continue;
        ref.rows(x.data(), g, oh0, oh1, a.data(), nullptr);
        isa->rows(x.data(), g, oh0, oh1, b.data(), nullptr);
        CHECK(a == b);
        // With the slice's run tables precomputed (what conv2d's weight gradient passes).
        const std::vector<unsigned char> sp = isa->slice_pieces(g, oh0, oh1);
        std::vector<float> c(a.size(), -9.0f);
        std::copy(b.begin() + (oh1 - oh0) * g.OW * K, b.end(), c.begin() + (oh1 - oh0) * g.OW * K);  // beyond the slice
        isa->rows(x.data(), g, oh0, oh1, c.data(), sp.empty() ? nullptr : sp.data());
        CHECK(a == c);
      }

      const Im2colTables tab(g);
      const Im2colPanelCtx ctx{x.data(), &g, tab.off.data(), tab.kh.data(), tab.kw.data()};
      for (int64_t n0 : {int64_t(0), int64_t(32), P / 2 / 32 * 32}) {
        if (n0 >= P) continue;
        const int64_t nc = std::min<int64_t>(P - n0, kSgemmMaxNc), k0 = K > 2 ? 1 : 0, kc = K - k0;
        const size_t len = static_cast<size_t>((nc + 31) / 32 * 32 * kc);
        std::vector<float> pa(len, 3.0f), pb(len, -3.0f);
        ref.panels(&ctx, k0, kc, n0, nc, pa.data());
        isa->panels(&ctx, k0, kc, n0, nc, pb.data());
        CHECK(pa == pb);
        // With the run tables precomputed once for the whole layer (what conv2d passes), and for a block that
        // ends short of the positions (the packer must then compute its own tables: the precomputed last panel
        // would fill lanes beyond the block).
        const std::vector<unsigned char> pieces = isa->panel_pieces(g);
        Im2colPanelCtx pre = ctx;
        pre.pieces = pieces.empty() ? nullptr : pieces.data();
        std::vector<float> pc(len, -5.0f);
        isa->panels(&pre, k0, kc, n0, nc, pc.data());
        CHECK(pa == pc);
        if (nc > 40) {
          const int64_t short_nc = nc - 9, short_len = (short_nc + 31) / 32 * 32 * kc;
          std::vector<float> sa(static_cast<size_t>(short_len), 1.0f), sb(static_cast<size_t>(short_len), -1.0f);
          ref.panels(&ctx, k0, kc, n0, short_nc, sa.data());
          isa->panels(&pre, k0, kc, n0, short_nc, sb.data());
          CHECK(sa == sb);
        }
      }
    }
  }
}
