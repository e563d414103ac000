#include "bench/common/peers.h"

#include <algorithm>
#include <cstdlib>

#include "kernels/omp.h"

#if defined(LOWBIT_HAVE_OPENBLAS)
#include <cblas.h>
#endif
#if defined(LOWBIT_HAVE_DNNL)
#include <oneapi/dnnl/dnnl.h>
#endif

namespace lowbit::bench::peers {

namespace {
#if defined(_OPENMP)
[[maybe_unused]] void set_omp_threads(int threads) { omp_set_num_threads(std::max(1, threads)); }
#else
[[maybe_unused]] void set_omp_threads(int) {}
#endif
[[maybe_unused]] std::string env_or_unset(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : "unset";
}

#if defined(LOWBIT_HAVE_DNNL)
const char* dnnl_isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}
#endif
}  // namespace

std::vector<std::pair<std::string, std::string>> peer_context() {
  std::vector<std::pair<std::string, std::string>> ctx;
  ctx.emplace_back("eigen_simd", eigen_simd());
#if defined(LOWBIT_HAVE_OPENBLAS)
  ctx.emplace_back("openblas_corename", openblas_get_corename());
  ctx.emplace_back("openblas_config", openblas_get_config());
  ctx.emplace_back("openblas_coretype_env", env_or_unset("OPENBLAS_CORETYPE"));
  ctx.emplace_back("openblas_l2_size_env", env_or_unset("OPENBLAS_L2_SIZE"));
#endif
#if defined(LOWBIT_HAVE_DNNL)
  const dnnl_version_t* v = dnnl_version();
  ctx.emplace_back("dnnl_version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                       std::to_string(v->patch));
  ctx.emplace_back("dnnl_effective_isa", dnnl_isa_name(dnnl_get_effective_cpu_isa()));
  ctx.emplace_back("dnnl_max_cpu_isa_env", env_or_unset("ONEDNN_MAX_CPU_ISA"));
#endif
  return ctx;
}

#if defined(LOWBIT_HAVE_OPENBLAS)
void openblas_sgemm(int M, int N, int K, const float* A, const float* B, float* C, int threads) {
  openblas_set_num_threads(std::max(1, threads));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K, B, N, 0.0f, C, N);
}

void openblas_sgemv(int M, int K, const float* A, const float* x, float* y, int threads) {
  openblas_set_num_threads(std::max(1, threads));
  cblas_sgemv(CblasRowMajor, CblasNoTrans, M, K, 1.0f, A, K, x, 1, 0.0f, y, 1);
}
#endif

#if defined(LOWBIT_HAVE_DNNL)
bool dnnl_gemm_u8s8s32(int M, int N, int K, const uint8_t* A, const int8_t* B, int32_t* C, int threads) {
  set_omp_threads(threads);
  const int32_t co = 0;
  return ::dnnl_gemm_u8s8s32('N', 'N', 'F', M, N, K, 1.0f, A, K, 0, B, N, 0, 0.0f, C, N, &co) == dnnl_success;
}

bool dnnl_gemv_s8u8s32(int M, int K, const int8_t* W, const uint8_t* x, int32_t* y, int threads) {
  set_omp_threads(threads);
  const int32_t co = 0;
  // y^T[1×M] = x^T[1×K] · W^T: B = W^T is given transposed, i.e. as W itself with ldb = K.
  return ::dnnl_gemm_u8s8s32('N', 'T', 'F', 1, M, K, 1.0f, x, K, 0, W, K, 0, 0.0f, y, M, &co) == dnnl_success;
}
#endif

void im2col(const ConvShape& s, const float* image, float* col, int threads) {
  const int OH = s.out_h(), OW = s.out_w();
  const size_t plane = static_cast<size_t>(OH) * OW;
  LOWBIT_OMP(parallel for num_threads(std::max(1, threads)) schedule(static))
  for (int c = 0; c < s.C; ++c) {
    const float* src = image + static_cast<size_t>(c) * s.H * s.W;
    for (int kh = 0; kh < s.KH; ++kh) {
      for (int kw = 0; kw < s.KW; ++kw) {
        float* dst = col + (static_cast<size_t>(c) * s.KH * s.KW + static_cast<size_t>(kh) * s.KW + kw) * plane;
        for (int oh = 0; oh < OH; ++oh) {
          const int ih = oh * s.stride - s.pad + kh;
          float* row = dst + static_cast<size_t>(oh) * OW;
          if (ih < 0 || ih >= s.H) {
            std::fill(row, row + OW, 0.0f);
            continue;
          }
          for (int ow = 0; ow < OW; ++ow) {
            const int iw = ow * s.stride - s.pad + kw;
            row[ow] = (iw >= 0 && iw < s.W) ? src[static_cast<size_t>(ih) * s.W + iw] : 0.0f;
          }
        }
      }
    }
  }
}

#if defined(LOWBIT_HAVE_OPENBLAS)
Im2colSgemmConv::Im2colSgemmConv(const ConvShape& s)
    : s_(s), col_(static_cast<size_t>(s.C) * s.KH * s.KW * s.out_h() * s.out_w()) {}

void Im2colSgemmConv::run(const float* input, const float* weights, float* output, int threads) {
  const int OHW = s_.out_h() * s_.out_w();
  const int CKK = s_.C * s_.KH * s_.KW;
  const int t = std::max(1, threads);
  // One thread pool only: OpenMP threads each run a single-threaded OpenBLAS sgemm on their block. Mixing an
  // OpenMP im2col with OpenBLAS's own pthread pool makes the two pools spin against each other on 2 CPUs
  // (measured: 2 threads 10x slower than 1 under chrt -f 10).
  openblas_set_num_threads(1);
  for (int n = 0; n < s_.N; ++n) {
    const float* image = input + static_cast<size_t>(n) * s_.C * s_.H * s_.W;
    float* out = output + static_cast<size_t>(n) * s_.Cout * OHW;
    float* col = col_.data();
    const ConvShape& s = s_;
    LOWBIT_OMP(parallel num_threads(t)) {
#if defined(_OPENMP)
      const int id = omp_get_thread_num(), nt = omp_get_num_threads();
#else
      const int id = 0, nt = 1;
#endif
      // im2col, channels split across the threads.
      const int c0 = static_cast<int>(static_cast<int64_t>(s.C) * id / nt);
      const int c1 = static_cast<int>(static_cast<int64_t>(s.C) * (id + 1) / nt);
      ConvShape part = s;
      part.C = c1 - c0;
      if (part.C > 0)
        im2col(part, image + static_cast<size_t>(c0) * s.H * s.W,
               col + static_cast<size_t>(c0) * s.KH * s.KW * OHW, 1);
      LOWBIT_OMP(barrier)
      // GEMM W[Cout×CKK] · col[CKK×OHW], split along the larger output dimension.
      if (s.Cout >= OHW) {
        const int r0 = static_cast<int>(static_cast<int64_t>(s.Cout) * id / nt);
        const int r1 = static_cast<int>(static_cast<int64_t>(s.Cout) * (id + 1) / nt);
        if (r1 > r0)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, OHW, CKK, 1.0f,
                      weights + static_cast<size_t>(r0) * CKK, CKK, col, OHW, 0.0f,
                      out + static_cast<size_t>(r0) * OHW, OHW);
      } else {
        const int j0 = static_cast<int>(static_cast<int64_t>(OHW) * id / nt);
        const int j1 = static_cast<int>(static_cast<int64_t>(OHW) * (id + 1) / nt);
        if (j1 > j0)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.Cout, j1 - j0, CKK, 1.0f, weights, CKK,
                      col + j0, OHW, 0.0f, out + j0, OHW);
      }
    }
  }
}
#endif

}  // namespace lowbit::bench::peers
