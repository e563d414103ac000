// Dispatch for the sign-packing family: one table per ISA, chosen once from kernels/isa.h.
#include "kernels/pack/pack_bits.h"

namespace lowbit::kernels {

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
extern const PackBitsKernels kPackBitsAvx2;
extern const PackBitsKernels kPackBitsAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
extern const PackBitsKernels kPackBitsNeon;
#endif

const PackBitsKernels* pack_bits_kernels_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  switch (isa) {
    case Isa::ref: return &kPackBitsRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
    case Isa::avx2: return &kPackBitsAvx2;
    case Isa::avx512: return &kPackBitsAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
    case Isa::neon: return &kPackBitsNeon;
#endif
    default: return nullptr;
  }
}

const PackBitsKernels& pack_bits_kernels() {
  static const PackBitsKernels* table = [] {
    const PackBitsKernels* t = pack_bits_kernels_for(active_isa());
    return t ? t : &kPackBitsRef;
  }();
  return *table;
}

}  // namespace lowbit::kernels
