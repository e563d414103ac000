// The entry points of the SIMD tgemm variants (tgemm_avx2.cpp, tgemm_avx512.cpp), shared: the checks and the
// plane pointers handed to the ISA's plane-GEMM driver (kernels/tgemm/plane_gemm_*.h). Private to kernels/.
//
// A variant defines its table as tgemm_driver::kernels_table<Driver, T2B1, T2T2>() with
//   Driver       its plane-GEMM driver type (plane_gemm_avx2::Driver, plane_gemm::Driver)
//   T2B1, T2T2   its Ops for weights {mask, sign} × activations {x} / {mask, sign}, defined in the variant's
//                anonymous namespace, so every template below is instantiated separately in each ISA's
//                translation unit (and compiled with that file's ISA flags).
// The nonzero count w_nnz[m] of t2 × b1 is the row base (dot = nnz − 2·neg); float outputs use scale[m] with
// scale_mul = 1.
#pragma once
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "kernels/kassert.h"
#include "kernels/omp.h"
#include "kernels/tgemm/plane_gemm_args.h"
#include "kernels/tgemm/tgemm.h"

namespace lowbit::kernels::tgemm_driver {

// Checks the shapes, then runs Op over planes w = {wmask, wsign} and x = xp[0..XP).
template <class Driver, class Op, int XP, class Out>
void run(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw, const int32_t* row_base,
         const bword* const (&xp)[XP], size_t ldx, const float* scale, const float* bias, Out* c, size_t ldc,
         int threads) {
  LOWBIT_KASSERT(M > 0 && N > 0 && K > 0 && ldw >= packed_words(K) && ldx >= packed_words(K) && ldc >= N &&
                 (scale || !std::is_same_v<Out, float>));
  const bword* wp[2] = {wmask, wsign};
  const plane_gemm::Args a{M, N, K, wp, ldw, xp, ldx, row_base, nullptr, scale, bias, 1.0f};
  Driver::template run<Op>(a, c, ldc, threads > 0 ? threads : default_threads());
}

// The entry points, with the signatures of the table (kernels/tgemm/tgemm.h).
template <class Driver, class T2B1, class T2T2>
void t2b1_i32(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw, const int32_t* w_nnz,
              const bword* x, size_t ldx, int32_t* c, size_t ldc, int threads) {
  const bword* xp[1] = {x};
  run<Driver, T2B1>(M, N, K, wmask, wsign, ldw, w_nnz, xp, ldx, nullptr, nullptr, c, ldc, threads);
}

template <class Driver, class T2B1, class T2T2>
void t2b1_f32(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw, const int32_t* w_nnz,
              const bword* x, size_t ldx, const float* scale, const float* bias, float* c, size_t ldc, int threads) {
  const bword* xp[1] = {x};
  run<Driver, T2B1>(M, N, K, wmask, wsign, ldw, w_nnz, xp, ldx, scale, bias, c, ldc, threads);
}

template <class Driver, class T2B1, class T2T2>
void t2t2_i32(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw, const bword* xmask,
              const bword* xsign, size_t ldx, int32_t* c, size_t ldc, int threads) {
  const bword* xp[2] = {xmask, xsign};
  run<Driver, T2T2>(M, N, K, wmask, wsign, ldw, nullptr, xp, ldx, nullptr, nullptr, c, ldc, threads);
}

template <class Driver, class T2B1, class T2T2>
void t2t2_f32(size_t M, size_t N, size_t K, const bword* wmask, const bword* wsign, size_t ldw, const bword* xmask,
              const bword* xsign, size_t ldx, const float* scale, const float* bias, float* c, size_t ldc,
              int threads) {
  const bword* xp[2] = {xmask, xsign};
  run<Driver, T2T2>(M, N, K, wmask, wsign, ldw, nullptr, xp, ldx, scale, bias, c, ldc, threads);
}

template <class Driver, class T2B1, class T2T2>
constexpr TgemmKernels kernels_table() {
  return {t2b1_i32<Driver, T2B1, T2T2>, t2b1_f32<Driver, T2B1, T2T2>, t2t2_i32<Driver, T2B1, T2T2>,
          t2t2_f32<Driver, T2B1, T2T2>};
}

}  // namespace lowbit::kernels::tgemm_driver
