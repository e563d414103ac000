// Shared (ISA-independent) blocking for the SIMD qgemm variants: how output tiles are split into work items for
// threads, and the column sums Σ_k x[n][k] the offset-code algebra needs (kernels/qgemm/qgemm.h).
//
// Work items: the M side is cut into `msplit` contiguous ranges of whole panels, the N side into column blocks of
// `nr` columns; item i = (i / nblocks, i % nblocks). Every output is computed by the same tile code whatever the
// split, so results are bit-identical for any thread count. GEMV-like shapes (few column blocks) are split over
// M so that both cores stream disjoint weight rows.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/omp.h"
#include "kernels/qgemm/qgemm.h"

namespace lowbit::kernels::qgemm_detail {

struct Split {
  size_t panels, mr, msplit, nr, nblocks;
  size_t items() const { return msplit * nblocks; }
  // Panel range [p0, p1) of M-part `i`, aligned to mr panels (the last part takes the ragged end).
  void mrange(size_t i, size_t* p0, size_t* p1) const {
    const size_t groups = (panels + mr - 1) / mr;
    *p0 = groups * i / msplit * mr;
    *p1 = groups * (i + 1) / msplit * mr;
    if (*p1 > panels) *p1 = panels;
  }
};

inline Split make_split(size_t M, size_t N, size_t mr, size_t nr, int threads) {
  Split s;
  s.panels = qgemm_panels(M);
  s.mr = mr;
  s.nr = nr;
  s.nblocks = (N + nr - 1) / nr;
  const size_t groups = (s.panels + mr - 1) / mr;
  const size_t want = size_t(threads) * 4;  // a few items per thread for balance
  s.msplit = s.nblocks >= want ? 1 : (want + s.nblocks - 1) / s.nblocks;
  if (s.msplit > groups) s.msplit = groups;
  if (s.msplit == 0) s.msplit = 1;
  return s;
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
