// Small hand-built .lbm models for the runtime tests and the fuzz seeds, written with the runtime's own writer
// (runtime/lbm_writer.h), with random but seeded codes.
#pragma once
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "runtime/format.h"
#include "runtime/lbm_writer.h"

namespace lowbit::runtime::testing {

inline std::vector<int32_t> random_codes(std::mt19937_64& rng, size_t n, int lo, int hi, bool no_zero = false) {
  std::vector<int32_t> v(n);
  std::uniform_int_distribution<int> d(lo, hi);
  for (auto& c : v) {
    c = d(rng);
    if (no_zero && c == 0) c = 1;
  }
  return v;
}

inline std::vector<float> random_floats(std::mt19937_64& rng, size_t n, float lo, float hi) {
  std::vector<float> v(n);
  std::uniform_real_distribution<float> d(lo, hi);
  for (auto& f : v) f = d(rng);
  return v;
}

// input f32 [2, 6, 6] → sign → b1 → conv 3×3 pad 1, 4 filters, bits epilogue → b1 [4, 6, 6] → maxpool 2 →
// b1 [4, 3, 3] → flatten → b1 [36] → binary linear, f32 epilogue with bias → logits [3].
inline LbmWriter tiny_binary_model(uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  LbmWriter w("tiny_binary");
  const uint32_t x = w.add_f32_activation("input", {2, 6, 6});
  const uint32_t xb = w.add_code_activation("input.bits", LbmDtype::b1, 1, {2, 6, 6}, 1.0f, 0);
  w.add_quantize("input.sign", x, xb, LbmQuantKind::sign, 0, 0, 0, 0, 0);
  LbmWeightCodes wc;
  wc.codes = LbmCodes::binary, wc.bits = 1, wc.shape = {4, 2, 3, 3};
  wc.values = random_codes(rng, 4 * 2 * 9, -1, 1, true);
  const uint32_t cw = w.add_weights("conv1.w", wc);
  const uint32_t cs = w.add_f32("conv1.wscale", {4}, random_floats(rng, 4, 0.5f, 1.5f));
  std::vector<int32_t> thr = random_codes(rng, 4, -6, 6);
  const uint32_t ct = w.add_i32("conv1.threshold", {4}, thr);
  const uint32_t cf = w.add_flips("conv1.flip", {0, 1, 0, 0});
  const uint32_t c1 = w.add_code_activation("conv1", LbmDtype::b1, 1, {4, 6, 6}, 1.0f, 0);
  LbmLayer l;
  l.name = "conv1", l.x = xb, l.w = cw, l.wscale = cs, l.y = c1;
  l.kernel_h = l.kernel_w = 3, l.pad_h = l.pad_w = 1;
  l.epilogue = LbmEpilogue::bits, l.threshold = ct, l.flip = cf;
  w.add_layer(l);
  const uint32_t p1 = w.add_code_activation("pool1", LbmDtype::b1, 1, {4, 3, 3}, 1.0f, 0);
  w.add_maxpool("pool1", c1, p1, 2, 2);
  const uint32_t f1 = w.add_code_activation("flatten", LbmDtype::b1, 1, {36}, 1.0f, 0);
  w.add_flatten("flatten", p1, f1);
  LbmWeightCodes fc;
  fc.codes = LbmCodes::binary, fc.bits = 1, fc.shape = {3, 36};
  fc.values = random_codes(rng, 3 * 36, -1, 1, true);
  LbmLayer f;
  f.name = "fc", f.conv = false, f.x = f1, f.w = w.add_weights("fc.w", fc);
  f.wscale = w.add_f32("fc.wscale", {1}, {0.25f});
  f.bias = w.add_f32("fc.bias", {3}, random_floats(rng, 3, -1.0f, 1.0f));
  f.y = w.add_f32_activation("logits", {3});
  w.add_layer(f);
  w.set_input(x, {0.5f, 0.25f}, {0.5f, 2.0f});
  w.set_output(f.y);
  return w;
}

// Recomputes the trailing CRC-32 of a (modified) file, so a test reaches the check after it.
inline void fix_crc(std::vector<uint8_t>& b) {
  if (b.size() < 4) return;
  const uint32_t crc = lbm_crc32(0, b.data(), b.size() - 4);
  for (int i = 0; i < 4; ++i) b[b.size() - 4 + i] = static_cast<uint8_t>(crc >> (8 * i));
}

template <class T>
void poke(std::vector<uint8_t>& b, size_t offset, T value) {
  std::memcpy(b.data() + offset, &value, sizeof value);
}

}  // namespace lowbit::runtime::testing
