// Firmware smoke test (Cortex-M4F under qemu-system-arm -M mps2-an386, LOWBIT_FIRMWARE=ON): the freestanding
// kernel library packs fixed ±1 data, runs the dispatched bgemm (which must be the reference table on this
// target) with all three output transforms, and checks every result against a plain ±1 dot computed here.
// No heap, no exceptions: static buffers, exit status via semihosting (0 = pass).
#include <cstddef>
#include <cstdint>

#include "kernels/bgemm/bgemm.h"
#include "kernels/isa.h"
#include "kernels/pack/pack_bits.h"
#include "tests/firmware/semihosting.h"

using namespace lowbit::kernels;
namespace fw = lowbit::firmware;

namespace {

constexpr size_t kM = 5, kN = 3, kK = 100, kW = packed_words(kK);

float g_a[kM][kK], g_b[kN][kK];
bword g_pa[kM][kW], g_pb[kN][kW];
int32_t g_i32[kM][kN];
float g_f32[kM][kN];
bword g_bits[kN][packed_words(kM)];

int g_failures = 0;
void expect(bool ok, const char* what) {
  if (!ok) {
    fw::put("FAIL: ");
    fw::put(what);
    fw::put("\n");
    ++g_failures;
  }
}

// Deterministic values in {−3, …, 3} (zeros included: sign(0) = +1).
uint32_t g_state = 12345u;
float next_value() {
  g_state = g_state * 1664525u + 1013904223u;
  return static_cast<float>(static_cast<int>((g_state >> 16) % 7u) - 3);
}

int sgn(float x) { return x < 0.0f ? -1 : 1; }

}  // namespace

int main() {
  expect(active_isa() == Isa::ref, "firmware dispatch must pick the reference kernels");
  expect(!isa_supported(Isa::neon) && !isa_supported(Isa::avx2), "no SIMD tables in a firmware build");

  for (auto& row : g_a)
    for (float& v : row) v = next_value();
  for (auto& row : g_b)
    for (float& v : row) v = next_value();
  expect(pack_sign_rows(&g_a[0][0], kM, kK, kK, &g_pa[0][0], kW, kM * kW) == Status::ok, "pack A");
  expect(pack_sign_rows(&g_b[0][0], kN, kK, kK, &g_pb[0][0], kW, kN * kW) == Status::ok, "pack B");

  BgemmOperands op;
  op.M = kM, op.N = kN, op.K = kK, op.kw = kW;
  op.A = &g_pa[0][0], op.lda = kW, op.B = &g_pb[0][0], op.ldb = kW;
  expect(bgemm_check(op) == Status::ok, "operands valid");
  const BgemmKernels& g = bgemm_kernels();
  expect(g.scratch_words(kN, kW) == 0, "reference bgemm needs no scratch");

  g.i32(op, BgemmOutI32{&g_i32[0][0], kN, 1}, nullptr, 1);
  static const float scale[kM] = {0.5f, -1.0f, 2.0f, 0.25f, -0.125f};
  static const float bias[kM] = {1.0f, 0.0f, -3.0f, 0.5f, 2.0f};
  BgemmOutF32 of;
  of.C = &g_f32[0][0], of.cs_m = kN, of.cs_n = 1, of.scale = scale, of.bias = bias;
  g.f32(op, of, nullptr, 1);
  static const int32_t threshold[kM] = {0, 4, -4, 10, -100};
  BgemmOutBits ob;
  ob.C = &g_bits[0][0], ob.ldc = packed_words(kM), ob.threshold = threshold;
  g.bits(op, ob, nullptr, 1);

  int checked = 0;
  for (size_t m = 0; m < kM; ++m)
    for (size_t n = 0; n < kN; ++n) {
      int dot = 0;
      for (size_t k = 0; k < kK; ++k) dot += sgn(g_a[m][k]) * sgn(g_b[n][k]);
      expect(g_i32[m][n] == dot, "i32 output equals the ±1 dot");
      const float prod = scale[m] * static_cast<float>(dot);
      expect(g_f32[m][n] == prod + bias[m], "f32 output equals scale*dot + bias");
      const bword bit = (g_bits[n][0] >> m) & 1u;
      expect(bit == (dot < threshold[m] ? 1u : 0u), "bits output equals dot < threshold");
      ++checked;
    }
  for (size_t n = 0; n < kN; ++n) expect((g_bits[n][0] >> kM) == 0, "bits past M are zero");

  fw::put("lowbit firmware smoke: ");
  fw::put_int(checked);
  fw::put(" bgemm outputs checked, dot[0][0] = ");
  fw::put_int(g_i32[0][0]);
  fw::put(g_failures == 0 ? ", PASS\n" : ", FAIL\n");
  return g_failures == 0 ? 0 : 1;
}
