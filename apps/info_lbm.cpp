// lowbit info model.lbm: what a packed model holds, read through the runtime's C API (runtime/include/lowbit.h):
// the header (name, version, input, classes, CRC, file/weight/arena bytes), one line per op (kind, epilogue,
// weight/input/output bits, output shape, weight bytes, MACs) and the MACs and weight bytes by weight precision.
#include <cstdio>
#include <map>
#include <vector>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/lbm_file.h"
#include "engine/error.h"
#include "runtime/include/lowbit.h"

namespace lowbit::app {

namespace {
std::string bits_text(int32_t b) { return b == 32 ? "f32" : b == 0 ? "-" : std::to_string(b); }
std::string shape_text(const int32_t* s) {
  std::string out;
  for (int i = 0; i < 4 && s[i] > 0; ++i) out += (out.empty() ? "" : "x") + std::to_string(s[i]);
  return out;
}
}  // namespace

int run_info_lbm(const std::string& path) {
  LoadedLbm lbm(path);
  const lowbit_model& m = lbm.model;
  lowbit_info info;
  lbm.check(lowbit_model_info(&m, &info), "lowbit_model_info");
  std::printf("file: %s\nmodel: %s (.lbm %u.%u, crc32 %08x)\ninput: %dx%dx%d fp32, %d classes\n", path.c_str(),
              info.name, info.version_major, info.version_minor, m.crc, info.in_c, info.in_h, info.in_w, info.classes);
  std::printf("bytes: file %llu, weights %llu, arena %llu (batch %u)\n",
              static_cast<unsigned long long>(info.file_bytes), static_cast<unsigned long long>(info.weight_bytes),
              static_cast<unsigned long long>(info.arena_bytes), info.max_batch);
  std::printf("%-4s %-36s %-15s %-10s %3s %3s %3s %-10s %10s %12s\n", "#", "op", "kind", "epilogue", "w", "in", "out",
              "out shape", "w bytes", "MACs");
  struct Totals {
    uint64_t macs = 0, bytes = 0;
    int layers = 0;
  };
  std::map<std::string, Totals> by_precision;
  uint64_t macs = 0;
  for (uint32_t i = 0; i < info.ops; ++i) {
    lowbit_op_desc d;
    lbm.check(lowbit_op_info(&m, i, &d), "lowbit_op_info");
    std::printf("%-4u %-36s %-15s %-10s %3s %3s %3s %-10s %10llu %12llu\n", i, d.name, d.kind, d.epilogue,
                bits_text(d.weight_bits).c_str(), bits_text(d.input_bits).c_str(), bits_text(d.output_bits).c_str(),
                shape_text(d.out_shape).c_str(), static_cast<unsigned long long>(d.weight_bytes),
                static_cast<unsigned long long>(d.macs));
    if (d.macs == 0) continue;
    Totals& t = by_precision[fmt::format("W{}A{}", bits_text(d.weight_bits), bits_text(d.input_bits))];
    t.macs += d.macs, t.bytes += d.weight_bytes, ++t.layers;
    macs += d.macs;
  }
  std::printf("MACs by precision (per image):\n");
  for (const auto& [k, t] : by_precision)
    std::printf("  %-10s %2d layers %12llu MACs (%5.1f%%) %10llu weight bytes\n", k.c_str(), t.layers,
                static_cast<unsigned long long>(t.macs), macs ? 100.0 * double(t.macs) / double(macs) : 0.0,
                static_cast<unsigned long long>(t.bytes));
  std::printf("  total      %12llu MACs\n", static_cast<unsigned long long>(macs));
  return 0;
}

}  // namespace lowbit::app
