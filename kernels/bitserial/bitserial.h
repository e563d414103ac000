// bitserial: k-bit × m-bit GEMM on bit planes (kernels/packing.h "k-bit unsigned codes"), 1 ≤ k, m ≤ 4.
//
// W: M rows of K unsigned weight codes c ∈ [0, 2^wbits − 1], wbits planes per row (row stride ldw words,
// ≥ wbits·packed_words(K)). X: N rows of activation codes d ∈ [0, 2^xbits − 1], xbits planes per row (ldx).
//
// Integer dot (bitserial_i32):  D[m][n] = Σ_k c·d = Σ_i Σ_j 2^(i+j) · popcount(w_i ∧ x_j).
//
// DoReFa-Net values: weights w = 2c/(2^k − 1) − 1 ∈ [−1, 1] (k = wbits), activations a = d/(2^m − 1) ∈ [0, 1]
// (m = xbits). Then
//   Σ_k w·a = Σ (2c − (2^k − 1))·d / ((2^k − 1)(2^m − 1))
//           = (2·Σ c·d − (2^k − 1)·Σ d) / ((2^k − 1)(2^m − 1)) = S / ((2^k − 1)(2^m − 1)),
//   S[m][n] = 2·D[m][n] − (2^k − 1)·x_sum[n],     x_sum[n] = Σ_k d[n][k] (precomputed once per activation row,
//                                                 bit_plane_code_sums() in kernels/pack/pack_planes.h).
// bitserial_dorefa_i32 writes S (exact); bitserial_dorefa_f32 writes
//   C = scale[m] · S / ((2^k − 1)(2^m − 1)) + (bias ? bias[m] : 0)
// computed as float(S) · (scale[m] · inv) with inv = 1/((2^k − 1)(2^m − 1)) rounded once, so it equals the
// DoReFa float dot to within float rounding.
//
// Preconditions (asserted): M, N, K > 0; 1 ≤ wbits, xbits ≤ 4; strides as above; ldc ≥ N; planes' tail bits 0;
// packed buffers readable kPackedOverreadBytes past their end. Results identical for any thread count.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"
#include "kernels/packing.h"
#include "kernels/tgemm/tgemm.h"  // kParallelMinWords

namespace lowbit::kernels {

inline constexpr int kBitserialMaxBits = 4;

using bitserial_i32_fn = void (*)(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                                  const bword* x, size_t ldx, int32_t* c, size_t ldc, int threads);
using bitserial_dorefa_i32_fn = void (*)(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw,
                                         int xbits, const bword* x, size_t ldx, const int32_t* x_sum, int32_t* c,
                                         size_t ldc, int threads);
using bitserial_dorefa_f32_fn = void (*)(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw,
                                         int xbits, const bword* x, size_t ldx, const int32_t* x_sum,
                                         const float* scale, const float* bias, float* c, size_t ldc, int threads);

struct BitserialKernels {
  bitserial_i32_fn i32;
  bitserial_dorefa_i32_fn dorefa_i32;
  bitserial_dorefa_f32_fn dorefa_f32;
};

const BitserialKernels& bitserial_kernels();
const BitserialKernels* bitserial_kernels_for(Isa isa);

void bitserial_i32_ref(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                       const bword* x, size_t ldx, int32_t* c, size_t ldc, int threads);
void bitserial_dorefa_i32_ref(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                              const bword* x, size_t ldx, const int32_t* x_sum, int32_t* c, size_t ldc, int threads);
void bitserial_dorefa_f32_ref(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits,
                              const bword* x, size_t ldx, const int32_t* x_sum, const float* scale, const float* bias,
                              float* c, size_t ldc, int threads);

// The DoReFa epilogue shared by every ISA (so float results agree bit for bit across ISAs).
inline int32_t bitserial_dorefa_s(int32_t d, int wbits, int32_t x_sum) {
  return 2 * d - ((int32_t{1} << wbits) - 1) * x_sum;
}
inline float bitserial_dorefa_inv(int wbits, int xbits) {
  return 1.0f / float(((1 << wbits) - 1) * ((1 << xbits) - 1));
}

}  // namespace lowbit::kernels
