// Dispatch table selection for tgemm (kernels/tgemm/tgemm.h).
#include "kernels/tgemm/tgemm.h"
#include "kernels/dispatch_table.h"

namespace lowbit::kernels {

// The ISA variants are defined only where their files are built (kernels/dispatch_table.h).
extern const TgemmKernels kTgemmRef, kTgemmAvx2, kTgemmAvx512, kTgemmNeon;
constexpr IsaTables<TgemmKernels> kTgemmTables = {&kTgemmRef, LOWBIT_X86_VARIANT(kTgemmAvx2),
    LOWBIT_X86_VARIANT(kTgemmAvx512), LOWBIT_NEON_VARIANT(kTgemmNeon)};

const TgemmKernels* tgemm_kernels_for(Isa isa) { return table_for_isa(isa, kTgemmTables); }

const TgemmKernels& tgemm_kernels() {
  static const TgemmKernels& table = active_table(kTgemmTables);
  return table;
}

}  // namespace lowbit::kernels
