// Internal to engine/ops: the im2col-into-GEMM-panels packers (conv2d's B operand) over kernels::ConvGeom.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/gemm.h"
#include "kernels/conv/conv_geom.h"
#include "kernels/isa.h"

namespace lowbit::ops_detail {

// The project's one conv geometry (kernels/conv/conv_geom.h).
using ConvGeom = kernels::ConvGeom;

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
  // Optional, from im2col_kernels().panel_pieces(g): the packer's per-panel run tables, built once per conv call
  // instead of once per panel and image (null: the packer computes them).
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

std::vector<unsigned char> im2col_panel_pieces_avx512(const ConvGeom& g);

// PackBFn implementations (ctx = const Im2colPanelCtx*): the portable one (im2col_panels.cpp) and the AVX-512
// one (im2col_avx512.cpp, masked 16-lane run copies; stride 1 only, it delegates strided layers to the portable
// one).
void im2col_panels_ref(const void* ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst);
void im2col_panels_avx512(const void* ctx, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst);

// The unfolded matrix of one image and group for output rows [oh0, oh1), materialised (conv's weight
// gradient takes it in L2-sized slices of output rows), with row length Pc = (oh1 − oh0)·OW:
//   col[((c·KH + kh)·KW + kw)·Pc + (oh − oh0)·OW + ow] = x[c][oh·SH − PH + kh][ow·SW − PW + kw]  (0 outside).
// `pieces` (nullable) is the table's slice_pieces(g, oh0, oh1): the packer's run tables for that slice, built
// once per conv call instead of once per image (the portable packer has none and ignores it).
using Im2colFn = void (*)(const float* x, const ConvGeom& g, int64_t oh0, int64_t oh1, float* col,
                          const void* pieces);
void im2col_ref(const float* x, const ConvGeom& g, int64_t oh0, int64_t oh1, float* col, const void* pieces = nullptr);
void im2col_avx512(const float* x, const ConvGeom& g, int64_t oh0, int64_t oh1, float* col,
                   const void* pieces = nullptr);
std::vector<unsigned char> im2col_slice_pieces_avx512(const ConvGeom& g, int64_t oh0, int64_t oh1);

// One im2col table per ISA (kernels/dispatch_table.h), chosen once. panel_pieces(g) is the packer's precomputed
// tables for every 32-wide panel of g's output positions (empty when it has none for this geometry; pass data()
// as Im2colPanelCtx::pieces); slice_pieces(g, oh0, oh1) the same for a slice of rows.
struct Im2colKernels {
  PackBFn panels;
  std::vector<unsigned char> (*panel_pieces)(const ConvGeom& g);
  Im2colFn rows;
  std::vector<unsigned char> (*slice_pieces)(const ConvGeom& g, int64_t oh0, int64_t oh1);
};
// The table of kernels::active_isa() (the portable one if that ISA has no variant).
const Im2colKernels& im2col_kernels();
// nullptr if this build or CPU cannot run that ISA's variant (the reference is never null).
const Im2colKernels* im2col_kernels_for(kernels::Isa isa);

}  // namespace lowbit::ops_detail
