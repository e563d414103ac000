// Dispatch table selection for qgemm (kernels/qgemm/qgemm.h).
#include "kernels/qgemm/qgemm.h"

namespace lowbit::kernels {

extern const QgemmKernels kQgemmRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
extern const QgemmKernels kQgemmAvx2;
extern const QgemmKernels kQgemmAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
extern const QgemmKernels kQgemmNeon;
#endif

const QgemmKernels* qgemm_kernels_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  switch (isa) {
    case Isa::ref: return &kQgemmRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
    case Isa::avx2: return &kQgemmAvx2;
    case Isa::avx512: return &kQgemmAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
    case Isa::neon: return &kQgemmNeon;
#endif
    default: return nullptr;
  }
}

const QgemmKernels& qgemm_kernels() {
  static const QgemmKernels* table = [] {
    const QgemmKernels* t = qgemm_kernels_for(active_isa());
    return t ? t : &kQgemmRef;
  }();
  return *table;
}

void qgemm_i32(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, int32_t* c, size_t ldc,
               int threads) {
  qgemm_kernels().i32[static_cast<int>(w.wtype)](w, N, x, ldx, x_zero, c, ldc, threads);
}

void qgemm_f32(const QgemmWeights& w, size_t N, const uint8_t* x, size_t ldx, int32_t x_zero, const float* scale,
               const float* bias, float* c, size_t ldc, int threads) {
  qgemm_kernels().f32[static_cast<int>(w.wtype)](w, N, x, ldx, x_zero, scale, bias, c, ldc, threads);
}

}  // namespace lowbit::kernels
