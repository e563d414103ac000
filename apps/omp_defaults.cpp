#include "apps/omp_defaults.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace lowbit::app {

void apply_omp_wait_default(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;  // the user's choice
  const char* keep = std::getenv("LOWBIT_OMP_WAIT");
  if (keep && std::strcmp(keep, "keep") == 0) return;
  if (keep && std::strcmp(keep, "set") == 0) return;  // already re-executed once (and the variable was dropped)
  if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0 || setenv("LOWBIT_OMP_WAIT", "set", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // No /proc (or exec refused): carry on with libgomp's default; the variables stay set for child processes.
}

}  // namespace lowbit::app
