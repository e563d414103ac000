// The Eigen peer built for the CPU it runs on: eigen_sgemm (declared in bench/common/peers.h) compiled with
// -march=native, so Eigen uses the widest packets this machine has (AVX-512 here) instead of the SSE2 packets of
// the project's portable flags.
//
// Why a shared library of its own (bench/CMakeLists.txt, lowbit_bench_eigen_native): the engine compiles the
// same Eigen templates without ISA flags. Linked into one program, identical template symbols with different
// bodies would violate the one-definition rule, and the linker would keep one of them for both callers. Built
// with hidden visibility, this library's Eigen instantiations stay local to it; only the functions marked
// LOWBIT_BENCH_EXPORT in peers.h are visible.
//
// C[M×N] = A[M×K] · B[K×N], row-major fp32. Eigen is single-threaded (EIGEN_DONT_PARALLELIZE); for threads > 1
// the rows of C are split into `threads` contiguous blocks, one Eigen product per block in an OpenMP team.
// g++ 12's AVX-512 headers implement _mm512_undefined_ps() as a self-initialised variable, and Eigen's AVX-512
// packets (unpack, broadcast) then draw -Wmaybe-uninitialized from inside <avx512fintrin.h> (a false positive,
// GCC bug 105593). Nothing in this file reads an uninitialised value.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

#include <algorithm>
#include <cstdint>

#include "bench/common/peers.h"
#include "kernels/omp.h"

namespace lowbit::bench::peers {

namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
}  // namespace

void eigen_sgemm(int M, int N, int K, const float* A, const float* B, float* C, int threads) {
  Eigen::Map<const RowMat> b(B, K, N);
  const int t = std::max(1, std::min(threads, M));
  if (t == 1) {
    Eigen::Map<RowMat>(C, M, N).noalias() = Eigen::Map<const RowMat>(A, M, K) * b;
    return;
  }
  LOWBIT_OMP(parallel for num_threads(t) schedule(static))
  for (int i = 0; i < t; ++i) {
    const int r0 = static_cast<int>(static_cast<int64_t>(M) * i / t);
    const int r1 = static_cast<int>(static_cast<int64_t>(M) * (i + 1) / t);
    if (r1 > r0)
      Eigen::Map<RowMat>(C + static_cast<size_t>(r0) * N, r1 - r0, N).noalias() =
          Eigen::Map<const RowMat>(A + static_cast<size_t>(r0) * K, r1 - r0, K) * b;
  }
}

const char* eigen_simd() { return Eigen::SimdInstructionSetsInUse(); }

}  // namespace lowbit::bench::peers
