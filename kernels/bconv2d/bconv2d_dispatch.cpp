// Dispatch for the bconv2d family (one table per ISA, chosen once from kernels/isa.h) and the shape check.
#include "kernels/bconv2d/bconv2d.h"

namespace lowbit::kernels {

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
extern const Bconv2dKernels kBconv2dAvx2;
extern const Bconv2dKernels kBconv2dAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
extern const Bconv2dKernels kBconv2dNeon;
#endif

Status bconv2d_check(const Bconv2dShape& s) {
  if (s.batch == 0 || s.in_h == 0 || s.in_w == 0 || s.in_c == 0 || s.out_c == 0) return Status::bad_size;
  if (s.kernel_h == 0 || s.kernel_w == 0 || s.stride_h == 0 || s.stride_w == 0) return Status::bad_size;
  if (s.in_h + 2 * s.pad_h < s.kernel_h || s.in_w + 2 * s.pad_w < s.kernel_w) return Status::bad_size;
  if (s.kernel_h > 4096 || s.kernel_w > 4096 || s.pad_h > 4096 || s.pad_w > 4096) return Status::bad_size;
  return Status::ok;
}

const Bconv2dKernels* bconv2d_kernels_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  switch (isa) {
    case Isa::ref: return &kBconv2dRef;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
    case Isa::avx2: return &kBconv2dAvx2;
    case Isa::avx512: return &kBconv2dAvx512;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
    case Isa::neon: return &kBconv2dNeon;
#endif
    default: return nullptr;
  }
}

const Bconv2dKernels& bconv2d_kernels() {
  static const Bconv2dKernels* table = [] {
    const Bconv2dKernels* t = bconv2d_kernels_for(active_isa());
    return t ? t : &kBconv2dRef;
  }();
  return *table;
}

size_t bconv2d_scratch_words_max(const Bconv2dShape& s) {
  size_t words = 0;
  for (int i = 0; i < kIsaCount; ++i)
    if (const Bconv2dKernels* t = bconv2d_kernels_for(static_cast<Isa>(i))) {
      const size_t w = t->scratch_words(s);
      if (w > words) words = w;
    }
  return words;
}

}  // namespace lowbit::kernels
