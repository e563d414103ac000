// Scalar reference for qgemm: reads each weight back from the packed layout (qgemm_packed_weight) and forms
//   C[m][n] = Σ_k (x[n][k] − x_zero) · w[m][k]
// directly, without the offset-code algebra the SIMD variants use, so it also checks that algebra. Weights are
// decoded a chunk of kRefChunkK at a time into a small stack buffer and applied to a block of kRefBlockN outputs
// (int32 partial sums), so the stack stays under half a KiB whatever K is: this is the kernel firmware builds run,
// where a stack is a few KiB. Integer sums are exact, so the chunking never changes a result.
#include "kernels/kassert.h"
#include "kernels/omp.h"
#include "kernels/qgemm/qgemm.h"

namespace lowbit::kernels {
namespace {
constexpr size_t kRefChunkK = 256;
constexpr size_t kRefBlockN = 32;

inline int act(const QgemmWeights& w, const uint8_t* x, size_t k) {
  return w.xtype == QAct::s8 ? int(static_cast<int8_t>(x[k])) : int(x[k]);
}

// acc[j] = Σ_k (x[n0 + j][k] − x_zero) · w[m][k] for j < nb.
void row_block(const QgemmWeights& w, size_t m, size_t n0, size_t nb, const uint8_t* x, size_t ldx, int32_t x_zero,
               int32_t* acc) {
  for (size_t j = 0; j < nb; ++j) acc[j] = 0;
  int8_t row[kRefChunkK];
  for (size_t k0 = 0; k0 < w.K; k0 += kRefChunkK) {
    const size_t kb = w.K - k0 < kRefChunkK ? w.K - k0 : kRefChunkK;
    for (size_t k = 0; k < kb; ++k) row[k] = static_cast<int8_t>(qgemm_packed_weight(w, m, k0 + k));
    for (size_t j = 0; j < nb; ++j) {
      const uint8_t* xr = x + (n0 + j) * ldx + k0;
      int32_t s = 0;
      for (size_t k = 0; k < kb; ++k) s += (act(w, xr, k) - x_zero) * row[k];
      acc[j] += s;
    }
  }
}
}  // namespace

void qgemm_i32_ref(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, int32_t* c,
                   size_t ldc, int threads) {
  LOWBIT_KASSERT(w.data && N > 0 && ldx >= w.K && ldc >= N && (w.xtype == QAct::u8 || x_zero == 0));
  const int nt = threads > 0 ? threads : default_threads();
  (void)nt;
  LOWBIT_OMP(parallel for schedule(static) num_threads(nt) if(nt > 1 && w.M * N * w.K >= kQgemmParallelMinMacs))
  for (long m = 0; m < long(w.M); ++m) {
    int32_t acc[kRefBlockN];
    for (size_t n0 = 0; n0 < N; n0 += kRefBlockN) {
      const size_t nb = N - n0 < kRefBlockN ? N - n0 : kRefBlockN;
      row_block(w, size_t(m), n0, nb, x, ldx, x_zero, acc);
      for (size_t j = 0; j < nb; ++j) c[m * ldc + n0 + j] = acc[j];
    }
  }
}

void qgemm_f32_ref(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, const float* scale,
                   const float* bias, float* c, size_t ldc, int threads) {
  LOWBIT_KASSERT(w.data && N > 0 && ldx >= w.K && ldc >= N && scale && (w.xtype == QAct::u8 || x_zero == 0));
  const int nt = threads > 0 ? threads : default_threads();
  (void)nt;
  LOWBIT_OMP(parallel for schedule(static) num_threads(nt) if(nt > 1 && w.M * N * w.K >= kQgemmParallelMinMacs))
  for (long m = 0; m < long(w.M); ++m) {
    int32_t acc[kRefBlockN];
    for (size_t n0 = 0; n0 < N; n0 += kRefBlockN) {
      const size_t nb = N - n0 < kRefBlockN ? N - n0 : kRefBlockN;
      row_block(w, size_t(m), n0, nb, x, ldx, x_zero, acc);
      for (size_t j = 0; j < nb; ++j) c[m * ldc + n0 + j] = scale[m] * float(acc[j]) + (bias ? bias[m] : 0.0f);
    }
  }
}

extern const QgemmKernels kQgemmRef = {{qgemm_i32_ref, qgemm_i32_ref, qgemm_i32_ref},
                                       {qgemm_f32_ref, qgemm_f32_ref, qgemm_f32_ref}};

}  // namespace lowbit::kernels
