// Scalar reference for bitserial (math and DoReFa offsets derived in kernels/bitserial/bitserial.h):
//   D = Σ_i Σ_j 2^(i+j) · popcount(w_i ∧ x_j) over whole words (tails are zero in every plane),
//   S = 2·D − (2^k − 1)·x_sum[n],   C = float(S)·(scale[m]·inv) + bias[m].
#include "kernels/bitserial/bitserial.h"
#include "kernels/kassert.h"
#include "kernels/omp.h"

namespace lowbit::kernels {
namespace {

inline int32_t dot_codes(const bword* w, int wbits, const bword* x, int xbits, size_t words) {
  int32_t d = 0;
  for (int i = 0; i < wbits; ++i)
    for (int j = 0; j < xbits; ++j) {
      int32_t p = 0;
      for (size_t k = 0; k < words; ++k) p += __builtin_popcountll(w[size_t(i) * words + k] & x[size_t(j) * words + k]);
      d += p << (i + j);
    }
  return d;
}

// Calls out(m, n, D[m][n]) for every output, rows split over threads (each output written by one thread).
template <class Out>
void for_each_dot(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits, const bword* x,
                  size_t ldx, size_t ldc, int threads, Out out) {
  const size_t words = packed_words(K);
  (void)ldc;
  LOWBIT_KASSERT(M > 0 && N > 0 && K > 0 && wbits >= 1 && wbits <= kBitserialMaxBits && xbits >= 1 &&
                 xbits <= kBitserialMaxBits && ldw >= size_t(wbits) * words && ldx >= size_t(xbits) * words &&
                 ldc >= N);
  const int nt = threads > 0 ? threads : default_threads();
  (void)nt;
  LOWBIT_OMP(parallel for schedule(static) num_threads(nt) if(nt > 1 && M * N * words >= kParallelMinWords))
  for (long m = 0; m < long(M); ++m)
    for (size_t n = 0; n < N; ++n) out(size_t(m), n, dot_codes(w + m * ldw, wbits, x + n * ldx, xbits, words));
}

}  // namespace

void bitserial_i32_ref(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                       const bword* x, size_t ldx, int32_t* c, size_t ldc, int threads) {
  for_each_dot(M, N, K, wbits, w, ldw, xbits, x, ldx, ldc, threads,
               [&](size_t m, size_t n, int32_t d) { c[m * ldc + n] = d; });
}

void bitserial_dorefa_i32_ref(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                              const bword* x, size_t ldx, const int32_t* x_sum, int32_t* c, size_t ldc, int threads) {
  for_each_dot(M, N, K, wbits, w, ldw, xbits, x, ldx, ldc, threads,
               [&](size_t m, size_t n, int32_t d) { c[m * ldc + n] = bitserial_dorefa_s(d, wbits, x_sum[n]); });
}

void bitserial_dorefa_f32_ref(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                              const bword* x, size_t ldx, const int32_t* x_sum, const float* scale, const float* bias,
                              float* c, size_t ldc, int threads) {
  const float inv = bitserial_dorefa_inv(wbits, xbits);
  for_each_dot(M, N, K, wbits, w, ldw, xbits, x, ldx, ldc, threads, [&](size_t m, size_t n, int32_t d) {
    c[m * ldc + n] = float(bitserial_dorefa_s(d, wbits, x_sum[n])) * (scale[m] * inv) + (bias ? bias[m] : 0.0f);
  });
}

extern const BitserialKernels kBitserialRef = {bitserial_i32_ref, bitserial_dorefa_i32_ref, bitserial_dorefa_f32_ref};

}  // namespace lowbit::kernels
