// Dispatch and validating entry points for ternary / bit-plane packing.
#include "kernels/pack/pack_planes.h"

namespace lowbit::kernels {

extern const PackPlanesKernels kPackPlanesRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
extern const PackPlanesKernels kPackPlanesAvx2;
extern const PackPlanesKernels kPackPlanesAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
extern const PackPlanesKernels kPackPlanesNeon;
#endif

const PackPlanesKernels* pack_planes_kernels_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  switch (isa) {
    case Isa::ref: return &kPackPlanesRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
    case Isa::avx2: return &kPackPlanesAvx2;
    case Isa::avx512: return &kPackPlanesAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
    case Isa::neon: return &kPackPlanesNeon;
#endif
    default: return nullptr;
  }
}

const PackPlanesKernels& pack_planes_kernels() {
  static const PackPlanesKernels* table = [] {
    const PackPlanesKernels* t = pack_planes_kernels_for(active_isa());
    return t ? t : &kPackPlanesRef;
  }();
  return *table;
}

Status pack_ternary_planes(const int8_t* src, size_t rows, size_t k, size_t lds, bword* mask, bword* sign,
                           size_t ldd) {
  if (rows == 0) return Status::ok;
  if (!src || !mask || !sign) return Status::null_pointer;
  if (k == 0 || lds < k || ldd < packed_words(k)) return Status::bad_size;
  return pack_planes_kernels().ternary(src, rows, k, lds, mask, sign, ldd) ? Status::ok : Status::out_of_range;
}

Status pack_bit_planes(const uint8_t* src, size_t rows, size_t k, size_t lds, int bits, bword* dst, size_t ldd) {
  if (rows == 0) return Status::ok;
  if (!src || !dst) return Status::null_pointer;
  if (k == 0 || lds < k || bits < 1 || bits > 8 || ldd < size_t(bits) * packed_words(k)) return Status::bad_size;
  return pack_planes_kernels().bit_planes(src, rows, k, lds, bits, dst, ldd) ? Status::ok : Status::out_of_range;
}

}  // namespace lowbit::kernels
