// aarch64 CPU-feature detection: the NEON dispatch only stays safe if getauxval(AT_HWCAP) is read correctly,
// because the dot-product kernels execute sdot/udot, which trap (SIGILL) on an armv8.0 core such as Cortex-A53.
// scripts/test_aarch64.sh runs this under qemu with -cpu cortex-a53 / cortex-a76 / max and tells the test
// what that CPU model has via LOWBIT_EXPECT_DOTPROD=0|1.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>

#include "kernels/isa.h"

using namespace lowbit::kernels;

TEST_CASE("neon: detection matches the build and the CPU") {
  const CpuFeatures& f = cpu_features();
#if defined(__aarch64__) && !defined(LOWBIT_FIRMWARE)
  CHECK(f.neon);  // Advanced SIMD is mandatory in armv8-a Linux
  CHECK(isa_supported(Isa::neon));
  CHECK_FALSE(isa_supported(Isa::avx2));
  CHECK_FALSE(isa_supported(Isa::avx512));
  if (!std::getenv("LOWBIT_ISA")) CHECK(active_isa() == Isa::neon);
  if (const char* want = std::getenv("LOWBIT_EXPECT_DOTPROD")) {
    INFO("LOWBIT_EXPECT_DOTPROD=" << want);
    CHECK(f.neon_dotprod == (std::strcmp(want, "1") == 0));
  }
#else
  CHECK_FALSE(f.neon);
  CHECK_FALSE(f.neon_dotprod);
  CHECK_FALSE(isa_supported(Isa::neon));
#endif
}
