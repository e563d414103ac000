// Scalar reference for qgemm: reads each weight back from the packed layout (qgemm_packed_weight) and forms
//   C[m][n] = Σ_k (x[n][k] − x_zero) · w[m][k]
// directly (each weight row decoded once into a stack row), without the offset-code algebra the SIMD variants
// use, so it also checks that algebra.
#include "kernels/kassert.h"
#include "kernels/omp.h"
#include "kernels/qgemm/qgemm.h"

namespace lowbit::kernels {
namespace {
inline int act(const QgemmWeights& w, const uint8_t* x, size_t k) {
  return w.xtype == QAct::s8 ? int(static_cast<int8_t>(x[k])) : int(x[k]);
}
}  // namespace

void qgemm_i32_ref(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, int32_t* c,
                   size_t ldc, int threads) {
  LOWBIT_KASSERT(w.data && N > 0 && ldx >= w.K && ldc >= N && (w.xtype == QAct::u8 || x_zero == 0));
  const int nt = threads > 0 ? threads : default_threads();
  (void)nt;
  LOWBIT_OMP(parallel for schedule(static) num_threads(nt) if(nt > 1 && w.M * N * w.K >= kQgemmParallelMinMacs))
  for (long m = 0; m < long(w.M); ++m) {
    int8_t row[kQgemmMaxK];  // row m decoded once (K ≤ kQgemmMaxK)
    for (size_t k = 0; k < w.K; ++k) row[k] = static_cast<int8_t>(qgemm_packed_weight(w, m, k));
    for (size_t n = 0; n < N; ++n) {
      int32_t s = 0;
      for (size_t k = 0; k < w.K; ++k) s += (act(w, x + n * ldx, k) - x_zero) * row[k];
      c[m * ldc + n] = s;
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
    int8_t row[kQgemmMaxK];
    for (size_t k = 0; k < w.K; ++k) row[k] = static_cast<int8_t>(qgemm_packed_weight(w, m, k));
    for (size_t n = 0; n < N; ++n) {
      int32_t s = 0;
      for (size_t k = 0; k < w.K; ++k) s += (act(w, x + n * ldx, k) - x_zero) * row[k];
      c[m * ldc + n] = scale[m] * float(s) + (bias ? bias[m] : 0.0f);
    }
  }
}

extern const QgemmKernels kQgemmRef = {{qgemm_i32_ref, qgemm_i32_ref, qgemm_i32_ref},
                                       {qgemm_f32_ref, qgemm_f32_ref, qgemm_f32_ref}};

}  // namespace lowbit::kernels
