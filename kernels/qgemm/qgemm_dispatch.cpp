// Dispatch table selection for qgemm (kernels/qgemm/qgemm.h).
#include "kernels/qgemm/qgemm.h"
#include "kernels/dispatch_table.h"

namespace lowbit::kernels {

// The ISA variants are defined only where their files are built (kernels/dispatch_table.h).
extern const QgemmKernels kQgemmRef, kQgemmAvx2, kQgemmAvx512, kQgemmNeon;
constexpr IsaTables<QgemmKernels> kQgemmTables = {&kQgemmRef, LOWBIT_X86_VARIANT(kQgemmAvx2),
    LOWBIT_X86_VARIANT(kQgemmAvx512), LOWBIT_NEON_VARIANT(kQgemmNeon)};

const QgemmKernels* qgemm_kernels_for(Isa isa) { return table_for_isa(isa, kQgemmTables); }

const QgemmKernels& qgemm_kernels() {
  static const QgemmKernels& table = active_table(kQgemmTables);
  return table;
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
