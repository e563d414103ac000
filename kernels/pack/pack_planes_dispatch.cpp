// Dispatch and validating entry points for ternary / bit-plane packing.
#include "kernels/pack/pack_planes.h"
#include "kernels/dispatch_table.h"

namespace lowbit::kernels {

// The ISA variants are defined only where their files are built (kernels/dispatch_table.h).
extern const PackPlanesKernels kPackPlanesRef, kPackPlanesAvx2, kPackPlanesAvx512, kPackPlanesNeon;
constexpr IsaTables<PackPlanesKernels> kPackPlanesTables = {&kPackPlanesRef, LOWBIT_X86_VARIANT(kPackPlanesAvx2),
    LOWBIT_X86_VARIANT(kPackPlanesAvx512), LOWBIT_NEON_VARIANT(kPackPlanesNeon)};

const PackPlanesKernels* pack_planes_kernels_for(Isa isa) { return table_for_isa(isa, kPackPlanesTables); }

const PackPlanesKernels& pack_planes_kernels() {
  static const PackPlanesKernels& table = active_table(kPackPlanesTables);
  return table;
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
