// Dispatch for the bgemm family: one table per ISA, chosen once from kernels/isa.h (kernels/dispatch_table.h).
#include "kernels/bgemm/bgemm.h"
#include "kernels/dispatch_table.h"

namespace lowbit::kernels {

// The ISA variants are defined only where their files are built (kernels/dispatch_table.h).
extern const BgemmKernels kBgemmAvx2, kBgemmAvx512, kBgemmNeon;
constexpr IsaTables<BgemmKernels> kBgemmTables = {&kBgemmRef, LOWBIT_X86_VARIANT(kBgemmAvx2),
    LOWBIT_X86_VARIANT(kBgemmAvx512), LOWBIT_NEON_VARIANT(kBgemmNeon)};

const BgemmKernels* bgemm_kernels_for(Isa isa) { return table_for_isa(isa, kBgemmTables); }

const BgemmKernels& bgemm_kernels() {
  static const BgemmKernels& table = active_table(kBgemmTables);
  return table;
}

size_t bgemm_scratch_words_max(size_t N, size_t kw) {
  size_t words = 0;
  for (int i = 0; i < kIsaCount; ++i)
    if (const BgemmKernels* t = bgemm_kernels_for(static_cast<Isa>(i))) {
      const size_t w = t->scratch_words(N, kw);
      if (w > words) words = w;
    }
  return words;
}

}  // namespace lowbit::kernels
