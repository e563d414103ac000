// Dispatch table selection for tgemm (kernels/tgemm/tgemm.h).
#include "kernels/tgemm/tgemm.h"

namespace lowbit::kernels {

extern const TgemmKernels kTgemmRef;
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
extern const TgemmKernels kTgemmNeon;
#endif

const TgemmKernels* tgemm_kernels_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  switch (isa) {
    case Isa::ref: return &kTgemmRef;
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
