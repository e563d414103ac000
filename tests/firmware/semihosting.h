// ARM semihosting helpers for the firmware smoke programs (implemented in tests/firmware/startup.cpp).
#pragma once

namespace lowbit::firmware {
int semihost_call(int op, const void* arg);
void put(const char* s);   // SYS_WRITE0: appears on QEMU's stderr
void put_int(long v);
[[noreturn]] void exit_with(int code);  // SYS_EXIT_EXTENDED: qemu-system-arm exits with `code`
}  // namespace lowbit::firmware
