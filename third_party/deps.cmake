# System packages (Debian bookworm), found once for the whole project. Only our own glue lives here.
# LOWBIT_KERNELS_ONLY (cross builds): kernels + runtime need only Threads, OpenMP and doctest.
if(NOT LOWBIT_KERNELS_ONLY)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(ZLIB REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 QUIET CONFIG)
# libmatio (SVHN's MAT-files, v5 and v7.3): located through pkg-config when present, else a plain search.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
  pkg_check_modules(MATIO_PC QUIET matio)
endif()
find_path(MATIO_INCLUDE_DIR matio.h HINTS ${MATIO_PC_INCLUDE_DIRS})
find_library(MATIO_LIBRARY NAMES matio HINTS ${MATIO_PC_LIBRARY_DIRS})
if(NOT MATIO_INCLUDE_DIR OR NOT MATIO_LIBRARY)
  message(FATAL_ERROR "libmatio not found: install the Debian package libmatio-dev (bash scripts/setup.sh)")
endif()
endif()
# xsimd (Debian libxsimd-dev 8.1, header-only) for the ISA variants of kernels/fvec/, so also in kernels-only and
# cross builds, where the host's headers serve (they are architecture-independent). Only its headers are used:
# its CMake package links "xtl", a target that does not exist. The include directory is a build-tree folder
# holding a link to xsimd/ alone, so that in a cross build the host's /usr/include does not join the include path.
# Firmware builds compile no ISA variant and need none.
if(NOT LOWBIT_FIRMWARE)
  find_path(LOWBIT_XSIMD_HEADERS xsimd/xsimd.hpp NO_CMAKE_FIND_ROOT_PATH)
  if(NOT LOWBIT_XSIMD_HEADERS)
    message(FATAL_ERROR "xsimd headers (xsimd/xsimd.hpp) not found: install libxsimd-dev (scripts/setup.sh)")
  endif()
  set(LOWBIT_XSIMD_INCLUDE_DIR ${PROJECT_BINARY_DIR}/xsimd-include)
  file(MAKE_DIRECTORY ${LOWBIT_XSIMD_INCLUDE_DIR})
  file(CREATE_LINK ${LOWBIT_XSIMD_HEADERS}/xsimd ${LOWBIT_XSIMD_INCLUDE_DIR}/xsimd SYMBOLIC)
endif()
find_package(Threads REQUIRED)
if(LOWBIT_OPENMP)
  find_package(OpenMP REQUIRED COMPONENTS CXX)
endif()
if(LOWBIT_BUILD_TESTS)
  find_package(doctest REQUIRED)
endif()
if(LOWBIT_BUILD_BENCH AND NOT LOWBIT_KERNELS_ONLY)
  find_package(benchmark QUIET)
  # Optional peers for the kernel benchmarks: OpenBLAS (cblas_sgemm) and oneDNN (dnnl_gemm_u8s8s32).
  find_path(OPENBLAS_INCLUDE_DIR cblas.h PATHS /usr/include/x86_64-linux-gnu/openblas-pthread
            /usr/include/aarch64-linux-gnu/openblas-pthread /usr/include/openblas NO_DEFAULT_PATH)
  find_library(OPENBLAS_LIBRARY NAMES openblas PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread
               /usr/lib/aarch64-linux-gnu/openblas-pthread)
  # Debian's dnnl-config.cmake requires OpenCL: find the library and header directly instead.
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.h)
  find_library(DNNL_LIBRARY NAMES dnnl)
endif()
