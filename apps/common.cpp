#include <fmt/format.h>

#include "apps/commands.h"
#include "kernels/isa.h"
#include "lowbit_version.h"
#include "nn/data/registry.h"

namespace lowbit::app {

std::string version_text() {
  namespace k = lowbit::kernels;
  std::string isa = k::isa_name(k::active_isa());
  if (const char* err = k::isa_forced_error()) isa += fmt::format(" ({})", err);
  return fmt::format("lowbit {}\ngit revision: {}\ncompiler: {} ({} build, {})\nisa: {}\n", LOWBIT_VERSION,
                     LOWBIT_GIT_REVISION, LOWBIT_COMPILER, LOWBIT_BUILD_TYPE, LOWBIT_SYSTEM_PROCESSOR, isa);
}

std::vector<std::string> dataset_choices() { return nn::dataset_names(); }

std::string resolve_data_dir(const std::string& flag) { return flag.empty() ? nn::default_data_dir() : flag; }

}  // namespace lowbit::app
