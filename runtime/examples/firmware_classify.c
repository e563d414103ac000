/* firmware_classify: a bare-metal C99 program that classifies images with a model compiled into the firmware.
 * No file system, no heap: the model is the const array of `lowbit export --format c-header --symbol fw_model`
 * (fw_model.h, it may stay in flash), the arena is a static buffer of the header's FW_MODEL_ARENA_BYTES, and the
 * images are a const array too (fw_images.h: FW_IMAGE_COUNT images of FW_IMAGE_BYTES pixel bytes in the model's
 * input layout C·H·W, and fw_labels[FW_IMAGE_COUNT]; tests/firmware/images_header.py writes one from an IDX file).
 *
 * Output, through board_write (one line each):
 *   model <name>: <ops> ops, <bytes> bytes, arena <bytes> bytes
 *   image <i> class <predicted> label <label> logits <10 x 8 hex digits>
 *   accuracy <correct>/<n>
 * The logits are the IEEE-754 bit patterns of the floats (exact, and no printf float support or heap needed);
 * scripts/test_firmware.sh compares them with the x86 runtime's. main returns 0, or 1 after a line
 * "error: ..." when the runtime refuses the model or a run.
 *
 * The board provides board_write (tests/firmware/startup.cpp: ARM semihosting under QEMU's mps2-an386, which also
 * passes main's return value to the host as the exit status). Build: scripts/test_firmware.sh, runtime/README.md. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fw_images.h"
#include "fw_model.h"
#include "lowbit.h"

/* Writes a NUL-terminated string to the board's console. */
void board_write(const char* s);

#if defined(__GNUC__) || defined(__clang__)
#define FW_ALIGN64 __attribute__((aligned(64)))
#else
#define FW_ALIGN64 _Alignas(64)
#endif

#define FW_MAX_CLASSES 64

static uint8_t arena_bytes[FW_MODEL_ARENA_BYTES] FW_ALIGN64;
static float input[FW_IMAGE_BYTES];
static float logits[FW_MAX_CLASSES];
static char line[64 + 9 * FW_MAX_CLASSES];

/* Appends the decimal digits of v to *p. */
static void put_uint(char** p, unsigned long v) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10u);
    v /= 10u;
  } while (v != 0u);
  while (n > 0) *(*p)++ = digits[--n];
}

/* Appends s, at most 200 characters of it (a model name, a status message). */
static void put_str(char** p, const char* s) {
  int n = 0;
  while (*s && n++ < 200) *(*p)++ = *s++;
}

/* Appends the 8 hex digits of a float's bit pattern. */
static void put_bits(char** p, float f) {
  static const char hex[] = "0123456789abcdef";
  uint32_t u;
  int i;
  memcpy(&u, &f, sizeof u);
  for (i = 7; i >= 0; --i) *(*p)++ = hex[(u >> (4 * i)) & 0xFu];
}

static int fail(const char* what, const char* detail) {
  char* p = line;
  put_str(&p, "error: ");
  put_str(&p, what);
  put_str(&p, ": ");
  put_str(&p, detail);
  put_str(&p, "\n");
  *p = '\0';
  board_write(line);
  return 1;
}

int main(void) {
  lowbit_model model;
  lowbit_info info;
  lowbit_arena arena;
  lowbit_status st;
  unsigned long correct = 0;
  unsigned long i;
  char* p;
  int k;

  st = lowbit_model_init(fw_model, FW_MODEL_LEN, &model);
  if (st != LOWBIT_OK) return fail(lowbit_status_string(st), model.message);
  lowbit_model_info(&model, &info);
  if ((size_t)info.in_c * (size_t)info.in_h * (size_t)info.in_w != FW_IMAGE_BYTES)
    return fail("fw_images.h", "the images do not have the model's input size");
  if (info.classes < 1 || info.classes > FW_MAX_CLASSES) return fail("fw_model.h", "too many classes");
  arena.data = arena_bytes;
  arena.bytes = sizeof arena_bytes;

  p = line;
  put_str(&p, "model ");
  put_str(&p, info.name);
  put_str(&p, ": ");
  put_uint(&p, info.ops);
  put_str(&p, " ops, ");
  put_uint(&p, (unsigned long)info.file_bytes);
  put_str(&p, " bytes, arena ");
  put_uint(&p, (unsigned long)arena.bytes);
  put_str(&p, " bytes\n");
  *p = '\0';
  board_write(line);

  for (i = 0; i < FW_IMAGE_COUNT; ++i) {
    lowbit_input in;
    lowbit_output out;
    int best = 0;
    lowbit_normalize_u8(&model, fw_images + i * FW_IMAGE_BYTES, 1, input);
    in.data = input;
    in.n = 1;
    in.c = info.in_c;
    in.h = info.in_h;
    in.w = info.in_w;
    out.data = logits;
    out.capacity = FW_MAX_CLASSES;
    out.n = out.classes = 0;
    st = lowbit_run(&model, &arena, &in, &out);
    if (st != LOWBIT_OK) return fail("lowbit_run", lowbit_status_string(st));
    for (k = 1; k < info.classes; ++k)
      if (logits[k] > logits[best]) best = k;
    correct += (unsigned long)(best == fw_labels[i]);
    p = line;
    put_str(&p, "image ");
    put_uint(&p, i);
    put_str(&p, " class ");
    put_uint(&p, (unsigned long)best);
    put_str(&p, " label ");
    put_uint(&p, fw_labels[i]);
    put_str(&p, " logits");
    for (k = 0; k < info.classes; ++k) {
      *p++ = ' ';
      put_bits(&p, logits[k]);
    }
    put_str(&p, "\n");
    *p = '\0';
    board_write(line);
  }
  p = line;
  put_str(&p, "accuracy ");
  put_uint(&p, correct);
  put_str(&p, "/");
  put_uint(&p, (unsigned long)FW_IMAGE_COUNT);
  put_str(&p, "\n");
  *p = '\0';
  board_write(line);
  return 0;
}
