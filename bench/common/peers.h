// Same-run baselines for the kernel benchmarks: the fp32 and int8 libraries a user would otherwise call.
//
// All matrices are row-major and dense (leading dimension = row length). `threads` ≥ 1 is applied to the
// library for that call:
//   OpenBLAS   openblas_set_num_threads(threads) (Debian's pthread build; its own thread pool)
//   Eigen      compiled for this CPU (-march=native) in a library of its own, bench/native/eigen_native.cpp;
//              EIGEN_DONT_PARALLELIZE, so Eigen itself is single-threaded; for threads > 1 we split the rows
//              of C into `threads` contiguous blocks and run one Eigen product per block in an OpenMP parallel
//              region (the same way the engine parallelises at its own level)
//   oneDNN     omp_set_num_threads(threads) before the call (Debian's libdnnl is built with OpenMP)
// Each function exists only when its library was found (LOWBIT_HAVE_OPENBLAS, LOWBIT_HAVE_DNNL; Eigen is always
// there); guard calls with the same macros. Pointers need no particular alignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

// The Eigen peer lives in a shared library built with hidden visibility (see bench/native/eigen_native.cpp);
// these are the functions it exports.
#define LOWBIT_BENCH_EXPORT __attribute__((visibility("default")))

namespace lowbit::bench::peers {

// Eigen built with -march=native: C[M×N] = A[M×K] · B[K×N] (fp32).
LOWBIT_BENCH_EXPORT void eigen_sgemm(int M, int N, int K, const float* A, const float* B, float* C, int threads);
// The SIMD instruction sets that Eigen build uses (Eigen::SimdInstructionSetsInUse(), e.g. "AVX512, FMA, ...").
LOWBIT_BENCH_EXPORT const char* eigen_simd();

// What each linked peer runs as, for the JSON context (bench_util's add_machine_context): the Eigen build's SIMD
// sets; OpenBLAS's openblas_get_corename() / openblas_get_config() and the OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
// this process saw (scripts/bench.sh unsets both: a machine-wide OPENBLAS_CORETYPE=Haswell holds OpenBLAS to its
// AVX2 kernel); oneDNN's version, effective ISA and ONEDNN_MAX_CPU_ISA.
std::vector<std::pair<std::string, std::string>> peer_context();

#if defined(LOWBIT_HAVE_OPENBLAS)
// OpenBLAS cblas_sgemm: C[M×N] = A[M×K] · B[K×N] (fp32, NoTrans/NoTrans, alpha 1, beta 0).
void openblas_sgemm(int M, int N, int K, const float* A, const float* B, float* C, int threads);
// OpenBLAS cblas_sgemv: y[M] = A[M×K] · x[K].
void openblas_sgemv(int M, int K, const float* A, const float* x, float* y, int threads);
#endif

#if defined(LOWBIT_HAVE_DNNL)
// oneDNN dnnl_gemm_u8s8s32: C[M×N] (int32) = A[M×K] (uint8) · B[K×N] (int8), zero offsets. Returns false
// (and leaves C unspecified) if oneDNN reports an error.
bool dnnl_gemm_u8s8s32(int M, int N, int K, const uint8_t* A, const int8_t* B, int32_t* C, int threads);
// GEMV through the same call with N=1 and the weights transposed: y[M] (int32) = W[M×K] (int8) · x[K] (uint8),
// computed as y^T[1×M] = x^T[1×K] · W^T (transb = 'T', so W stays in its row-major M×K layout).
bool dnnl_gemv_s8u8s32(int M, int K, const int8_t* W, const uint8_t* x, int32_t* y, int threads);
#endif

// fp32 convolution shape, NCHW input, OIHW weights, symmetric zero padding.
struct ConvShape {
  int N, C, H, W, Cout, KH, KW, stride, pad;
  int out_h() const { return (H + 2 * pad - KH) / stride + 1; }
  int out_w() const { return (W + 2 * pad - KW) / stride + 1; }
  // 2 · MACs of the whole convolution.
  double ops() const {
    return 2.0 * N * Cout * static_cast<double>(out_h()) * out_w() * static_cast<double>(C) * KH * KW;
  }
};

// col[(c·KH + kh)·KW + kw][oh·OW + ow] = input pixel (or 0 in the padding) for one image [C×H×W].
// Parallel over channels with `threads` OpenMP threads.
void im2col(const ConvShape& s, const float* image, float* col, int threads);

#if defined(LOWBIT_HAVE_OPENBLAS)
// The fp32 conv baseline: for each image, im2col then OpenBLAS sgemm W[Cout × C·KH·KW] · col → out[Cout × OH·OW].
// Holds the im2col buffer so that run() does not allocate (as a deployed conv would). Threads: one OpenMP team
// does both steps (im2col split over channels, the GEMM split over output rows or columns, each block a
// single-threaded OpenBLAS call), because OpenBLAS's own pool and OpenMP's spin against each other.
class Im2colSgemmConv {
 public:
  explicit Im2colSgemmConv(const ConvShape& s);
  // input [N,C,H,W], weights [Cout,C,KH,KW], output [N,Cout,OH,OW].
  void run(const float* input, const float* weights, float* output, int threads);
  const ConvShape& shape() const { return s_; }

 private:
  ConvShape s_;
  std::vector<float> col_;
};
#endif

}  // namespace lowbit::bench::peers
