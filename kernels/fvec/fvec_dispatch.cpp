// Dispatch table selection for fvec (kernels/fvec/fvec.h).
#include "kernels/fvec/fvec.h"
#include "kernels/dispatch_table.h"

namespace lowbit::kernels {

// The ISA variants are defined only where their files are built (kernels/dispatch_table.h).
extern const FvecKernels kFvecRef, kFvecAvx2, kFvecAvx512, kFvecNeon;
constexpr IsaTables<FvecKernels> kFvecTables = {&kFvecRef, LOWBIT_X86_VARIANT(kFvecAvx2),
    LOWBIT_X86_VARIANT(kFvecAvx512), LOWBIT_NEON_VARIANT(kFvecNeon)};

const FvecKernels* fvec_kernels_for(Isa isa) { return table_for_isa(isa, kFvecTables); }

const FvecKernels& fvec_kernels() {
  static const FvecKernels& table = active_table(kFvecTables);
  return table;
}

}  // namespace lowbit::kernels
