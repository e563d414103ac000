# Cross toolchain: aarch64 Linux (Debian's g++-aarch64-linux-gnu), tests run under qemu-user.
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DLOWBIT_KERNELS_ONLY=ON
#
# Baseline ISA is plain armv8-a (runs on Cortex-A53). NEON is part of armv8-a; the dot-product kernels are
# compiled for armv8.2-a+dotprod with a per-function target attribute and chosen at run time from
# getauxval(AT_HWCAP), so the default binary never executes an instruction an A53 lacks. Pick the CPU qemu
# emulates with QEMU_CPU=cortex-a53|cortex-a76|max.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(LOWBIT_AARCH64_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${LOWBIT_AARCH64_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${LOWBIT_AARCH64_TRIPLE}-g++)
# -ffp-contract=off: g++ contracts a*b + c into fmadd across statements by default in C++ (even under
# -std=c++17), and aarch64 always has fmadd, so a scalar reference epilogue could round once where the NEON
# variant (vmulq then vaddq) rounds twice. Kernels promise bit-identical float outputs across ISAs.
set(CMAKE_C_FLAGS_INIT "-march=armv8-a -ffp-contract=off")
set(CMAKE_CXX_FLAGS_INIT "-march=armv8-a -ffp-contract=off")

# Libraries and packages come from the aarch64 sysroot only; programs (git, qemu) from the host.
set(LOWBIT_AARCH64_SYSROOT /usr/${LOWBIT_AARCH64_TRIPLE})
set(CMAKE_FIND_ROOT_PATH ${LOWBIT_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Header-only packages installed for the host are architecture-independent: let find_package see doctest's
# host config (its targets carry include directories only).
if(NOT DEFINED doctest_DIR AND EXISTS /usr/lib/cmake/doctest/doctestConfig.cmake)
  set(doctest_DIR /usr/lib/cmake/doctest CACHE PATH "doctest (header-only) from the host")
endif()

# ctest and doctest_discover_tests run the aarch64 binaries through qemu-user with the cross sysroot.
find_program(LOWBIT_QEMU_AARCH64 qemu-aarch64)
if(LOWBIT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${LOWBIT_QEMU_AARCH64} -L ${LOWBIT_AARCH64_SYSROOT})
endif()
