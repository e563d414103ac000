// Firmware runtime smoke (Cortex-M4F under qemu-system-arm -M mps2-an386, LOWBIT_FIRMWARE=ON): the freestanding
// runtime loads two packed models from const arrays (tests/firmware/runtime_models.h, made on the host by the
// writer), runs them on a fixed input in a static arena of the exporter's <NAME>_ARENA_BYTES, and checks that the
// logits equal the host runtime's bit for bit; a truncated and a corrupted blob must be refused with a status.
// No heap, no exceptions: static buffers, exit status via semihosting (0 = pass).
#include <cstdint>
#include <cstring>

#include "runtime/include/lowbit.h"
#include "tests/firmware/runtime_models.h"
#include "tests/firmware/semihosting.h"

namespace fw = lowbit::firmware;

namespace {

int g_failures = 0;
void expect(bool ok, const char* what) {
  if (!ok) {
    fw::put("FAIL: ");
    fw::put(what);
    fw::put("\n");
    ++g_failures;
  }
}

constexpr uint64_t kArenaBytes = TINY_MODEL_ARENA_BYTES > MIXED_MODEL_ARENA_BYTES ? TINY_MODEL_ARENA_BYTES
                                                                                  : MIXED_MODEL_ARENA_BYTES;
alignas(64) uint8_t g_arena[kArenaBytes];
alignas(64) uint8_t g_copy[TINY_MODEL_LEN];
float g_logits[64];

int check_model(const char* name, const unsigned char* blob, uint32_t len, uint32_t arena_bytes, int32_t batch,
                const float* input, const float* expected) {
  lowbit_model m;
  lowbit_status s = lowbit_model_init(blob, len, &m);
  expect(s == LOWBIT_OK, m.message);
  if (s != LOWBIT_OK) return 0;
  expect(lowbit_model_set_batch(&m, static_cast<uint32_t>(batch)) == LOWBIT_OK, "set batch");
  lowbit_arena arena = {g_arena, arena_bytes};
  lowbit_input in = {input, batch, m.in_c, m.in_h, m.in_w};
  lowbit_output out = {g_logits, sizeof g_logits / sizeof g_logits[0], 0, 0};
  s = lowbit_run(&m, &arena, &in, &out);
  expect(s == LOWBIT_OK, lowbit_status_string(s));
  int equal = 0;
  for (int32_t i = 0; i < batch * m.classes; ++i) {
    uint32_t a, b;
    std::memcpy(&a, &g_logits[i], 4);
    std::memcpy(&b, &expected[i], 4);
    equal += a == b;
  }
  expect(equal == batch * m.classes, name);
  fw::put(name);
  fw::put(": ");
  fw::put_int(equal);
  fw::put(" of ");
  fw::put_int(batch * m.classes);
  fw::put(" logits equal the host's, arena ");
  fw::put_int(static_cast<long>(arena_bytes));
  fw::put(" bytes\n");
  return equal;
}

}  // namespace

int main() {
  check_model("tiny_model", tiny_model, TINY_MODEL_LEN, TINY_MODEL_ARENA_BYTES, TINY_MODEL_BATCH, tiny_model_input,
              tiny_model_expected);
  check_model("mixed_model", mixed_model, MIXED_MODEL_LEN, MIXED_MODEL_ARENA_BYTES, MIXED_MODEL_BATCH,
              mixed_model_input, mixed_model_expected);
  lowbit_model m;
  expect(lowbit_model_init(tiny_model, TINY_MODEL_LEN - 1, &m) == LOWBIT_ERR_TRUNCATED, "truncated blob refused");
  std::memcpy(g_copy, tiny_model, TINY_MODEL_LEN);
  g_copy[TINY_MODEL_LEN / 2] ^= 0x10;
  expect(lowbit_model_init(g_copy, TINY_MODEL_LEN, &m) == LOWBIT_ERR_CRC, "corrupted blob refused");
  fw::put(g_failures == 0 ? "lowbit firmware runtime smoke: PASS\n" : "lowbit firmware runtime smoke: FAIL\n");
  fw::exit_with(g_failures == 0 ? 0 : 1);
}
