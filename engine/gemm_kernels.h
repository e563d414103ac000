// Internal: the single-threaded sgemm variants behind engine/gemm.h, one per ISA translation unit
// (gemm.cpp: Eigen, portable; gemm_avx512.cpp: packed AVX-512 micro-kernel). Same contract as sgemm_serial.
#pragma once
#include <cstdint>

#include "engine/gemm.h"

namespace lowbit::gemm_detail {

using SgemmFn = void (*)(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                         int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

void sgemm_eigen(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
void sgemm_eigen_cb(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                    PackBFn pack, const void* ctx, float beta, float* C, int64_t ldc);
#if defined(__x86_64__) || defined(_M_X64)
void sgemm_avx512_cb(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                     PackBFn pack, const void* ctx, float beta, float* C, int64_t ldc);
// op(A) packed once (sgemm_avx512_pack_a into sgemm_avx512_packed_a_size(M, K) floats), then any number of
// products with it.
int64_t sgemm_avx512_packed_a_size(int64_t M, int64_t K);
void sgemm_avx512_pack_a(bool trans_a, const float* A, int64_t lda, int64_t M, int64_t K, float* dst);
void sgemm_avx512_cb_packed(const float* packed_a, int64_t M, int64_t N, int64_t K, float alpha, PackBFn pack,
                            const void* ctx, float beta, float* C, int64_t ldc);
void sgemm_avx512(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
#endif

}  // namespace lowbit::gemm_detail
