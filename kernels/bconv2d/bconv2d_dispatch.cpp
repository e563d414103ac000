// Dispatch for the bconv2d family (one table per ISA, chosen once from kernels/isa.h through
// kernels/dispatch_table.h) and the shape check.
#include "kernels/bconv2d/bconv2d.h"
#include "kernels/dispatch_table.h"

namespace lowbit::kernels {

// The ISA variants are defined only where their files are built (kernels/dispatch_table.h).
extern const Bconv2dKernels kBconv2dAvx2, kBconv2dAvx512, kBconv2dNeon;
constexpr IsaTables<Bconv2dKernels> kBconv2dTables = {&kBconv2dRef, LOWBIT_X86_VARIANT(kBconv2dAvx2),
    LOWBIT_X86_VARIANT(kBconv2dAvx512), LOWBIT_NEON_VARIANT(kBconv2dNeon)};

ConvGeom Bconv2dShape::geom() const {
  ConvGeom g;
  g.N = ext(batch), g.C = ext(in_c), g.H = ext(in_h), g.W = ext(in_w), g.O = ext(out_c);
  g.KH = ext(kernel_h), g.KW = ext(kernel_w), g.SH = ext(stride_h), g.SW = ext(stride_w);
  g.PH = ext(pad_h), g.PW = ext(pad_w), g.G = 1;
  ConvGeom checked = g;
  return conv_geom_finish(checked) == Status::ok ? checked : g;
}

Status bconv2d_check(const Bconv2dShape& s) {
  if (s.batch == 0 || s.out_c == 0) return Status::bad_size;
  if (s.kernel_h > 4096 || s.kernel_w > 4096 || s.pad_h > 4096 || s.pad_w > 4096) return Status::bad_size;
  ConvGeom g = s.geom();
  return conv_geom_finish(g);
}

const Bconv2dKernels* bconv2d_kernels_for(Isa isa) { return table_for_isa(isa, kBconv2dTables); }

const Bconv2dKernels& bconv2d_kernels() {
  static const Bconv2dKernels& table = active_table(kBconv2dTables);
  return table;
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
