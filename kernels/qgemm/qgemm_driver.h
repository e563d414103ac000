// The shared (ISA-independent) half of the SIMD qgemm variants (qgemm_avx2.cpp, qgemm_avx512.cpp): the entry
// points and their checks, how output tiles are split into work items for threads, and the walk over the tiles
// (kernels/qgemm/qgemm.h has the math).
//
// A variant supplies a policy type P, defined in its own anonymous namespace so that every template below is
// instantiated separately in each ISA's translation unit (and compiled with that file's ISA flags):
//   template <QWeight WT, bool S8, class Out>
//   static void run(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, const Epilogue& e, Out* c,
//                   size_t ldc, int threads);     picks its register tile for this N and calls for_each_tile()
// and defines its table as kernels_table<P>().
//
// Work items: the M side is cut into `msplit` contiguous ranges of whole panels, the N side into `nsplit` ranges
// of column blocks (`nr` columns each); item i = (i / nsplit, i % nsplit). Inside an item the loop order is
// M cache block → column block → panel group (see panels_per_block). Every output is computed by the same tile
// code whatever the split, so results are bit-identical for any thread count. GEMV-like shapes (few column
// blocks) are split over M so that both cores stream disjoint weight rows.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/kassert.h"
#include "kernels/omp.h"
#include "kernels/qgemm/qgemm.h"

namespace lowbit::kernels::qgemm_detail {

// What the tile epilogue needs: C = acc − off·xsum[n] − zp·wsum[m], then scale[m]·C + bias[m] for float outputs.
struct Epilogue {
  const float* scale;
  const float* bias;
  int32_t off, zp;
  const int32_t* wsum;
};

// Internal linkage: every ISA translation unit gets its own copy, compiled with its own flags.
namespace {

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

}  // namespace

// Calls tile(rows, p, xr, n0, ncols, xsum) for every tile of the output: `rows` is std::integral_constant<int, MR>
// for MR panels from panel p, and <int, 1> for the single panels left at the end of a cache block; xr[j] is the
// activation row of column n0 + j (columns past ncols repeat column n0: their results are discarded), xsum[j] =
// row_sum(xr[j]). Work items run in parallel (threads > 1 and enough work); every output is computed by the same
// tile whatever the split.
template <int MR, int NR, class RowSum, class Tile>
void for_each_tile(const QgemmWeights& w, size_t panel_bytes, size_t N, const uint8_t* x, size_t ldx, int threads,
                   RowSum row_sum, Tile tile) {
  const Split s = make_split(w.M, N, MR, NR, threads);
  const long items = long(s.items());
  const size_t pblock = panels_per_block(panel_bytes, MR);
  // Tiny problems are not worth waking a second thread (results do not depend on the split anyway).
  const bool par = threads > 1 && w.M * N * w.K >= kQgemmParallelMinMacs;
  (void)par;
  LOWBIT_OMP(parallel for schedule(static) num_threads(threads) if(par))
  for (long it = 0; it < items; ++it) {
    size_t p0, p1, b0, b1;
    s.mrange(size_t(it) / s.nsplit, &p0, &p1);
    s.nrange(size_t(it) % s.nsplit, &b0, &b1);
    for (size_t mb = p0; mb < p1; mb += pblock) {
      const size_t me = mb + pblock < p1 ? mb + pblock : p1;
      for (size_t blk = b0; blk < b1; ++blk) {
        const size_t n0 = blk * NR;
        const size_t ncols = N - n0 < size_t(NR) ? N - n0 : size_t(NR);
        const uint8_t* xr[NR];
        int32_t xsum[NR];
        #pragma GCC unroll 16
        for (int j = 0; j < NR; ++j) {
          xr[j] = x + (n0 + (size_t(j) < ncols ? size_t(j) : 0)) * ldx;
          xsum[j] = row_sum(xr[j]);
        }
        size_t p = mb;
        for (; p + MR <= me; p += MR) tile(std::integral_constant<int, MR>{}, p, xr, n0, ncols, xsum);
        for (; p < me; ++p) tile(std::integral_constant<int, 1>{}, p, xr, n0, ncols, xsum);
      }
    }
  }
}

template <class P, QWeight WT, class Out>
void qgemm_any(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, const float* scale,
               const float* bias, Out* c, size_t ldc, int threads) {
  LOWBIT_KASSERT(w.data && w.wtype == WT && N > 0 && ldx >= w.K && ldc >= N && (w.xtype == QAct::u8 || x_zero == 0));
  const Epilogue e{scale, bias, qgemm_code_offset(WT, w.xtype), x_zero, w.wsum};
  const int nt = threads > 0 ? threads : default_threads();
  if (w.xtype == QAct::s8)
    P::template run<WT, true>(w, N, x, ldx, e, c, ldc, nt);
  else
    P::template run<WT, false>(w, N, x, ldx, e, c, ldc, nt);
}

// The entry points, with the signatures of the table (kernels/qgemm/qgemm.h).
template <class P, QWeight WT>
void i32(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, int32_t* c, size_t ldc,
         int threads) {
  qgemm_any<P, WT, int32_t>(w, N, x, ldx, x_zero, nullptr, nullptr, c, ldc, threads);
}
template <class P, QWeight WT>
void f32(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, const float* scale,
         const float* bias, float* c, size_t ldc, int threads) {
  qgemm_any<P, WT, float>(w, N, x, ldx, x_zero, scale, bias, c, ldc, threads);
}

template <class P>
constexpr QgemmKernels kernels_table() {
  return {{i32<P, QWeight::i2>, i32<P, QWeight::i4>, i32<P, QWeight::i8>},
          {f32<P, QWeight::i2>, f32<P, QWeight::i4>, f32<P, QWeight::i8>}};
}

}  // namespace lowbit::kernels::qgemm_detail
