#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "apps/commands.h"
#include "kernels/isa.h"
#include "lowbit_version.h"
#include "nn/data/registry.h"

namespace lowbit::app {

// Which OpenMP wait policy this process runs with, and who chose it (apps/omp_defaults.h).
std::string omp_wait_text() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  const char* lowbit = std::getenv("LOWBIT_OMP_WAIT");
  if (lowbit && std::string(lowbit) == "set" && policy) return fmt::format("OMP_WAIT_POLICY={} (lowbit's default)", policy);
  if (policy || spin)
    return fmt::format("{}{}{} (from the environment)", policy ? "OMP_WAIT_POLICY=" + std::string(policy) : "",
                       policy && spin ? " " : "", spin ? "GOMP_SPINCOUNT=" + std::string(spin) : "");
  return "libgomp's default (spinning)";
}

std::string version_text() {
  namespace k = lowbit::kernels;
  std::string isa = k::isa_name(k::active_isa());
  if (const char* err = k::isa_forced_error()) isa += fmt::format(" ({})", err);
  return fmt::format("lowbit {}\ngit revision: {}\ncompiler: {} ({} build, {})\nisa: {}\nopenmp wait: {}\n",
                     LOWBIT_VERSION, LOWBIT_GIT_REVISION, LOWBIT_COMPILER, LOWBIT_BUILD_TYPE, LOWBIT_SYSTEM_PROCESSOR,
                     isa, omp_wait_text());
}

std::vector<std::string> dataset_choices() { return nn::dataset_names(); }

std::string resolve_data_dir(const std::string& flag) { return flag.empty() ? nn::default_data_dir() : flag; }

}  // namespace lowbit::app
