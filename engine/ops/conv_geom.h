// Internal to engine/ops: convolution geometry and the im2col-into-GEMM-panels packers (conv2d's B operand).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/gemm.h"

namespace lowbit::ops_detail {

struct ConvGeom {
  int64_t N, C, H, W;      // input
  int64_t O, KH, KW;       // output channels, kernel
  int64_t OH, OW;          // output spatial
  int64_t sh, sw, ph, pw;  // stride, padding
  int64_t G;               // groups
  int64_t Cg() const { return C / G; }
  int64_t Og() const { return O / G; }
  int64_t K() const { return Cg() * KH * KW; }
  int64_t P() const { return OH * OW; }
  bool pointwise() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0; }
};

// im2col written straight into the GEMM's B panels (see sgemm_serial_cb in engine/gemm.h): for the block of
// unfolded rows k ∈ [k0, k0 + kc) and output positions p ∈ [n0, n0 + nc), panel j holds positions
// n0 + 32j .. n0 + 32j + 31 as dst[j·kc·32 + (k − k0)·32 + q]. Each 32-wide row is filled by runs of constant
// output row oh, so the inner copies are contiguous (stride 1) or strided input reads.
struct Im2colPanelCtx {
  const float* x;  // one image, one group: [Cg, H, W]
  const ConvGeom* g;
  const int32_t* k_off;  // per unfolded row k: offset of its channel plane, c·H·W
  const int16_t* k_kh;   // per k: kernel row
  const int16_t* k_kw;   // per k: kernel column
  // Optional, from im2col_panel_pieces(g): the packer's per-panel run tables, built once per conv call instead
  // of once per panel and image (null: the packer computes them).
  const void* pieces = nullptr;
};

// Per-k lookup tables for im2col_panels (built once per conv call, shared read-only by all threads).
struct Im2colTables {
  std::vector<int32_t> off;
  std::vector<int16_t> kh, kw;
  explicit Im2colTables(const ConvGeom& g) {
    const int64_t K = g.K();
    off.resize(static_cast<size_t>(K));
    kh.resize(static_cast<size_t>(K));
    kw.resize(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) {
      const int64_t KK = g.KH * g.KW;
      off[k] = static_cast<int32_t>((k / KK) * g.H * g.W);
      kh[k] = static_cast<int16_t>((k % KK) / g.KW);
      kw[k] = static_cast<int16_t>(k % g.KW);
    }
  }
};

// The active im2col_panels packer's precomputed tables for every 32-wide panel of g's output positions
// (empty when that packer has none for this geometry). Pass data() as Im2colPanelCtx::pieces.
std::vector<unsigned char> im2col_panel_pieces(const ConvGeom& g);
std::vector<unsigned char> im2col_panel_pieces_avx512(const ConvGeom& g);

// PackBFn implementations (ctx = const Im2colPanelCtx*): the portable one (im2col_panels.cpp) and the AVX-512
// one (im2col_avx512.cpp, masked 16-lane run copies; stride 1 only, it delegates strided layers to the portable
// one). im2col_panels_kernel() picks one for the active ISA.
void im2col_panels_ref(const void* ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst);
void im2col_panels_avx512(const void* ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst);
PackBFn im2col_panels_kernel();

// The unfolded matrix of one image and group for output rows [oh0, oh1), materialised (conv's weight
// gradient takes it in L2-sized slices of output rows), with row length Pc = (oh1 − oh0)·OW:
//   col[((c·KH + kh)·KW + kw)·Pc + (oh − oh0)·OW + ow] = x[c][oh·sh − ph + kh][ow·sw − pw + kw]  (0 outside).
// `pieces` (nullable) is im2col_slice_pieces(g, oh0, oh1): the packer's run tables for that slice, built once
// per conv call instead of once per image (the portable packer has none and ignores it).
using Im2colFn = void (*)(const float* x, const ConvGeom& g, int64_t oh0, int64_t oh1, float* col,
                          const void* pieces);
void im2col_ref(const float* x, const ConvGeom& g, int64_t oh0, int64_t oh1, float* col, const void* pieces = nullptr);
void im2col_avx512(const float* x, const ConvGeom& g, int64_t oh0, int64_t oh1, float* col,
                   const void* pieces = nullptr);
Im2colFn im2col_kernel();
std::vector<unsigned char> im2col_slice_pieces(const ConvGeom& g, int64_t oh0, int64_t oh1);
std::vector<unsigned char> im2col_slice_pieces_avx512(const ConvGeom& g, int64_t oh0, int64_t oh1);

}  // namespace lowbit::ops_detail
