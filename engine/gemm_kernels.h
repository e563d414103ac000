// Internal: the single-threaded sgemm variants behind engine/gemm.h, one per ISA translation unit
// (gemm.cpp: Eigen, portable; gemm_avx512.cpp: packed AVX-512 micro-kernel). Same contract as sgemm_serial.
#pragma once
#include <cstdint>

#include "engine/gemm.h"
#include "kernels/isa.h"

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

// One table per ISA (kernels/dispatch_table.h): the packed AVX-512 micro-kernel, Eigen as the reference (AVX2 and
// NEON CPUs use it too). sgemm_serial* run the table of kernels::active_isa().
struct SgemmKernels {
  SgemmFn dense;
  void (*cb)(bool trans_a, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda, PackBFn pack,
             const void* ctx, float beta, float* C, int64_t ldc);
  // Packed-A entry points; null where the kernel does not pack A (the Eigen path uses A as stored).
  int64_t (*packed_a_size)(int64_t M, int64_t K);
  void (*pack_a)(bool trans_a, const float* A, int64_t lda, int64_t M, int64_t K, float* dst);
  void (*cb_packed)(const float* packed_a, int64_t M, int64_t N, int64_t K, float alpha, PackBFn pack,
                    const void* ctx, float beta, float* C, int64_t ldc);
};
// nullptr if this build or CPU cannot run that ISA's table (the reference is never null).
const SgemmKernels* sgemm_kernels_for(kernels::Isa isa);

}  // namespace lowbit::gemm_detail
