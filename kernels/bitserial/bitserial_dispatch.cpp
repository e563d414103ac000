// Dispatch table selection for bitserial (kernels/bitserial/bitserial.h).
#include "kernels/bitserial/bitserial.h"

namespace lowbit::kernels {

extern const BitserialKernels kBitserialRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
extern const BitserialKernels kBitserialAvx2;
extern const BitserialKernels kBitserialAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
extern const BitserialKernels kBitserialNeon;
#endif

const BitserialKernels* bitserial_kernels_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  switch (isa) {
    case Isa::ref: return &kBitserialRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
    case Isa::avx2: return &kBitserialAvx2;
    case Isa::avx512: return &kBitserialAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
    case Isa::neon: return &kBitserialNeon;
#endif
    default: return nullptr;
  }
}

const BitserialKernels& bitserial_kernels() {
  static const BitserialKernels* table = [] {
    const BitserialKernels* t = bitserial_kernels_for(active_isa());
    return t ? t : &kBitserialRef;
  }();
  return *table;
}

}  // namespace lowbit::kernels
