// tgemm: ternary-weight GEMM on bit planes (kernels/packing.h "Ternary (t2)").
//
//   C[m·ldc + n] = Σ_k W[m][k] · X[n][k]          m < M (output channels), n < N (pixels/tokens), k < K
//
// W is ternary, stored as two planes per row (wmask, wsign; row stride ldw words, both planes share it).
// X is either binary ±1 (b1, one plane, row stride ldx words) or ternary (xmask, xsign, stride ldx).
// With p = popcount over the K bits of a row:
//   t2 × b1:  Σ w·x = Σ_{mask} (1 − 2·(s ⊕ a)) = p(m) − 2·p(m ∧ (s ⊕ a))     p(m) = w_nnz[m], precomputed
//   t2 × t2:  Σ w·x = p(mw ∧ mx) − 2·p(mw ∧ mx ∧ (sw ⊕ sx))
// Tail bits ≥ K are zero in every plane (packing convention), so the kernels run over whole words.
//
// Float outputs apply a per-output-channel affine: C = scale[m]·dot + (bias ? bias[m] : 0).
//
// Preconditions (asserted): M, N, K > 0; ldw, ldx ≥ packed_words(K); ldc ≥ N; w_nnz[m] = popcount of row m of
// wmask (plane_popcounts() in kernels/pack/pack_planes.h computes it); packed buffers readable for
// kPackedOverreadBytes past their end. `threads` = 0 uses default_threads(); results are identical for any
// thread count.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/isa.h"
#include "kernels/packing.h"

namespace lowbit::kernels {

// Below this many (row, column, word) triples a call runs on one thread whatever `threads` says: waking a second
// thread costs more than the work (and results do not depend on the thread count anyway). Shared by bitserial.
inline constexpr size_t kParallelMinWords = size_t(1) << 14;

using tgemm_t2b1_i32_fn = void (*)(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                                   const int32_t* w_nnz, const bword* x, size_t ldx, int32_t* c, size_t ldc,
                                   int threads);
using tgemm_t2b1_f32_fn = void (*)(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                                   const int32_t* w_nnz, const bword* x, size_t ldx, const float* scale,
                                   const float* bias, float* c, size_t ldc, int threads);
using tgemm_t2t2_i32_fn = void (*)(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                                   const bword* xmask, const bword* xsign, size_t ldx, int32_t* c, size_t ldc,
                                   int threads);
using tgemm_t2t2_f32_fn = void (*)(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                                   const bword* xmask, const bword* xsign, size_t ldx, const float* scale,
                                   const float* bias, float* c, size_t ldc, int threads);

struct TgemmKernels {
  tgemm_t2b1_i32_fn t2b1_i32;
  tgemm_t2b1_f32_fn t2b1_f32;
  tgemm_t2t2_i32_fn t2t2_i32;
  tgemm_t2t2_f32_fn t2t2_f32;
};

const TgemmKernels& tgemm_kernels();            // table of active_isa() (ref if the family has no variant for it)
const TgemmKernels* tgemm_kernels_for(Isa isa);  // nullptr if this build or CPU cannot run that ISA's variant

void tgemm_t2b1_i32_ref(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                        const int32_t* w_nnz, const bword* x, size_t ldx, int32_t* c, size_t ldc, int threads);
void tgemm_t2b1_f32_ref(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                        const int32_t* w_nnz, const bword* x, size_t ldx, const float* scale, const float* bias,
                        float* c, size_t ldc, int threads);
void tgemm_t2t2_i32_ref(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                        const bword* xmask, const bword* xsign, size_t ldx, int32_t* c, size_t ldc, int threads);
void tgemm_t2t2_f32_ref(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw,
                        const bword* xmask, const bword* xsign, size_t ldx, const float* scale, const float* bias,
                        float* c, size_t ldc, int threads);

}  // namespace lowbit::kernels
