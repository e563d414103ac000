// Dispatch for the sign-packing family: one table per ISA, chosen once from kernels/isa.h.
#include "kernels/pack/pack_bits.h"
#include "kernels/dispatch_table.h"

namespace lowbit::kernels {

// The ISA variants are defined only where their files are built (kernels/dispatch_table.h).
extern const PackBitsKernels kPackBitsAvx2, kPackBitsAvx512, kPackBitsNeon;
constexpr IsaTables<PackBitsKernels> kPackBitsTables = {&kPackBitsRef, LOWBIT_X86_VARIANT(kPackBitsAvx2),
    LOWBIT_X86_VARIANT(kPackBitsAvx512), LOWBIT_NEON_VARIANT(kPackBitsNeon)};

const PackBitsKernels* pack_bits_kernels_for(Isa isa) { return table_for_isa(isa, kPackBitsTables); }

const PackBitsKernels& pack_bits_kernels() {
  static const PackBitsKernels& table = active_table(kPackBitsTables);
  return table;
}

}  // namespace lowbit::kernels
