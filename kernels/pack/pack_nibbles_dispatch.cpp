// Dispatch and validating entry points for int4 / int2 packing. AVX-512 CPUs use the AVX2 variant: packing is a
// one-off, memory-bound pass over the weights, and the 256-bit version already runs at load/store speed.
#include "kernels/pack/pack_nibbles.h"
#include "kernels/dispatch_table.h"

namespace lowbit::kernels {

// The ISA variants are defined only where their files are built (kernels/dispatch_table.h).
extern const PackNibblesKernels kPackNibblesRef, kPackNibblesAvx2, kPackNibblesNeon;
constexpr IsaTables<PackNibblesKernels> kPackNibblesTables = {&kPackNibblesRef, LOWBIT_X86_VARIANT(kPackNibblesAvx2),
    LOWBIT_X86_VARIANT(kPackNibblesAvx2), LOWBIT_NEON_VARIANT(kPackNibblesNeon)};

const PackNibblesKernels* pack_nibbles_kernels_for(Isa isa) { return table_for_isa(isa, kPackNibblesTables); }

const PackNibblesKernels& pack_nibbles_kernels() {
  static const PackNibblesKernels& table = active_table(kPackNibblesTables);
  return table;
}

namespace {
Status check(const int8_t* src, size_t rows, size_t k, size_t lds, const uint8_t* dst, size_t ldd, size_t row_bytes) {
  if (!src || !dst) return Status::null_pointer;
  if (k == 0 || lds < k || ldd < row_bytes) return Status::bad_size;
  (void)rows;
  return Status::ok;
}
}  // namespace

Status pack_i4(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd) {
  if (rows == 0) return Status::ok;
  if (Status s = check(src, rows, k, lds, dst, ldd, packed_bytes_i4(k)); s != Status::ok) return s;
  return pack_nibbles_kernels().i4(src, rows, k, lds, dst, ldd) ? Status::ok : Status::out_of_range;
}

Status pack_i2(const int8_t* src, size_t rows, size_t k, size_t lds, uint8_t* dst, size_t ldd) {
  if (rows == 0) return Status::ok;
  if (Status s = check(src, rows, k, lds, dst, ldd, packed_bytes_i2(k)); s != Status::ok) return s;
  return pack_nibbles_kernels().i2(src, rows, k, lds, dst, ldd) ? Status::ok : Status::out_of_range;
}

}  // namespace lowbit::kernels
