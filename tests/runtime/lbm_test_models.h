// Small hand-built .lbm models for the runtime tests and the fuzz seeds, written with the runtime's own writer
// (runtime/lbm_writer.h), with random but seeded codes.
#pragma once
#include <algorithm>
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

// input f32 [3, 7, 5] → 8-bit codes with zero point 128 → ternary conv 3×3 stride 2 pad 1, requant epilogue
// (BN scale/shift, 2-bit codes) → DoReFa 2-bit (zero point 1.5) 1×1 conv, thresholds epilogue with flips →
// maxpool on u8 codes → flatten → signed 2-bit linear, f32 epilogue with bias → logits [6].
inline LbmWriter mixed_model(uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  LbmWriter w("first_layer");
  const uint32_t x = w.add_f32_activation("input", {3, 7, 5});
  const float s = 4.0f / 255.0f, z = 128.0f;
  const uint32_t xq = w.add_code_activation("input.q", LbmDtype::u8, 8, {3, 7, 5}, s, 128);
  w.add_quantize("input.q", x, xq, LbmQuantKind::div_clamp, s, 1.0f, -z, 255.0f - z, z);
  // conv 3×3 stride 2 pad 1, ternary weights, requant to 2-bit codes.
  LbmWeightCodes t;
  t.codes = LbmCodes::ternary, t.bits = 2, t.shape = {5, 3, 3, 3};
  t.values = random_codes(rng, 5 * 27, -1, 1);
  LbmLayer c1;
  c1.name = "conv1", c1.x = xq, c1.w = w.add_weights("conv1.w", t);
  c1.wscale = w.add_f32("conv1.wscale", {5}, random_floats(rng, 5, 0.2f, 0.6f));
  c1.kernel_h = c1.kernel_w = 3, c1.stride_h = c1.stride_w = 2, c1.pad_h = c1.pad_w = 1;
  c1.epilogue = LbmEpilogue::requant, c1.inv_step = 3.0f;
  c1.a = w.add_f32("conv1.a", {5}, random_floats(rng, 5, -1.0f, 1.0f));
  c1.b = w.add_f32("conv1.b", {5}, random_floats(rng, 5, 0.0f, 1.0f));
  c1.y = w.add_code_activation("conv1", LbmDtype::u8, 2, {5, 4, 3}, 1.0f / 3.0f, 0);
  w.add_layer(c1);
  // conv 1×1, uint 2-bit weights with zero point 1.5 (DoReFa), thresholds epilogue to 2-bit codes.
  LbmWeightCodes u;
  u.codes = LbmCodes::uint, u.bits = 2, u.zero_point = 1.5f, u.shape = {4, 5, 1, 1};
  u.values = random_codes(rng, 20, 0, 3);
  std::vector<int32_t> thr;
  for (int m = 0; m < 4; ++m) {
    std::vector<int32_t> l = random_codes(rng, 3, -20, 20);
    std::sort(l.begin(), l.end());
    thr.insert(thr.end(), l.begin(), l.end());
  }
  LbmLayer c2;
  c2.name = "conv2", c2.x = c1.y, c2.w = w.add_weights("conv2.w", u);
  c2.wscale = w.add_f32("conv2.wscale", {1}, {0.5f});
  c2.epilogue = LbmEpilogue::thresholds;
  c2.threshold = w.add_i32("conv2.t", {4, 3}, thr);
  c2.flip = w.add_flips("conv2.flip", {0, 1, 0, 1});
  c2.y = w.add_code_activation("conv2", LbmDtype::u8, 2, {4, 4, 3}, 1.0f / 3.0f, 0);
  w.add_layer(c2);
  const uint32_t p = w.add_code_activation("pool", LbmDtype::u8, 2, {4, 2, 1}, 1.0f / 3.0f, 0);
  w.add_maxpool("pool", c2.y, p, 2, 2);
  const uint32_t f = w.add_code_activation("flat", LbmDtype::u8, 2, {8}, 1.0f / 3.0f, 0);
  w.add_flatten("flat", p, f);
  // W2A2 linear: signed 2-bit weights, f32 epilogue with bias.
  LbmWeightCodes sw;
  sw.codes = LbmCodes::sint, sw.bits = 2, sw.shape = {6, 8};
  sw.values = random_codes(rng, 48, -2, 1);
  LbmLayer fc;
  fc.name = "fc", fc.conv = false, fc.x = f, fc.w = w.add_weights("fc.w", sw);
  fc.wscale = w.add_f32("fc.wscale", {6}, random_floats(rng, 6, 0.1f, 1.0f));
  fc.bias = w.add_f32("fc.bias", {6}, random_floats(rng, 6, -1.0f, 1.0f));
  fc.y = w.add_f32_activation("logits", {6});
  w.add_layer(fc);
  w.set_input(x);
  w.set_output(fc.y);
  return w;
}

// input f32 [4, 6, 6] → sign → binary conv stride 2 (bits epilogue) → binary conv with BN, the option-A shortcut
// of the input as residual and a clamp (f32 epilogue) → maxpool 3×3 pad 1 → two avgpools (with and without the
// padding counted) → add → global average pool → fp32 linear → logits [3].
inline LbmWriter residual_model(uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  LbmWriter w("residual");
  const uint32_t x = w.add_f32_activation("input", {4, 6, 6});
  const uint32_t xb = w.add_code_activation("input.bits", LbmDtype::b1, 1, {4, 6, 6}, 1.0f, 0);
  w.add_quantize("input.sign", x, xb, LbmQuantKind::sign, 0, 0, 0, 0, 0);
  // conv1: binary, stride 2, bits epilogue (BN + sign folded).
  LbmWeightCodes b1;
  b1.codes = LbmCodes::binary, b1.bits = 1, b1.shape = {8, 4, 3, 3};
  b1.values = random_codes(rng, 8 * 36, -1, 1, true);
  LbmLayer c1;
  c1.name = "conv1", c1.x = xb, c1.w = w.add_weights("conv1.w", b1);
  c1.wscale = w.add_f32("conv1.wscale", {8}, random_floats(rng, 8, 0.5f, 1.0f));
  c1.kernel_h = c1.kernel_w = 3, c1.stride_h = c1.stride_w = 2, c1.pad_h = c1.pad_w = 1;
  c1.epilogue = LbmEpilogue::bits;
  c1.threshold = w.add_i32("conv1.t", {8}, random_codes(rng, 8, -10, 10));
  c1.flip = w.add_flips("conv1.flip", {1, 0, 0, 1, 0, 0, 0, 1});
  c1.y = w.add_code_activation("conv1", LbmDtype::b1, 1, {8, 3, 3}, 1.0f, 0);
  w.add_layer(c1);
  // shortcut of the input, then conv2 with BN, the residual and a clamp in its f32 epilogue.
  const uint32_t sc = w.add_f32_activation("shortcut", {8, 3, 3});
  w.add_shortcut_a("shortcut", x, sc, 2, 2);
  LbmWeightCodes b2 = b1;
  b2.shape = {8, 8, 3, 3};
  b2.values = random_codes(rng, 8 * 72, -1, 1, true);
  LbmLayer c2;
  c2.name = "conv2", c2.x = c1.y, c2.w = w.add_weights("conv2.w", b2);
  c2.wscale = w.add_f32("conv2.wscale", {8}, random_floats(rng, 8, 0.5f, 1.0f));
  c2.kernel_h = c2.kernel_w = 3, c2.pad_h = c2.pad_w = 1;
  c2.a = w.add_f32("conv2.a", {8}, random_floats(rng, 8, -0.5f, 0.5f));
  c2.b = w.add_f32("conv2.b", {8}, random_floats(rng, 8, -1.0f, 1.0f));
  c2.residual = sc, c2.act = LbmAct::clamp, c2.act_lo = -1.0f, c2.act_hi = 1.0f;
  c2.y = w.add_f32_activation("block", {8, 3, 3});
  w.add_layer(c2);
  const uint32_t mp = w.add_f32_activation("maxpool", {8, 3, 3});
  w.add_maxpool("maxpool", c2.y, mp, 3, 1, 1);
  const uint32_t ap = w.add_f32_activation("avgpool", {8, 2, 2});
  w.add_avgpool("avgpool", mp, ap, 2, 2, 1, false);
  const uint32_t ap2 = w.add_f32_activation("avgpool2", {8, 2, 2});
  w.add_avgpool("avgpool2", mp, ap2, 2, 2, 1, true);
  const uint32_t sum = w.add_f32_activation("sum", {8, 2, 2});
  w.add_add("sum", ap, ap2, sum);
  const uint32_t g = w.add_f32_activation("gap", {8});
  w.add_global_avgpool("gap", sum, g);
  LbmLayer fc;
  fc.name = "fc", fc.conv = false, fc.x = g;
  fc.w = w.add_f32("fc.w", {3, 8}, random_floats(rng, 24, -1.0f, 1.0f));
  fc.y = w.add_f32_activation("logits", {3});
  w.add_layer(fc);
  w.set_input(x);
  w.set_output(fc.y);
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
