#include "apps/lbm_file.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "engine/error.h"

namespace lowbit::app {

bool is_lbm_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  f.read(magic, 4);
  return f.gcount() == 4 && magic[0] == 'L' && magic[1] == 'B' && magic[2] == 'M' && magic[3] == 0x1A;
}

LoadedLbm::LoadedLbm(const std::string& p) : path(p) {
  std::ifstream f(path, std::ios::binary);
  LOWBIT_CHECK(f.good(), "cannot read '{}'", path);
  const std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  LOWBIT_CHECK(!f.bad(), "cannot read '{}'", path);
  bytes_ = raw.size();
  blob_.resize((raw.size() + 63) / 64 + 1);
  if (!raw.empty()) std::memcpy(blob_.data(), raw.data(), raw.size());
  const lowbit_status s = lowbit_model_init(blob_.data(), raw.size(), &model);
  LOWBIT_CHECK(s == LOWBIT_OK, "'{}' is not a model the runtime can run: {} ({})", path, model.message,
               lowbit_status_string(s));
}

void LoadedLbm::check(lowbit_status s, const char* call) const {
  LOWBIT_CHECK(s == LOWBIT_OK, "'{}': {} failed: {}{}{}", path, call, lowbit_status_string(s), model.message[0] ? ": " : "",
               model.message);
}

void LoadedLbm::allocate_arena() {
  const uint64_t need = lowbit_arena_size(&model);
  arena_mem_.assign(need / 64 + 1, Line{});
  arena = lowbit_arena{arena_mem_.data(), static_cast<size_t>(need)};
}

}  // namespace lowbit::app
