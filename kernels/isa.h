// Instruction-set detection and selection for the kernel dispatch tables.
//
// Each kernel family owns one table of function pointers per ISA (see kernels/README.md). The table used by
// default is the one for active_isa(): the fastest ISA this CPU supports, unless LOWBIT_ISA=ref|avx2|avx512|neon
// forces one (tests and paper tables do that). Detection runs once; nothing here changes afterwards.
#pragma once
#include <cstdint>

namespace lowbit::kernels {

enum class Isa : uint8_t {
  ref = 0,    // portable scalar C++ (always compiled; the firmware path)
  avx2 = 1,   // x86-64 AVX2 + FMA + BMI2 + POPCNT
  avx512 = 2, // x86-64 AVX-512 F/BW/VL/DQ + VPOPCNTDQ + VNNI (Ice Lake / Zen 4 class)
  neon = 3,   // aarch64 Advanced SIMD (dot product used where the CPU reports it)
};
inline constexpr int kIsaCount = 4;

const char* isa_name(Isa isa);
// Parses "ref", "avx2", "avx512", "neon" (case-sensitive). Returns false on anything else.
bool parse_isa(const char* name, Isa* out);
// True if this binary contains the variant and this CPU can execute it.
bool isa_supported(Isa isa);
// The best supported ISA, or the one forced by LOWBIT_ISA (a forced ISA the CPU lacks falls back to the best
// supported one and is reported by isa_forced_error()).
Isa active_isa();
// Non-null if LOWBIT_ISA names an unknown or unsupported ISA: a message for the CLI to print.
const char* isa_forced_error();
// Extra CPU features some kernels check inside their ISA (e.g. NEON dot product). Detected once.
struct CpuFeatures {
  bool avx2 = false, fma = false, bmi2 = false, popcnt = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vpopcntdq = false, avx512vnni = false;
  bool neon = false, neon_dotprod = false;
};
const CpuFeatures& cpu_features();

}  // namespace lowbit::kernels
