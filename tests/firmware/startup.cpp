// Minimal Cortex-M4F start-up for QEMU mps2-an386 and ARM semihosting I/O (no vendor CMSIS, no newlib crt0).
//
// Vector table: initial stack pointer and reset handler (the only two entries the smoke program needs; a fault
// would lock up, and ctest's timeout reports it). Reset: copy .data from its load address, zero .bss, enable the
// FPU (CPACR bits 20–23 = full access to CP10/CP11, required before any float instruction with
// -mfloat-abi=hard), run static constructors, call main(), and report its return value as the exit status.
// Stack high-water mark: reset fills the free RAM between .bss and the stack pointer with a pattern; after main
// returns, the lowest overwritten word gives the peak stack use, printed as "stack: N bytes used (peak)" (the
// RAM a firmware needs is .data + .bss + that).
// No heap: newlib's printf family is linked (the runtime formats its error messages with snprintf) and brings malloc
// with it, but nothing may allocate; _sbrk, the only way malloc gets memory, fails the program if it is ever called.
// Semihosting: `bkpt 0xAB` with the operation in r0 and its argument in r1. SYS_WRITE0 (0x04) prints a string
// (QEMU writes it to its stderr); SYS_EXIT_EXTENDED (0x20) with {ADP_Stopped_ApplicationExit, code} makes
// qemu-system-arm exit with `code`. board_write is the console of the C example runtime/examples/firmware_classify.c.
#include <cstdint>

#include "tests/firmware/semihosting.h"

extern "C" {
extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, _estack;
extern void (*__preinit_array_start[])(), (*__preinit_array_end[])();
extern void (*__init_array_start[])(), (*__init_array_end[])();
int main();
[[noreturn]] void reset_handler();
void board_write(const char* s);
}

// Word 0: initial SP, word 1: reset vector (the linker sets the Thumb bit of a Thumb function's address).
asm(".section .vectors,\"a\",%progbits\n"
    ".global lowbit_vectors\n"
    "lowbit_vectors:\n"
    "  .word _estack\n"
    "  .word reset_handler\n"
    ".text\n");

namespace lowbit::firmware {

int semihost_call(int op, const void* arg) {
  register int r0 asm("r0") = op;
  register const void* r1 asm("r1") = arg;
  asm volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void put(const char* s) { semihost_call(0x04, s); }

void put_int(long v) {
  char buf[24];
  char* p = buf + sizeof buf;
  *--p = '\0';
  const bool neg = v < 0;
  unsigned long u = neg ? 0ul - static_cast<unsigned long>(v) : static_cast<unsigned long>(v);
  do {
    *--p = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u);
  if (neg) *--p = '-';
  put(p);
}

[[noreturn]] void exit_with(int code) {
  const uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, static_cast<uint32_t>(code)};
  semihost_call(0x20, block);
  for (;;) {
  }
}

}  // namespace lowbit::firmware

extern "C" void board_write(const char* s) { lowbit::firmware::put(s); }

extern "C" void* _sbrk(int) {
  lowbit::firmware::put("FAIL: the heap was used (_sbrk called)\n");
  lowbit::firmware::exit_with(3);
}

namespace {
constexpr uint32_t kStackPaint = 0x5AC3A55Au;

// Bytes of stack used so far: from the top of RAM down to the lowest word that no longer holds the paint.
unsigned long stack_peak_bytes() {
  const uint32_t* p = &__bss_end;
  while (p < &_estack && *p == kStackPaint) ++p;
  return static_cast<unsigned long>(reinterpret_cast<uintptr_t>(&_estack) - reinterpret_cast<uintptr_t>(p));
}
}  // namespace

extern "C" [[noreturn]] void reset_handler() {
  uint32_t* sp;
  asm volatile("mov %0, sp" : "=r"(sp));
  for (uint32_t* p = &__bss_end; p + 64 < sp; ++p) *p = kStackPaint;  // 256 bytes below this frame stay untouched
  for (uint32_t *src = &__data_load, *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t* dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
  volatile uint32_t* const cpacr = reinterpret_cast<volatile uint32_t*>(0xE000ED88u);
  *cpacr = *cpacr | (0xFu << 20);
  asm volatile("dsb\n isb" ::: "memory");
  for (auto** f = __preinit_array_start; f < __preinit_array_end; ++f) (**f)();
  for (auto** f = __init_array_start; f < __init_array_end; ++f) (**f)();
  const int status = main();
  lowbit::firmware::put("stack: ");
  lowbit::firmware::put_int(static_cast<long>(stack_peak_bytes()));
  lowbit::firmware::put(" bytes used (peak)\n");
  lowbit::firmware::exit_with(status);
}
