// Reference bgemm (scalar, obviously right): for every (m, n), popcount the XOR of the two rows word by word,
// dot = K − 2·popcount − correction, then apply the output transform of bgemm.h. Rows are split over threads
// (i32/f32 by m, bits by n so that each thread owns whole output words).
#include "kernels/kassert.h"
#include "kernels/bgemm/bgemm.h"
#include "kernels/omp.h"

namespace lowbit::kernels {

namespace {

int64_t dot_ref(const BgemmOperands& op, size_t m, size_t n) {
  const bword* a = op.A + m * op.lda;
  const bword* b = op.B + n * op.ldb;
  int64_t pop = 0;
  for (size_t k = 0; k < op.kw; ++k) pop += __builtin_popcountll(a[k] ^ b[k]);
  int64_t dot = static_cast<int64_t>(op.K) - 2 * pop;
  if (op.col_class && op.col_class[n] != 0)
    dot -= op.class_corr[static_cast<size_t>(op.col_class[n]) * op.M + m];
  return dot;
}

void check_ops(const BgemmOperands& op) {
  LOWBIT_KASSERT(op.M > 0 && op.N > 0 && op.K > 0);
  LOWBIT_KASSERT(op.kw >= packed_words(op.K) && op.lda >= op.kw && op.ldb >= op.kw);
  LOWBIT_KASSERT(op.A && op.B && (!op.col_class || op.class_corr));
  (void)op;
}

int resolve(int threads) { return threads > 0 ? threads : default_threads(); }

}  // namespace

void bgemm_b1b1_i32_ref(const BgemmOperands& op, const BgemmOutI32& out, bword*, int threads) {
  check_ops(op);
  const long long M = static_cast<long long>(op.M);
  const int nt = resolve(threads);
  (void)nt;
  LOWBIT_OMP(parallel for num_threads(nt) schedule(static))
  for (long long m = 0; m < M; ++m)
    for (size_t n = 0; n < op.N; ++n)
      out.C[static_cast<size_t>(m) * out.cs_m + n * out.cs_n] = static_cast<int32_t>(dot_ref(op, m, n));
}

void bgemm_b1b1_f32_ref(const BgemmOperands& op, const BgemmOutF32& out, bword*, int threads) {
  check_ops(op);
  const long long M = static_cast<long long>(op.M);
  const int nt = resolve(threads);
  (void)nt;
  LOWBIT_OMP(parallel for num_threads(nt) schedule(static))
  for (long long m = 0; m < M; ++m) {
    const float s = out.scale ? out.scale[m] : 1.0f;
    const float b = out.bias ? out.bias[m] : 0.0f;
    for (size_t n = 0; n < op.N; ++n)
      out.C[static_cast<size_t>(m) * out.cs_m + n * out.cs_n] = bgemm_affine(s, dot_ref(op, m, n), b);
  }
}

void bgemm_b1b1_bits_ref(const BgemmOperands& op, const BgemmOutBits& out, bword*, int threads) {
  check_ops(op);
  LOWBIT_KASSERT(out.threshold && out.ldc >= packed_words(op.M));
  const long long N = static_cast<long long>(op.N);
  const size_t words = packed_words(op.M);
  const int nt = resolve(threads);
  (void)nt;
  LOWBIT_OMP(parallel for num_threads(nt) schedule(static))
  for (long long n = 0; n < N; ++n) {
    bword* row = out.C + static_cast<size_t>(n) * out.ldc;
    for (size_t w = 0; w < words; ++w) row[w] = 0;
    for (size_t m = 0; m < op.M; ++m) {
      bword bit = dot_ref(op, m, n) < out.threshold[m] ? 1u : 0u;
      if (out.flip) bit ^= (out.flip[m / kBitsPerWord] >> (m % kBitsPerWord)) & 1u;
      row[m / kBitsPerWord] |= bit << (m % kBitsPerWord);
    }
  }
}

size_t bgemm_scratch_words_ref(size_t, size_t) { return 0; }

const BgemmKernels kBgemmRef = {bgemm_b1b1_i32_ref, bgemm_b1b1_f32_ref, bgemm_b1b1_bits_ref,
                                bgemm_scratch_words_ref};

}  // namespace lowbit::kernels
