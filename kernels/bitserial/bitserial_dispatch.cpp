// Dispatch table selection for bitserial (kernels/bitserial/bitserial.h).
#include "kernels/bitserial/bitserial.h"
#include "kernels/dispatch_table.h"

namespace lowbit::kernels {

// The ISA variants are defined only where their files are built (kernels/dispatch_table.h).
extern const BitserialKernels kBitserialRef, kBitserialAvx2, kBitserialAvx512, kBitserialNeon;
constexpr IsaTables<BitserialKernels> kBitserialTables = {&kBitserialRef, LOWBIT_X86_VARIANT(kBitserialAvx2),
    LOWBIT_X86_VARIANT(kBitserialAvx512), LOWBIT_NEON_VARIANT(kBitserialNeon)};

const BitserialKernels* bitserial_kernels_for(Isa isa) { return table_for_isa(isa, kBitserialTables); }

const BitserialKernels& bitserial_kernels() {
  static const BitserialKernels& table = active_table(kBitserialTables);
  return table;
}

}  // namespace lowbit::kernels
