// Padding classes and their corrections: the one implementation behind every binary conv with zero padding
// (bconv2d's im2col + bgemm, the quantized layers' bgemm / tgemm routes and the DoReFa W1A1 affine route).
//
// Why. A binary activation is ±1, stored as a bit (or an int8 byte that packs to one), and a 0 is neither: the zero
// padding of a conv border cannot be stored. It is stored as +1 (bit 0, "one padding") and the dot is corrected.
// For output channel m and an output pixel whose receptive field leaves the image on the set of taps P (kernel
// positions (i, j) that fall in the padding), with integer weight codes w (±1, ternary, …):
//   dot_one  = Σ_{taps ∉ P} ⟨w_m,tap, x_tap⟩ + Σ_{taps ∈ P} ⟨w_m,tap, 1⟩      (what the kernel computes)
//   dot_zero = Σ_{taps ∉ P} ⟨w_m,tap, x_tap⟩                                 (what training computes)
//   ⇒ dot_zero = dot_one − corr_m(P),   corr_m(P) = Σ_{tap ∈ P} tap_sum_m,tap,   tap_sum_m,tap = Σ_c w_m,tap,c
// (for ±1 weights packed as bits, tap_sum = Cin − 2·popcount(w_m,tap)). Likewise Σ over the valid taps of w is
// Σ_all w − corr_m(P), which the affine route (activations x ∈ {0, 1} as s = 2x − 1) needs.
//
// Classes. P depends only on which kernel rows and which kernel columns are out of bounds. Along one axis, output
// position o (stride s, padding p, input length n, kernel k) has the valid kernel range [lo, hi):
//   lo = clamp(p − s·o, 0, k),   hi = clamp(n + p − s·o, lo, k)
// Both ends are non-increasing in o, so equal ranges are consecutive and an axis has few distinct ranges (the full
// range (0, k) plus one per border distance). The full range is forced to index 0, so row class ry and column class
// cx combine into pixel class ry·ncx + cx, and class 0 is exactly the interior (nothing to correct). Corrections are
// then a [classes][M] table, built once per weight pack and input size: O(classes · M · KH·KW), negligible next to
// the conv; kernels subtract corr[class(pixel)][m] in their output pass (bgemm's col_class / class_corr).
//
// Freestanding: callers own every buffer (sizes from pad_class_counts); nothing here allocates or throws.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/conv/conv_geom.h"

namespace lowbit::kernels {

struct PadRange {
  int32_t lo, hi;  // valid kernel positions [lo, hi) along one axis
};

// The valid kernel range of output position o along one axis (formula above).
PadRange pad_valid_range(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t o);

// The classes of one axis: the count (≥ 1); writes cls_of[o] for o < out and ranges[c] for every class when the
// pointers are non-null (call once with nulls to size the buffers).
size_t pad_axis_classes(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t out, int32_t* cls_of,
                        PadRange* ranges);

// Views of caller memory describing the classes of one geometry (g.OH, g.OW set).
struct PadClasses {
  size_t rows = 0, cols = 0;  // classes per axis: rows·cols pixel classes in all
  int32_t* row_cls = nullptr;      // [OH]  row class of each output row
  int32_t* col_cls = nullptr;      // [OW]  column class of each output column
  PadRange* row_ranges = nullptr;  // [rows]
  PadRange* col_ranges = nullptr;  // [cols]
  size_t classes() const { return rows * cols; }
};

// rows and cols for g (the buffers' sizes), pointers left null.
PadClasses pad_class_counts(const ConvGeom& g);
// Fills the four arrays of pc (sized by pad_class_counts).
void pad_classes_build(const ConvGeom& g, PadClasses& pc);
// pixel_class[oh·OW + ow] = row_cls[oh]·cols + col_cls[ow] (0 = interior).
void pad_pixel_classes(const ConvGeom& g, const PadClasses& pc, int32_t* pixel_class);

// tap_sum[t·M + m] = Σ_{c < cg} codes[m·ld + t·cg + c]: per-tap sums of int8 weight codes in tap-major order
// ([M][taps][cg], row stride ld ≥ taps·cg), the input of pad_class_corrections.
void pad_tap_sums_i8(const int8_t* codes, size_t M, size_t taps, size_t cg, size_t ld, int32_t* tap_sum);

// corr[(ry·cols + cx)·M + m] = Σ over the taps (i, j) outside row range ry × column range cx of tap_sum[(i·KW + j)·M
// + m], for every class (class 0, the interior, gets zeros). corr holds pc.classes()·M values.
void pad_class_corrections(const ConvGeom& g, const PadClasses& pc, const int32_t* tap_sum, size_t M, int32_t* corr);

}  // namespace lowbit::kernels
