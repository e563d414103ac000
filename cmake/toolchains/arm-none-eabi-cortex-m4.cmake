# Cross toolchain: bare-metal Cortex-M4F (Debian's gcc-arm-none-eabi + newlib), for LOWBIT_FIRMWARE=ON builds.
#
#   cmake -S tests/firmware -B build-firmware -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/arm-none-eabi-cortex-m4.cmake
#
# (tests/firmware is a small project that adds lowbit with LOWBIT_FIRMWARE=ON plus a semihosting smoke program run
# under qemu-system-arm -M mps2-an386; scripts/test_firmware.sh does all of it.) Freestanding C++: no exceptions,
# no RTTI, no thread-safe statics (lowbit's LOWBIT_FIRMWARE options add the C++ ones to every lowbit target).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# No OS to run a linked test program on during configure: compiler checks build static libraries only.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(LOWBIT_M4_ARCH "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
# Sections per function/object so --gc-sections drops every kernel the firmware does not call;
# -ffp-contract=off keeps float epilogues identical to the host builds (vfma exists on the M4F).
set(CMAKE_C_FLAGS_INIT "${LOWBIT_M4_ARCH} -ffunction-sections -fdata-sections -ffp-contract=off")
set(CMAKE_CXX_FLAGS_INIT "${LOWBIT_M4_ARCH} -ffunction-sections -fdata-sections -ffp-contract=off -ffreestanding")
# newlib-nano for memcpy/memset/getenv; nosys stubs for the syscalls nothing should reach.
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nano.specs --specs=nosys.specs -Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
