// The shared half of every family's <family>_dispatch.cpp: which ISA variants this build compiles, the family's
// table for one ISA, and the table of active_isa() (kernels/isa.h).
//
// A family lists its tables once, one per Isa, wrapping each variant in the macro of its architecture:
//   extern const TgemmKernels kTgemmAvx2, kTgemmAvx512, kTgemmNeon;   // defined only where their files are built
//   constexpr IsaTables<TgemmKernels> kTgemmTables = {&kTgemmRef, LOWBIT_X86_VARIANT(kTgemmAvx2),
//       LOWBIT_X86_VARIANT(kTgemmAvx512), LOWBIT_NEON_VARIANT(kTgemmNeon)};
//   const TgemmKernels* tgemm_kernels_for(Isa isa) { return table_for_isa(isa, kTgemmTables); }
//   const TgemmKernels& tgemm_kernels() { static const TgemmKernels& t = active_table(kTgemmTables); return t; }
// The macros turn a variant this build does not compile into nullptr, so its (declared, never defined) table is
// not referenced. The function-local static in <family>_kernels() is the only global state: chosen once.
#pragma once
#include "kernels/isa.h"

// *_avx2.cpp / *_avx512.cpp are compiled only on x86-64 and *_neon.cpp only on aarch64, none of them in firmware
// builds (cmake/LowbitHelpers.cmake).
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
#define LOWBIT_X86_VARIANT(table) (&(table))
#else
#define LOWBIT_X86_VARIANT(table) nullptr
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
#define LOWBIT_NEON_VARIANT(table) (&(table))
#else
#define LOWBIT_NEON_VARIANT(table) nullptr
#endif

namespace lowbit::kernels {

// One family's tables indexed by ISA; nullptr where this build has no variant for that ISA.
template <class Table>
struct IsaTables {
  const Table* ref;  // always present: the scalar reference
  const Table* avx2;
  const Table* avx512;
  const Table* neon;
};

// The table for `isa`, or nullptr if this build or CPU cannot run that ISA's variant.
template <class Table>
const Table* table_for_isa(Isa isa, const IsaTables<Table>& tables) {
  if (!isa_supported(isa)) return nullptr;
  switch (isa) {
    case Isa::ref: return tables.ref;
    case Isa::avx2: return tables.avx2;
    case Isa::avx512: return tables.avx512;
    case Isa::neon: return tables.neon;
  }
  return nullptr;
}

// The table for active_isa(); the reference if the family has no variant for it. Keep the result in a
// function-local static (detection and the choice happen once).
template <class Table>
const Table& active_table(const IsaTables<Table>& tables) {
  const Table* t = table_for_isa(active_isa(), tables);
  return t ? *t : *tables.ref;
}

}  // namespace lowbit::kernels
