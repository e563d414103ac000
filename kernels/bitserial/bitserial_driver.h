// The ISA-independent half of the SIMD bitserial variants (bitserial_avx2.cpp, bitserial_avx512.cpp): the
// checks, the plane pointers, the (wbits, xbits) dispatch and the DoReFa column base. Private to kernels/.
//
// A variant defines its table as bitserial_driver::kernels_table<Driver, Op>() with
//   Driver  its plane-GEMM driver type (plane_gemm_avx2::Driver, plane_gemm::Driver: kernels/tgemm/plane_gemm_*.h)
//   Op   template <int WB, int XB, bool DOUBLE> struct: its plane-GEMM Op for these widths (DOUBLE: partial()
//        returns 2·D, see below), defined in the variant's anonymous namespace, so every template below is
//        instantiated separately in each ISA's translation unit (and compiled with that file's ISA flags).
//
// Widths. There is one instantiation per (wbits, xbits) ∈ [1, 4]² (the register tile depends on both), picked
// through a constexpr table indexed by (wbits − 1)·4 + (xbits − 1).
//
// DoReFa (math in kernels/bitserial/bitserial.h). S = 2·D − (2^k − 1)·x_sum[n] is linear in D, so chunks
// contribute 2·D (DOUBLE) and the column term −(2^k − 1)·x_sum[n] is added once as the driver's column base,
// computed for up to kColBaseChunk columns at a time in a stack buffer (no allocation).
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "kernels/bitserial/bitserial.h"
#include "kernels/kassert.h"
#include "kernels/omp.h"
#include "kernels/tgemm/plane_gemm_args.h"  // plane_gemm::Args

namespace lowbit::kernels::bitserial_driver {

// One call's operands; the plane pointers are derived per width in run_widths.
struct Call {
  size_t M, N, K;
  const bword* w;
  size_t ldw;
  const bword* x;
  size_t ldx;
  const int32_t* col_base;
  const float* scale;
  const float* bias;
  float scale_mul;
};

template <class Driver, template <int, int, bool> class Op, int WB, int XB, bool DOUBLE, class Out>
void run_widths(const Call& c, Out* out, size_t ldc, int threads) {
  const size_t words = packed_words(c.K);
  const bword* wp[WB];
  const bword* xp[XB];
  #pragma GCC unroll 16
  for (int i = 0; i < WB; ++i) wp[i] = c.w + size_t(i) * words;
  #pragma GCC unroll 16
  for (int j = 0; j < XB; ++j) xp[j] = c.x + size_t(j) * words;
  const plane_gemm::Args a{c.M, c.N, c.K, wp, c.ldw, xp, c.ldx, nullptr, c.col_base, c.scale, c.bias, c.scale_mul};
  Driver::template run<Op<WB, XB, DOUBLE>>(a, out, ldc, threads);
}

template <class Out>
using WidthFn = void (*)(const Call&, Out*, size_t, int);

template <class Driver, template <int, int, bool> class Op, bool DOUBLE, class Out, int... I>
constexpr auto width_table(std::integer_sequence<int, I...>) {
  return std::array<WidthFn<Out>, sizeof...(I)>{run_widths<Driver, Op, I / 4 + 1, I % 4 + 1, DOUBLE, Out>...};
}

template <class Driver, template <int, int, bool> class Op, bool DOUBLE, class Out>
void run_any(int wbits, int xbits, const Call& c, Out* out, size_t ldc, int threads) {
  static constexpr auto table = width_table<Driver, Op, DOUBLE, Out>(std::make_integer_sequence<int, 16>{});
  table[size_t((wbits - 1) * 4 + (xbits - 1))](c, out, ldc, threads > 0 ? threads : default_threads());
}

// Internal linkage: every ISA translation unit gets its own copy, compiled with its own flags.
namespace {
inline void check(size_t M, size_t N, size_t K, int wbits, size_t ldw, int xbits, size_t ldx, size_t ldc) {
  (void)M, (void)N, (void)K, (void)wbits, (void)ldw, (void)xbits, (void)ldx, (void)ldc;
  LOWBIT_KASSERT(M > 0 && N > 0 && K > 0 && wbits >= 1 && wbits <= kBitserialMaxBits && xbits >= 1 &&
                 xbits <= kBitserialMaxBits && ldw >= size_t(wbits) * packed_words(K) &&
                 ldx >= size_t(xbits) * packed_words(K) && ldc >= N);
}
}  // namespace

inline constexpr size_t kColBaseChunk = 1024;

template <class Driver, template <int, int, bool> class Op, class Out>
void dorefa(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits, const bword* x,
            size_t ldx, const int32_t* x_sum, const float* scale, const float* bias, Out* c, size_t ldc,
            int threads) {
  int32_t base[kColBaseChunk];
  const float mul = bitserial_dorefa_inv(wbits, xbits);
  for (size_t n0 = 0; n0 < N; n0 += kColBaseChunk) {
    const size_t nn = N - n0 < kColBaseChunk ? N - n0 : kColBaseChunk;
    for (size_t n = 0; n < nn; ++n) base[n] = bitserial_dorefa_s(0, wbits, x_sum[n0 + n]);
    run_any<Driver, Op, true>(wbits, xbits, Call{M, nn, K, w, ldw, x + n0 * ldx, ldx, base, scale, bias, mul}, c + n0,
                         ldc, threads);
  }
}

// The entry points, with the signatures of the table (kernels/bitserial/bitserial.h).
template <class Driver, template <int, int, bool> class Op>
void i32(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits, const bword* x, size_t ldx,
         int32_t* c, size_t ldc, int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  const Call call{M, N, K, w, ldw, x, ldx, nullptr, nullptr, nullptr, 1.0f};
  run_any<Driver, Op, false>(wbits, xbits, call, c, ldc, threads);
}

template <class Driver, template <int, int, bool> class Op>
void dorefa_i32(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits, const bword* x,
                size_t ldx, const int32_t* x_sum, int32_t* c, size_t ldc, int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  dorefa<Driver, Op>(M, N, K, wbits, w, ldw, xbits, x, ldx, x_sum, nullptr, nullptr, c, ldc, threads);
}

template <class Driver, template <int, int, bool> class Op>
void dorefa_f32(size_t M, size_t N, size_t K, int wbits, const bword* w, size_t ldw, int xbits, const bword* x,
                size_t ldx, const int32_t* x_sum, const float* scale, const float* bias, float* c, size_t ldc,
                int threads) {
  check(M, N, K, wbits, ldw, xbits, ldx, ldc);
  LOWBIT_KASSERT(scale != nullptr);
  dorefa<Driver, Op>(M, N, K, wbits, w, ldw, xbits, x, ldx, x_sum, scale, bias, c, ldc, threads);
}

template <class Driver, template <int, int, bool> class Op>
constexpr BitserialKernels kernels_table() {
  return {i32<Driver, Op>, dorefa_i32<Driver, Op>, dorefa_f32<Driver, Op>};
}

}  // namespace lowbit::kernels::bitserial_driver
