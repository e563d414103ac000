// Dispatch table selection for tgemm (kernels/tgemm/tgemm.h).
#include "kernels/tgemm/tgemm.h"

namespace lowbit::kernels {

extern const TgemmKernels kTgemmRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
extern const TgemmKernels kTgemmAvx2;
extern const TgemmKernels kTgemmAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
extern const TgemmKernels kTgemmNeon;
#endif

const TgemmKernels* tgemm_kernels_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  switch (isa) {
    case Isa::ref: return &kTgemmRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
    case Isa::avx2: return &kTgemmAvx2;
    case Isa::avx512: return &kTgemmAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
    case Isa::neon: return &kTgemmNeon;
#endif
    default: return nullptr;
  }
}

const TgemmKernels& tgemm_kernels() {
  static const TgemmKernels* table = [] {
    const TgemmKernels* t = tgemm_kernels_for(active_isa());
    return t ? t : &kTgemmRef;
  }();
  return *table;
}

}  // namespace lowbit::kernels
