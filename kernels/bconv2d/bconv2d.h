// bconv2d: binary 2-D convolution on channel-packed bits, with the fused output transforms of bgemm.
//
// Layouts (kernels/packing.h convention, bit 1 = −1, channel tails 0):
//   input   [batch][in_h][in_w][Cw]            Cw = packed_words(in_c)   (pack_nchw_to_nhwc_bits, or the bits
//                                                                         output of the previous layer)
//   weights [out_c][kernel_h][kernel_w][Cw]    (pack_sign_rows of OHWI fp32 weights with rows = out_c·kh·kw)
//   output  i32 / f32: NCHW [batch][out_c][out_h][out_w] or NHWC [batch][out_h][out_w][out_c];
//           bits: [batch][out_h][out_w][packed_words(out_c)] — the input layout of the next binary layer.
// out_h = (in_h + 2·pad_h − kernel_h) / stride_h + 1 (same for w); symmetric padding. The shape is the kernel's
// size_t view of the project's conv geometry (kernels/conv/conv_geom.h, geom()), which does the arithmetic.
//
// Padding semantics. Training computes the conv on ±1 data whose border holds real zeros (Bconv2dPadding::zero),
// and a 0 is neither +1 nor −1, so it cannot be stored as a bit. We store it as bit 0 (+1, "one padding") and
// subtract a per-(padding class, output channel) correction in bgemm's output pass: the classes, the corrections and
// their derivation are kernels/conv/pad_classes.h, the one implementation shared with the quantized layers
// (interior pixels have class 0 and cost nothing). Bconv2dPadding::one skips the correction: the border is +1 (as
// Larq's "one padding"), which is cheaper and exact if the model was trained that way.
//
// Implementation (ISA tables): im2col on packed bits — each output pixel's patch is KH·KW runs of Cw words copied
// straight from the input (contiguous KW·Cw words per kernel row when stride_w = 1), zero words for padded taps —
// then bgemm of the ISA with A = weights (M = out_c), B = patches (N = out_h·out_w, K = kh·kw·in_c bits over
// kh·kw·Cw words: channel-tail bits are 0 in both operands, so they add nothing), one image at a time. The
// reference table is a direct convolution loop (no im2col), the oracle for the others.
//
// Kernels never allocate: callers get scratch_words(shape) words (8-byte aligned) once and pass them on every call
// (bconv2d_scratch_words_max covers every compiled table). Threads as in bgemm: bit-identical for any count.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/conv/conv_geom.h"
#include "kernels/isa.h"
#include "kernels/packing.h"

namespace lowbit::kernels {

enum class Bconv2dPadding : uint8_t { zero = 0, one = 1 };
enum class Bconv2dLayout : uint8_t { nchw = 0, nhwc = 1 };

struct Bconv2dShape {
  size_t batch = 1, in_h = 0, in_w = 0, in_c = 0, out_c = 0;
  size_t kernel_h = 0, kernel_w = 0, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  Bconv2dPadding padding = Bconv2dPadding::zero;

  // The conv geometry (N = batch, C = in_c, O = out_c, one group), output size set when the shape is valid.
  ConvGeom geom() const;
  size_t out_h() const { return static_cast<size_t>(conv_out_extent(ext(in_h), ext(kernel_h), ext(stride_h), ext(pad_h))); }
  size_t out_w() const { return static_cast<size_t>(conv_out_extent(ext(in_w), ext(kernel_w), ext(stride_w), ext(pad_w))); }
  size_t in_words() const { return packed_words(in_c); }                 // Cw: words per input pixel
  size_t patch_words() const { return kernel_h * kernel_w * in_words(); }  // words per weight row / patch
  size_t patch_bits() const { return kernel_h * kernel_w * in_c; }         // K of the GEMM

 private:
  static int64_t ext(size_t v) { return v > static_cast<size_t>(kConvMaxExtent) ? -1 : static_cast<int64_t>(v); }
};

// Status::ok, or bad_size if a size is 0, a stride is 0, the padded input is smaller than the kernel, a kernel or
// padding exceeds 4096 or an element count overflows (conv_geom_finish). Padding wider than the kernel is allowed
// (outputs that see only padding get dot 0 in zero mode).
Status bconv2d_check(const Bconv2dShape& s);

using bconv2d_i32_fn = void (*)(const Bconv2dShape& s, const bword* input, const bword* weights, int32_t* out,
                                Bconv2dLayout layout, bword* scratch, int threads);
// out = scale[m]·float(dot) + bias[m] (bgemm_affine; scale/bias null → 1 / 0).
using bconv2d_f32_fn = void (*)(const Bconv2dShape& s, const bword* input, const bword* weights, const float* scale,
                                const float* bias, float* out, Bconv2dLayout layout, bword* scratch, int threads);
// out bit m = (dot < threshold[m]) XOR flip bit m (bgemm.h; bgemm_thresholds_from_affine folds BN + sign).
using bconv2d_bits_fn = void (*)(const Bconv2dShape& s, const bword* input, const bword* weights,
                                 const int32_t* threshold, const bword* flip, bword* out, bword* scratch,
                                 int threads);
using bconv2d_scratch_words_fn = size_t (*)(const Bconv2dShape& s);

struct Bconv2dKernels {
  bconv2d_i32_fn i32;
  bconv2d_f32_fn f32;
  bconv2d_bits_fn bits;
  bconv2d_scratch_words_fn scratch_words;
};

extern const Bconv2dKernels kBconv2dRef;

// The table of active_isa() (ref if this family has no variant for it).
const Bconv2dKernels& bconv2d_kernels();
// nullptr if this build or CPU cannot run that ISA's variant (ref is never null).
const Bconv2dKernels* bconv2d_kernels_for(Isa isa);
// Scratch words that satisfy every compiled table.
size_t bconv2d_scratch_words_max(const Bconv2dShape& s);

}  // namespace lowbit::kernels
