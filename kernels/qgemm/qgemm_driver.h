// Shared (ISA-independent) blocking for the SIMD qgemm variants: how output tiles are split into work items for
// threads, and the column sums Σ_k x[n][k] the offset-code algebra needs (kernels/qgemm/qgemm.h).
//
// Work items: the M side is cut into `msplit` contiguous ranges of whole panels, the N side into `nsplit` ranges
// of column blocks (`nr` columns each); item i = (i / nsplit, i % nsplit). Inside an item the loop order is
// M cache block → column block → panel group (see panels_per_block). Every output is computed by the same tile code whatever the
// split, so results are bit-identical for any thread count. GEMV-like shapes (few column blocks) are split over
// M so that both cores stream disjoint weight rows.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/omp.h"
#include "kernels/qgemm/qgemm.h"

namespace lowbit::kernels::qgemm_detail {

struct Split {
  size_t panels, mr, msplit, nr, nblocks, nsplit;
  size_t items() const { return msplit * nsplit; }
  // Panel range [p0, p1) of M-part `i`, aligned to mr panels (the last part takes the ragged end).
  void mrange(size_t i, size_t* p0, size_t* p1) const {
    const size_t groups = (panels + mr - 1) / mr;
    *p0 = groups * i / msplit * mr;
    *p1 = groups * (i + 1) / msplit * mr;
    if (*p1 > panels) *p1 = panels;
  }
  // Column-block range [b0, b1) of N-part `j`.
  void nrange(size_t j, size_t* b0, size_t* b1) const {
    *b0 = nblocks * j / nsplit;
    *b1 = nblocks * (j + 1) / nsplit;
  }
};

// GEMM-like shapes (at least 2 column blocks per thread): one contiguous column range per thread, all of M.
// GEMV-like shapes: the M side is cut into ~4 parts per thread (so both cores stream disjoint weight rows), and
// every column block is its own part.
inline Split make_split(size_t M, size_t N, size_t mr, size_t nr, int threads) {
  Split s;
  s.panels = qgemm_panels(M);
  s.mr = mr;
  s.nr = nr;
  s.nblocks = (N + nr - 1) / nr;
  const size_t groups = (s.panels + mr - 1) / mr;
  const size_t t = threads > 0 ? size_t(threads) : 1;
  if (s.nblocks >= 2 * t) {
    s.nsplit = t;
    s.msplit = 1;
  } else {
    s.nsplit = s.nblocks;
    s.msplit = (4 * t + s.nblocks - 1) / s.nblocks;
    if (s.msplit > groups) s.msplit = groups;
    if (s.msplit == 0) s.msplit = 1;
  }
  return s;
}

// Panels per cache block: the weight rows one item keeps hot (≈ 256 KB, L2) while it sweeps its column blocks,
// so the weights stream from memory once per item instead of once per column block.
inline size_t panels_per_block(size_t panel_bytes, size_t mr) {
  size_t p = (size_t(256) << 10) / (panel_bytes ? panel_bytes : 1);
  p = p / mr * mr;
  return p < mr ? mr : p;
}

// Σ_k x[k] of one activation row as the kernel sees it (u8 or s8).
inline int32_t act_row_sum(const uint8_t* x, size_t K, bool s8) {
  int32_t s = 0;
  if (s8)
    for (size_t k = 0; k < K; ++k) s += static_cast<int8_t>(x[k]);
  else
    for (size_t k = 0; k < K; ++k) s += x[k];
  return s;
}

}  // namespace lowbit::kernels::qgemm_detail
