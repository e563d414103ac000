// Dispatch for the bgemm family: one table per ISA, chosen once from kernels/isa.h.
#include "kernels/bgemm/bgemm.h"

namespace lowbit::kernels {

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
extern const BgemmKernels kBgemmAvx2;
extern const BgemmKernels kBgemmAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
extern const BgemmKernels kBgemmNeon;
#endif

const BgemmKernels* bgemm_kernels_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  switch (isa) {
    case Isa::ref: return &kBgemmRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
    case Isa::avx2: return &kBgemmAvx2;
    case Isa::avx512: return &kBgemmAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
    case Isa::neon: return &kBgemmNeon;
#endif
    default: return nullptr;
  }
}

const BgemmKernels& bgemm_kernels() {
  static const BgemmKernels* table = [] {
    const BgemmKernels* t = bgemm_kernels_for(active_isa());
    return t ? t : &kBgemmRef;
  }();
  return *table;
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
