// The example program runtime/examples/classify.c: on a small model written with the LbmWriter and an IDX file of
// random images, its predictions are the argmax of the C API's logits, and the accuracy line counts them.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/include/lowbit.h"
#include "tests/runtime/lbm_test_models.h"

using namespace lowbit::runtime;
using namespace lowbit::runtime::testing;

namespace {

void write_be32(std::ofstream& f, uint32_t v) {
  const unsigned char b[4] = {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
  f.write(reinterpret_cast<const char*>(b), 4);
}

std::string run_command(const std::string& cmd, int* status) {
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = pclose(p);
  return out;
}

}  // namespace

TEST_CASE("runtime: the classify example agrees with the C API") {
  // A 1-channel model: the tiny binary model's layout on [1, 6, 6].
  std::mt19937_64 rng(21);
  LbmWriter w("classify_test");
  const uint32_t x = w.add_f32_activation("input", {1, 6, 6});
  const uint32_t xq = w.add_code_activation("input.q", LbmDtype::u8, 8, {1, 6, 6}, 2.0f / 255.0f, 128);
  w.add_quantize("input.q", x, xq, LbmQuantKind::div_clamp, 2.0f / 255.0f, 1.0f, -128.0f, 127.0f, 128.0f);
  LbmWeightCodes wc;
  wc.codes = LbmCodes::sint, wc.bits = 4, wc.shape = {4, 36};
  wc.values = random_codes(rng, 144, -8, 7);
  LbmLayer l;
  l.name = "fc", l.conv = false, l.w = w.add_weights("fc.w", wc);
  const uint32_t flat = w.add_code_activation("flat", LbmDtype::u8, 8, {36}, 2.0f / 255.0f, 128);
  w.add_flatten("flat", xq, flat);
  l.x = flat;
  l.wscale = w.add_f32("fc.wscale", {4}, random_floats(rng, 4, 0.1f, 1.0f));
  l.y = w.add_f32_activation("logits", {4});
  w.add_layer(l);
  w.set_input(x, {0.5f}, {0.25f});
  w.set_output(l.y);
  const std::string dir = std::string(LOWBIT_BINARY_DIR) + "/tests/runtime_classify";
  REQUIRE(std::system(("mkdir -p '" + dir + "'").c_str()) == 0);
  w.write_file(dir + "/model.lbm");
  const int N = 25;
  std::vector<uint8_t> pixels(N * 36), labels(N);
  for (auto& p : pixels) p = uint8_t(rng());
  for (auto& l8 : labels) l8 = uint8_t(rng() % 4);
  {
    std::ofstream f(dir + "/images.idx", std::ios::binary);
    write_be32(f, 0x803), write_be32(f, N), write_be32(f, 6), write_be32(f, 6);
    f.write(reinterpret_cast<const char*>(pixels.data()), long(pixels.size()));
    std::ofstream g(dir + "/labels.idx", std::ios::binary);
    write_be32(g, 0x801), write_be32(g, N);
    g.write(reinterpret_cast<const char*>(labels.data()), long(labels.size()));
  }
  // Expected predictions from the C API.
  const std::vector<uint8_t> bytes = w.bytes();
  lowbit_model m;
  REQUIRE(lowbit_model_init(bytes.data(), bytes.size(), &m) == LOWBIT_OK);
  const uint64_t ab = lowbit_arena_size(&m);
  std::vector<uint8_t> arena_mem(ab + 64);
  lowbit_arena arena{reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(arena_mem.data()) + 63) / 64 * 64), ab};
  std::ostringstream want;
  int correct = 0;
  for (int i = 0; i < N; ++i) {
    float xin[36], logits[4];
    REQUIRE(lowbit_normalize_u8(&m, pixels.data() + i * 36, 1, xin) == LOWBIT_OK);
    lowbit_input in{xin, 1, 1, 6, 6};
    lowbit_output out{logits, 4, 0, 0};
    REQUIRE(lowbit_run(&m, &arena, &in, &out) == LOWBIT_OK);
    int best = 0;
    for (int k = 1; k < 4; ++k)
      if (logits[k] > logits[best]) best = k;
    want << i << " " << best << " " << int(labels[i]) << "\n";
    correct += best == labels[i];
  }
  want << "accuracy " << correct << "/" << N << "\n";
  // Under a cross-compiling emulator (scripts/test_aarch64.sh) the program runs through it, like this test.
  const std::string exe = std::string(LOWBIT_TEST_EMULATOR) + " '" + LOWBIT_BINARY_DIR + "/runtime/classify'";
  for (const char* extra : {"", " --batch 4 --threads 2"}) {
    int status = 0;
    const std::string got = run_command(exe + " '" + dir + "/model.lbm' '" + dir + "/images.idx' '" + dir +
                                            "/labels.idx'" + extra, &status);
    CHECK(status == 0);
    CHECK(got == want.str());
  }
  int status = 0;
  const std::string limited = run_command(exe + " '" + dir + "/model.lbm' '" + dir + "/images.idx' --count 3", &status);
  CHECK(status == 0);
  CHECK(std::count(limited.begin(), limited.end(), '\n') == 3);
  run_command(exe + " '" + dir + "/images.idx' '" + dir + "/images.idx' 2>/dev/null", &status);
  CHECK(status != 0);  // not a model: a message and exit status 1
}
