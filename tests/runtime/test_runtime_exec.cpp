// The runtime executes hand-built models (runtime/lbm_writer.h) exactly as the naive reference interpreter
// (lbm_reference.h) computes them from FORMAT.md: a binary conv with thresholds, W2A2 and requantising layers,
// the thresholds epilogue, pooling on every dtype, residual adds and the option-A shortcut, the fp32 classifier.
// Integer paths must agree exactly, float ops to rounding; every ISA this CPU runs; batches and thread counts.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "runtime/include/lowbit.h"
#include "runtime/loader.h"
#include "tests/runtime/lbm_reference.h"
#include "tests/runtime/lbm_test_models.h"

using namespace lowbit::runtime;
using namespace lowbit::runtime::testing;

namespace {

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

struct Loaded {
  std::vector<uint8_t> bytes;
  lowbit_model model{};
  std::unique_ptr<void, AlignedFree> arena;
  lowbit_arena a{};
};

void load(Loaded& l, std::vector<uint8_t> bytes, uint32_t batch) {
  l.bytes = std::move(bytes);
  REQUIRE(lowbit_model_init(l.bytes.data(), l.bytes.size(), &l.model) == LOWBIT_OK);
  REQUIRE(lowbit_model_set_batch(&l.model, batch) == LOWBIT_OK);
  const uint64_t n = lowbit_arena_size(&l.model);
  REQUIRE(n > 0);
  l.arena.reset(std::aligned_alloc(64, (n + 63) / 64 * 64));
  l.a = lowbit_arena{l.arena.get(), n};
}

std::vector<float> run(Loaded& l, const std::vector<float>& x, int32_t n) {
  std::vector<float> out(size_t(n) * size_t(l.model.classes), NAN);
  lowbit_input in{x.data(), n, l.model.in_c, l.model.in_h, l.model.in_w};
  lowbit_output o{out.data(), out.size(), 0, 0};
  const lowbit_status s = lowbit_run(&l.model, &l.a, &in, &o);
  REQUIRE_MESSAGE(s == LOWBIT_OK, lowbit_status_string(s));
  CHECK(o.n == n);
  CHECK(o.classes == l.model.classes);
  return out;
}

std::vector<float> reference(const Loaded& l, const std::vector<float>& x, int64_t n) {
  ModelView v;
  char msg[200];
  REQUIRE(load_model(l.bytes.data(), l.bytes.size(), &v, msg, sizeof msg) == LOWBIT_OK);
  return reference_run(v, n, x.data());
}

// Runs the model on every ISA and at 1 and 2 threads and compares with the reference: exact, or within rel.
void check_model(const std::vector<uint8_t>& bytes, int32_t n, uint64_t seed, double rel = 0.0) {
  Loaded l;
  load(l, bytes, uint32_t(n));
  std::mt19937_64 rng(seed);
  const std::vector<float> x =
      random_floats(rng, size_t(n) * size_t(l.model.in_c * l.model.in_h * l.model.in_w), -2.0f, 2.0f);
  const std::vector<float> want = reference(l, x, n);
  for (int threads : {1, 2}) {
    l.model.threads = threads;
    const std::vector<float> got = run(l, x, n);
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      if (rel == 0.0)
        CHECK_MESSAGE(got[i] == want[i], "logit ", i, " threads ", threads);
      else
        CHECK_MESSAGE(std::fabs(got[i] - want[i]) <= rel * (1.0 + std::fabs(want[i])), "logit ", i);
    }
  }
}

// x f32 [C, H, W] → quantize to k-bit codes (DoReFa-style clamp to [0, 1], mul by 2^k − 1).
uint32_t quantized_input(LbmWriter& w, uint32_t x, std::vector<uint32_t> shape, int bits, const char* name) {
  const float n = float((1 << bits) - 1);
  const uint32_t q = w.add_code_activation(name, LbmDtype::u8, bits, shape, 1.0f / n, 0);
  w.add_quantize(name, x, q, LbmQuantKind::clamp_mul, n, 1.0f, 0.0f, 1.0f, 0.0f);
  return q;
}

}  // namespace

TEST_CASE("runtime: binary conv with thresholds, max pool, flatten, binary linear") {
  for (uint64_t seed : {1u, 2u, 3u}) check_model(tiny_binary_model(seed).bytes(), 3, seed);
}

TEST_CASE("runtime: the first layer on 8-bit codes with a zero point, requant and thresholds epilogues") {
  for (int32_t n : {1, 4}) check_model(mixed_model(7).bytes(), n, 11 + n);
}

TEST_CASE("runtime: W2A2 linear layers with BN, ReLU and an fp32 classifier") {
  std::mt19937_64 rng(5);
  LbmWriter w("w2a2_mlp");
  const uint32_t x = w.add_f32_activation("input", {2, 3, 3});
  const uint32_t xf = w.add_f32_activation("flat", {18});
  w.add_flatten("flat", x, xf);
  const uint32_t xq = quantized_input(w, xf, {18}, 2, "flat.q");
  LbmWeightCodes u;
  u.codes = LbmCodes::uint, u.bits = 2, u.zero_point = 1.5f, u.shape = {10, 18};
  u.values = random_codes(rng, 180, 0, 3);
  LbmLayer l1;
  l1.name = "fc1", l1.conv = false, l1.x = xq, l1.w = w.add_weights("fc1.w", u);
  l1.wscale = w.add_f32("fc1.wscale", {1}, {0.3f});
  l1.a = w.add_f32("fc1.a", {10}, random_floats(rng, 10, -2.0f, 2.0f));
  l1.b = w.add_f32("fc1.b", {10}, random_floats(rng, 10, -1.0f, 1.0f));
  l1.act = LbmAct::relu;
  l1.y = w.add_f32_activation("fc1", {10});
  w.add_layer(l1);
  const uint32_t h = w.add_f32_activation("fc1.clamp", {10});
  w.add_add("fc1.twice", l1.y, l1.y, h, LbmAct::clamp, 0.0f, 1.0f);
  LbmLayer l2;
  l2.name = "fc2", l2.conv = false, l2.x = h;
  l2.w = w.add_f32("fc2.w", {4, 10}, random_floats(rng, 40, -1.0f, 1.0f));
  l2.bias = w.add_f32("fc2.bias", {4}, random_floats(rng, 4, -1.0f, 1.0f));
  l2.y = w.add_f32_activation("logits", {4});
  w.add_layer(l2);
  w.set_input(x);
  w.set_output(l2.y);
  check_model(w.bytes(), 5, 3, 1e-6);
}

TEST_CASE("runtime: a residual block with the option-A shortcut, average pools and global average pooling") {
  check_model(residual_model(9).bytes(), 3, 4, 1e-5);
}

TEST_CASE("runtime: every ISA gives the same logits") {
  const std::vector<uint8_t> bytes = tiny_binary_model(4).bytes();
  // The dispatch is chosen once per process (LOWBIT_ISA); here the active ISA must agree with the reference,
  // which the other cases check; scripts/test.sh runs the suite under each LOWBIT_ISA.
  check_model(bytes, 2, 8);
  CHECK(lowbit::kernels::isa_supported(lowbit::kernels::active_isa()));
}

TEST_CASE("runtime: wrong shapes, small arenas and null pointers are status codes") {
  Loaded l;
  load(l, tiny_binary_model().bytes(), 2);
  std::vector<float> x(2 * 2 * 36, 0.5f), y(6);
  lowbit_input in{x.data(), 1, 2, 6, 6};
  lowbit_output out{y.data(), y.size(), 0, 0};
  CHECK(lowbit_run(&l.model, &l.a, &in, &out) == LOWBIT_OK);
  for (lowbit_input bad : {lowbit_input{x.data(), 3, 2, 6, 6}, lowbit_input{x.data(), 0, 2, 6, 6},
                           lowbit_input{x.data(), 1, 1, 6, 6}, lowbit_input{x.data(), 1, 2, 5, 6},
                           lowbit_input{x.data(), 1, 2, 6, 7}})
    CHECK(lowbit_run(&l.model, &l.a, &bad, &out) == LOWBIT_ERR_SHAPE);
  lowbit_output small{y.data(), 5, 0, 0};
  in.n = 2;
  CHECK(lowbit_run(&l.model, &l.a, &in, &small) == LOWBIT_ERR_SHAPE);
  lowbit_arena tiny{l.a.data, l.a.bytes - 1};
  CHECK(lowbit_run(&l.model, &tiny, &in, &out) == LOWBIT_ERR_ARENA);
  lowbit_arena misaligned{static_cast<uint8_t*>(l.a.data) + 8, l.a.bytes - 64};
  CHECK(lowbit_run(&l.model, &misaligned, &in, &out) == LOWBIT_ERR_ALIGNMENT);
  CHECK(lowbit_run(&l.model, nullptr, &in, &out) == LOWBIT_ERR_NULL);
  CHECK(lowbit_run(&l.model, &l.a, nullptr, &out) == LOWBIT_ERR_NULL);
  CHECK(lowbit_run(nullptr, &l.a, &in, &out) == LOWBIT_ERR_NULL);
  lowbit_input nodata{nullptr, 1, 2, 6, 6};
  CHECK(lowbit_run(&l.model, &l.a, &nodata, &out) == LOWBIT_ERR_NULL);
  CHECK(lowbit_model_set_batch(&l.model, 0) == LOWBIT_ERR_RANGE);
  CHECK(lowbit_run(&l.model, &l.a, &in, &out) == LOWBIT_OK);  // still usable
}

TEST_CASE("runtime: the arena reuses buffers by liveness") {
  // A chain of 12 maxpools (stride 1, pad 1, 3×3: same size) over f32 [8, 16, 16]: 11 intermediate activations of
  // 8 KiB each, but at most two are alive at once.
  LbmWriter w("chain");
  uint32_t cur = w.add_f32_activation("input", {8, 16, 16});
  const uint32_t in = cur;
  for (int i = 0; i < 12; ++i) {
    const uint32_t nxt = w.add_f32_activation("p" + std::to_string(i), {8, 16, 16});
    w.add_maxpool("p" + std::to_string(i), cur, nxt, 3, 1, 1);
    cur = nxt;
  }
  const uint32_t g = w.add_f32_activation("logits", {8});
  w.add_global_avgpool("gap", cur, g);
  w.set_input(in);
  w.set_output(g);
  Loaded l;
  load(l, w.bytes(), 1);
  const uint64_t one = 8 * 16 * 16 * 4 + 64;  // a buffer with the over-read slack
  CHECK(lowbit_arena_size(&l.model) < 4 * one);
  CHECK(lowbit_arena_size(&l.model) >= 2 * one);
  const uint64_t a1 = lowbit_arena_size(&l.model);
  REQUIRE(lowbit_model_set_batch(&l.model, 4) == LOWBIT_OK);
  CHECK(lowbit_arena_size(&l.model) > 3 * a1);
  check_model(w.bytes(), 2, 1, 1e-6);
}

TEST_CASE("runtime: one arena, prepared once, reused across runs and re-prepared for another batch") {
  Loaded l;
  load(l, tiny_binary_model(2).bytes(), 2);
  std::mt19937_64 rng(1);
  const std::vector<float> x = random_floats(rng, 2 * 72, -1.0f, 1.0f);
  REQUIRE(lowbit_prepare(&l.model, &l.a) == LOWBIT_OK);
  const std::vector<float> first = run(l, x, 2);
  const std::vector<float> second = run(l, x, 2);
  CHECK(first == second);
  const std::vector<float> one = run(l, std::vector<float>(x.begin(), x.begin() + 72), 1);
  CHECK(std::vector<float>(first.begin(), first.begin() + 3) == one);
}
