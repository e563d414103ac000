// Scalar reference for tgemm (math in kernels/tgemm/tgemm.h): one output at a time, whole words, the identities
//   t2 × b1:  dot = nnz(w) − 2·popcount(m ∧ (s ⊕ a))
//   t2 × t2:  dot = popcount(mw ∧ mx) − 2·popcount(mw ∧ mx ∧ (sw ⊕ sx))
// Rows are split over threads; every output is computed by the same code whatever the split.
#include <type_traits>

#include "kernels/kassert.h"
#include "kernels/omp.h"
#include "kernels/tgemm/tgemm.h"

namespace lowbit::kernels {
namespace {

inline int32_t dot_t2b1(const bword* m, const bword* s, int32_t nnz, const bword* a, size_t words) {
  int32_t neg = 0;
  for (size_t w = 0; w < words; ++w) neg += __builtin_popcountll(m[w] & (s[w] ^ a[w]));
  return nnz - 2 * neg;
}

inline int32_t dot_t2t2(const bword* mw, const bword* sw, const bword* mx, const bword* sx, size_t words) {
  int32_t both = 0, neg = 0;
  for (size_t w = 0; w < words; ++w) {
    const bword m = mw[w] & mx[w];
    both += __builtin_popcountll(m);
    neg += __builtin_popcountll(m & (sw[w] ^ sx[w]));
  }
  return both - 2 * neg;
}

// c[m·ldc + n] = dot(m, n, words) (int32 out) or scale[m]·float(dot) + bias[m] (float out) for every output.
template <class Out, class Dot>
void for_each_output(size_t M, size_t N, size_t K, size_t ldw, size_t ldx, const float* scale, const float* bias,
                     Out* c, size_t ldc, int threads, Dot dot) {
  const size_t words = packed_words(K);
  LOWBIT_KASSERT(M > 0 && N > 0 && K > 0 && ldw >= words && ldx >= words && ldc >= N &&
                 (scale || !std::is_same_v<Out, float>));
  (void)ldw, (void)ldx, (void)scale, (void)bias;
  const int nt = threads > 0 ? threads : default_threads();
  (void)nt;
  LOWBIT_OMP(parallel for schedule(static) num_threads(nt) if(nt > 1 && M * N * words >= kParallelMinWords))
  for (long m = 0; m < long(M); ++m)
    for (size_t n = 0; n < N; ++n) {
      const int32_t d = dot(size_t(m), n, words);
      if constexpr (std::is_same_v<Out, float>)
        c[m * ldc + n] = scale[m] * float(d) + (bias ? bias[m] : 0.0f);
      else
        c[m * ldc + n] = d;
    }
}

}  // namespace

void tgemm_t2b1_i32_ref(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                        const int32_t* w_nnz, const bword* x, size_t ldx, int32_t* c, size_t ldc, int threads) {
  for_each_output(M, N, K, ldw, ldx, nullptr, nullptr, c, ldc, threads, [&](size_t m, size_t n, size_t words) {
    return dot_t2b1(wmask + m * ldw, wsign + m * ldw, w_nnz[m], x + n * ldx, words);
  });
}

void tgemm_t2b1_f32_ref(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                        const int32_t* w_nnz, const bword* x, size_t ldx, const float* scale, const float* bias,
                        float* c, size_t ldc, int threads) {
  for_each_output(M, N, K, ldw, ldx, scale, bias, c, ldc, threads, [&](size_t m, size_t n, size_t words) {
    return dot_t2b1(wmask + m * ldw, wsign + m * ldw, w_nnz[m], x + n * ldx, words);
  });
}

void tgemm_t2t2_i32_ref(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                        const bword* xmask, const bword* xsign, size_t ldx, int32_t* c, size_t ldc, int threads) {
  for_each_output(M, N, K, ldw, ldx, nullptr, nullptr, c, ldc, threads, [&](size_t m, size_t n, size_t words) {
    return dot_t2t2(wmask + m * ldw, wsign + m * ldw, xmask + n * ldx, xsign + n * ldx, words);
  });
}

void tgemm_t2t2_f32_ref(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                        const bword* xmask, const bword* xsign, size_t ldx, const float* scale, const float* bias,
                        float* c, size_t ldc, int threads) {
  for_each_output(M, N, K, ldw, ldx, scale, bias, c, ldc, threads, [&](size_t m, size_t n, size_t words) {
    return dot_t2t2(wmask + m * ldw, wsign + m * ldw, xmask + n * ldx, xsign + n * ldx, words);
  });
}

extern const TgemmKernels kTgemmRef = {tgemm_t2b1_i32_ref, tgemm_t2b1_f32_ref, tgemm_t2t2_i32_ref,
                                       tgemm_t2t2_f32_ref};

}  // namespace lowbit::kernels
