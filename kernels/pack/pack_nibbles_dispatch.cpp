// Dispatch and validating entry points for int4 / int2 packing. AVX-512 CPUs use the AVX2 variant: packing is a
// one-off, memory-bound pass over the weights, and the 256-bit version already runs at load/store speed.
#include "kernels/pack/pack_nibbles.h"

namespace lowbit::kernels {

extern const PackNibblesKernels kPackNibblesRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
extern const PackNibblesKernels kPackNibblesAvx2;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
extern const PackNibblesKernels kPackNibblesNeon;
#endif

const PackNibblesKernels* pack_nibbles_kernels_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  switch (isa) {
    case Isa::ref: return &kPackNibblesRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
    case Isa::avx2:
    case Isa::avx512: return &kPackNibblesAvx2;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
    case Isa::neon: return &kPackNibblesNeon;
#endif
    default: return nullptr;
  }
}

const PackNibblesKernels& pack_nibbles_kernels() {
  static const PackNibblesKernels* table = [] {
    const PackNibblesKernels* t = pack_nibbles_kernels_for(active_isa());
    return t ? t : &kPackNibblesRef;
  }();
  return *table;
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
