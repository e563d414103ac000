// The shared conv geometry (kernels/conv/conv_geom.h) and padding classes (kernels/conv/pad_classes.h): output
// sizes and the checks of conv_geom_finish, and the per-class corrections against a direct sum over each pixel's
// padded taps.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "kernels/conv/conv_geom.h"
#include "kernels/conv/pad_classes.h"
#include "tests/kernels/kernel_test_util.h"

using namespace lowbit::kernels;
using namespace lowbit::kernels::testing;

namespace {
ConvGeom geom(int64_t C, int64_t H, int64_t W, int64_t O, int64_t KH, int64_t KW, int64_t SH, int64_t SW,
              int64_t PH, int64_t PW, int64_t G = 1) {
  ConvGeom g;
  g.N = 2, g.C = C, g.H = H, g.W = W, g.O = O, g.KH = KH, g.KW = KW, g.SH = SH, g.SW = SW, g.PH = PH, g.PW = PW;
  g.G = G;
  return g;
}
}  // namespace

TEST_CASE("conv_geom_finish: output size, and bad or overflowing geometries are refused") {
  ConvGeom g = geom(16, 32, 30, 8, 3, 3, 1, 2, 1, 1);
  REQUIRE(conv_geom_finish(g) == Status::ok);
  CHECK(g.OH == 32);
  CHECK(g.OW == 15);
  CHECK(g.K() == 16 * 9);
  CHECK(g.P() == 32 * 15);
  CHECK(conv_out_extent(2, 3, 2, 0) == 0);  // kernel longer than the padded input
  CHECK(conv_out_extent(1, 3, 1, 1) == 1);
  ConvGeom bad = geom(16, 32, 30, 8, 3, 3, 0, 1, 1, 1);
  CHECK(conv_geom_finish(bad) == Status::bad_size);  // stride 0
  bad = geom(15, 32, 30, 8, 3, 3, 1, 1, 1, 1, 2);
  CHECK(conv_geom_finish(bad) == Status::bad_size);  // groups do not divide C
  bad = geom(16, 2, 30, 8, 5, 3, 1, 1, 1, 1);
  CHECK(conv_geom_finish(bad) == Status::bad_size);  // 2 + 2·1 < 5
  bad = geom(16, 32, 30, 8, 3, 3, 1, 1, -1, 1);
  CHECK(conv_geom_finish(bad) == Status::bad_size);  // negative padding
  bad = geom(int64_t{1} << 30, int64_t{1} << 30, 1 << 20, 8, 1, 1, 1, 1, 0, 0);
  CHECK(conv_geom_finish(bad) == Status::bad_size);  // N·C·H·W overflows int64
  CHECK(bad.OH == 0);                                // untouched on failure
}

TEST_CASE("padding classes: corrections equal the sum over each pixel's padded taps") {
  Rng rng(21);
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t KH = static_cast<int64_t>(uniform(rng, 1, 5)), KW = static_cast<int64_t>(uniform(rng, 1, 5));
    ConvGeom g = geom(static_cast<int64_t>(uniform(rng, 1, 5)), static_cast<int64_t>(uniform(rng, 1, 12)),
                      static_cast<int64_t>(uniform(rng, 1, 12)), 3, KH, KW, static_cast<int64_t>(uniform(rng, 1, 3)),
                      static_cast<int64_t>(uniform(rng, 1, 3)), static_cast<int64_t>(uniform(rng, 0, 4)),
                      static_cast<int64_t>(uniform(rng, 0, 4)));
    if (conv_geom_finish(g) != Status::ok) continue;
    CAPTURE(g.H); CAPTURE(g.W); CAPTURE(g.KH); CAPTURE(g.KW); CAPTURE(g.SH); CAPTURE(g.SW); CAPTURE(g.PH);
    CAPTURE(g.PW);
    const size_t M = static_cast<size_t>(g.O), taps = static_cast<size_t>(g.taps()), cg = static_cast<size_t>(g.C);
    std::vector<int8_t> codes(M * taps * cg);
    for (int8_t& c : codes) c = static_cast<int8_t>(static_cast<int>(uniform(rng, 0, 2)) - 1);  // ternary
    PadClasses pc = pad_class_counts(g);
    std::vector<int32_t> row_cls(static_cast<size_t>(g.OH)), col_cls(static_cast<size_t>(g.OW));
    std::vector<PadRange> rr(pc.rows), cr(pc.cols);
    pc.row_cls = row_cls.data(), pc.col_cls = col_cls.data(), pc.row_ranges = rr.data(), pc.col_ranges = cr.data();
    pad_classes_build(g, pc);
    std::vector<int32_t> pixel_class(static_cast<size_t>(g.P())), tap_sum(taps * M), corr(pc.classes() * M, 99);
    pad_pixel_classes(g, pc, pixel_class.data());
    pad_tap_sums_i8(codes.data(), M, taps, cg, taps * cg, tap_sum.data());
    pad_class_corrections(g, pc, tap_sum.data(), M, corr.data());
    for (int64_t oh = 0; oh < g.OH; ++oh)
      for (int64_t ow = 0; ow < g.OW; ++ow) {
        const int32_t cls = pixel_class[static_cast<size_t>(oh * g.OW + ow)];
        REQUIRE(cls >= 0);
        REQUIRE(static_cast<size_t>(cls) < pc.classes());
        bool any = false;
        for (size_t m = 0; m < M; ++m) {
          int32_t want = 0;
          for (int64_t i = 0; i < g.KH; ++i)
            for (int64_t j = 0; j < g.KW; ++j) {
              const int64_t h = oh * g.SH - g.PH + i, w = ow * g.SW - g.PW + j;
              if (h >= 0 && h < g.H && w >= 0 && w < g.W) continue;
              any = true;
              for (size_t c = 0; c < cg; ++c) want += codes[(m * taps + static_cast<size_t>(i * g.KW + j)) * cg + c];
            }
          REQUIRE(corr[static_cast<size_t>(cls) * M + m] == want);
        }
        CHECK((cls == 0) == !any);  // class 0 is exactly the interior
      }
  }
}
