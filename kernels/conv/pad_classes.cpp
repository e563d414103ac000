// Padding classes and corrections (derivation in pad_classes.h).
#include "kernels/conv/pad_classes.h"

namespace lowbit::kernels {

PadRange pad_valid_range(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t o) {
  const int64_t start = o * stride - pad;  // input index of tap 0
  int64_t lo = -start, hi = in - start;
  lo = lo < 0 ? 0 : (lo > k ? k : lo);
  hi = hi < lo ? lo : (hi > k ? k : hi);
  return {static_cast<int32_t>(lo), static_cast<int32_t>(hi)};
}

size_t pad_axis_classes(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t out, int32_t* cls_of,
                        PadRange* ranges) {
  size_t count = 1;  // class 0 = full range
  const PadRange full{0, static_cast<int32_t>(k)};
  if (ranges) ranges[0] = full;
  PadRange last{-1, -1};
  for (int64_t o = 0; o < out; ++o) {
    const PadRange r = pad_valid_range(in, k, stride, pad, o);
    int32_t c;
    if (r.lo == full.lo && r.hi == full.hi) {
      c = 0;
    } else {
      if (r.lo != last.lo || r.hi != last.hi) {
        if (ranges) ranges[count] = r;
        ++count;
        last = r;
      }
      c = static_cast<int32_t>(count - 1);
    }
    if (cls_of) cls_of[o] = c;
  }
  return count;
}

PadClasses pad_class_counts(const ConvGeom& g) {
  PadClasses pc;
  pc.rows = pad_axis_classes(g.H, g.KH, g.SH, g.PH, g.OH, nullptr, nullptr);
  pc.cols = pad_axis_classes(g.W, g.KW, g.SW, g.PW, g.OW, nullptr, nullptr);
  return pc;
}

void pad_classes_build(const ConvGeom& g, PadClasses& pc) {
  pad_axis_classes(g.H, g.KH, g.SH, g.PH, g.OH, pc.row_cls, pc.row_ranges);
  pad_axis_classes(g.W, g.KW, g.SW, g.PW, g.OW, pc.col_cls, pc.col_ranges);
}

void pad_pixel_classes(const ConvGeom& g, const PadClasses& pc, int32_t* pixel_class) {
  const int32_t cols = static_cast<int32_t>(pc.cols);
  for (int64_t oh = 0, p = 0; oh < g.OH; ++oh)
    for (int64_t ow = 0; ow < g.OW; ++ow, ++p) pixel_class[p] = pc.row_cls[oh] * cols + pc.col_cls[ow];
}

void pad_tap_sums_i8(const int8_t* codes, size_t M, size_t taps, size_t cg, size_t ld, int32_t* tap_sum) {
  for (size_t m = 0; m < M; ++m)
    for (size_t t = 0; t < taps; ++t) {
      const int8_t* w = codes + m * ld + t * cg;
      int32_t s = 0;
      for (size_t c = 0; c < cg; ++c) s += w[c];
      tap_sum[t * M + m] = s;
    }
}

void pad_class_corrections(const ConvGeom& g, const PadClasses& pc, const int32_t* tap_sum, size_t M, int32_t* corr) {
  for (size_t m = 0; m < M; ++m) corr[m] = 0;  // class 0: the interior
  for (size_t ry = 0; ry < pc.rows; ++ry)
    for (size_t cx = 0; cx < pc.cols; ++cx) {
      if (ry == 0 && cx == 0) continue;
      const PadRange r = pc.row_ranges[ry], c = pc.col_ranges[cx];
      int32_t* out = corr + (ry * pc.cols + cx) * M;
      for (size_t m = 0; m < M; ++m) out[m] = 0;
      for (int64_t i = 0; i < g.KH; ++i)
        for (int64_t j = 0; j < g.KW; ++j) {
          if (i >= r.lo && i < r.hi && j >= c.lo && j < c.hi) continue;  // a valid tap
          const int32_t* ts = tap_sum + static_cast<size_t>(i * g.KW + j) * M;
          for (size_t m = 0; m < M; ++m) out[m] += ts[m];  // contiguous over m: vectorises
        }
    }
}

}  // namespace lowbit::kernels
