#include "kernels/isa.h"

#include <cstdlib>
#include <cstring>

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1 << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#endif

namespace lowbit::kernels {

namespace {

CpuFeatures detect_features() {
  CpuFeatures f;
#if (defined(__x86_64__) || defined(__i386__)) && !defined(LOWBIT_FIRMWARE)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.bmi2 = __builtin_cpu_supports("bmi2");
  f.popcnt = __builtin_cpu_supports("popcnt");
  f.avx512f = __builtin_cpu_supports("avx512f");
  f.avx512bw = __builtin_cpu_supports("avx512bw");
  f.avx512vl = __builtin_cpu_supports("avx512vl");
  f.avx512dq = __builtin_cpu_supports("avx512dq");
  f.avx512vpopcntdq = __builtin_cpu_supports("avx512vpopcntdq");
  f.avx512vnni = __builtin_cpu_supports("avx512vnni");
#elif defined(__aarch64__) && defined(__linux__)
  const unsigned long hw = getauxval(AT_HWCAP);
  f.neon = (hw & HWCAP_ASIMD) != 0;
  f.neon_dotprod = (hw & HWCAP_ASIMDDP) != 0;
#elif defined(__aarch64__)
  f.neon = true;
#endif
  return f;
}

bool compiled_in(Isa isa) {
  switch (isa) {
    case Isa::ref: return true;
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(LOWBIT_FIRMWARE)
    case Isa::avx2: return true;
    case Isa::avx512: return true;
#endif
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
    case Isa::neon: return true;
#endif
    default: return false;
  }
}

bool cpu_can_run(Isa isa, const CpuFeatures& f) {
  switch (isa) {
    case Isa::ref: return true;
    case Isa::avx2: return f.avx2 && f.fma && f.bmi2 && f.popcnt;
    case Isa::avx512:
      return f.avx2 && f.fma && f.bmi2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq &&
             f.avx512vpopcntdq && f.avx512vnni;
    case Isa::neon: return f.neon;
  }
  return false;
}

struct Selection {
  Isa isa = Isa::ref;
  const char* error = nullptr;
};

Selection select() {
  Selection s;
  const Isa order[] = {Isa::avx512, Isa::avx2, Isa::neon, Isa::ref};  // fastest first
  for (Isa i : order)
    if (isa_supported(i)) { s.isa = i; break; }
  const char* forced = std::getenv("LOWBIT_ISA");
  if (forced && *forced) {
    Isa want;
    if (!parse_isa(forced, &want))
      s.error = "LOWBIT_ISA: unknown ISA (expected ref, avx2, avx512 or neon)";
    else if (!isa_supported(want))
      s.error = "LOWBIT_ISA: this CPU or build cannot run the requested ISA";
    else
      s.isa = want;
  }
  return s;
}

const Selection& selection() {
  static const Selection s = select();
  return s;
}

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::ref: return "ref";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::neon: return "neon";
  }
  return "?";
}

bool parse_isa(const char* name, Isa* out) {
  for (int i = 0; i < kIsaCount; ++i) {
    if (std::strcmp(name, isa_name(static_cast<Isa>(i))) == 0) {
      *out = static_cast<Isa>(i);
      return true;
    }
  }
  return false;
}

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect_features();
  return f;
}

bool isa_supported(Isa isa) { return compiled_in(isa) && cpu_can_run(isa, cpu_features()); }
Isa active_isa() { return selection().isa; }
const char* isa_forced_error() { return selection().error; }

}  // namespace lowbit::kernels
