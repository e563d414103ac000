#include "quant/layers/im2col.h"

#include <cstring>

#include "engine/error.h"
#include "kernels/conv/pad_classes.h"

namespace lowbit::quant {

ConvGeom make_conv_geom(int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int kh, int kw, int stride, int pad,
                        int groups) {
  ConvGeom g;
  g.N = N, g.C = C, g.H = H, g.W = W, g.O = O;
  g.KH = kh, g.KW = kw, g.SH = g.SW = stride, g.PH = g.PW = pad;
  g.G = groups;
  LOWBIT_CHECK(kernels::conv_geom_finish(g) == kernels::Status::ok,
               "conv geometry: input {}x{}x{}x{} does not fit kernel {}x{} stride {} pad {} groups {} into {} channels",
               N, C, H, W, kh, kw, stride, pad, groups, O);
  return g;
}

void im2col_rows_nhwc(const uint8_t* nhwc, const ConvGeom& g, uint8_t* rows, int64_t ld, uint8_t pad) {
  const size_t cg = static_cast<size_t>(g.Cg());
  for (int64_t oh = 0; oh < g.OH; ++oh) {
    for (int64_t ow = 0; ow < g.OW; ++ow) {
      uint8_t* r = rows + (oh * g.OW + ow) * ld;
      for (int64_t i = 0; i < g.KH; ++i) {
        const int64_t h = oh * g.SH - g.PH + i;
        for (int64_t j = 0; j < g.KW; ++j, r += cg) {
          const int64_t w = ow * g.SW - g.PW + j;
          if (h >= 0 && h < g.H && w >= 0 && w < g.W)
            std::memcpy(r, nhwc + (h * g.W + w) * static_cast<int64_t>(cg), cg);
          else
            std::memset(r, pad, cg);
        }
      }
    }
  }
}

void padding_corrections(const ConvGeom& g, const int8_t* codes, size_t M, std::vector<int32_t>& pixel_class,
                         std::vector<int32_t>& corr) {
  namespace k = lowbit::kernels;
  k::PadClasses pc = k::pad_class_counts(g);
  std::vector<int32_t> row_cls(static_cast<size_t>(g.OH)), col_cls(static_cast<size_t>(g.OW));
  std::vector<k::PadRange> row_ranges(pc.rows), col_ranges(pc.cols);
  pc.row_cls = row_cls.data(), pc.col_cls = col_cls.data();
  pc.row_ranges = row_ranges.data(), pc.col_ranges = col_ranges.data();
  k::pad_classes_build(g, pc);
  pixel_class.resize(static_cast<size_t>(g.P()));
  k::pad_pixel_classes(g, pc, pixel_class.data());
  const size_t taps = static_cast<size_t>(g.taps()), cg = static_cast<size_t>(g.Cg());
  std::vector<int32_t> tap_sum(taps * M);
  k::pad_tap_sums_i8(codes, M, taps, cg, taps * cg, tap_sum.data());
  corr.resize(pc.classes() * M);
  k::pad_class_corrections(g, pc, tap_sum.data(), M, corr.data());
}

}  // namespace lowbit::quant
