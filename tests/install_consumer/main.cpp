// A downstream program: links the installed lowbit (headers as <lowbit/...>) and uses a kernel-level, an
// engine-level and a lab-level API (the built-in grids are compiled into the library, so they load with no source
// tree around).
#include <cstdio>

#include <lowbit/engine/tensor.h>
#include <lowbit/kernels/isa.h>
#include <lowbit/lab/grid.h>
#include <lowbit/lowbit_version.h>

int main() {
  lowbit::Tensor t = lowbit::Tensor::ones({2, 3});
  const lowbit::lab::Grid g = lowbit::lab::load_named_grid("baselines", true);
  std::printf("lowbit %s isa=%s numel=%lld grid=%s cells=%zu\n", LOWBIT_VERSION,
              lowbit::kernels::isa_name(lowbit::kernels::active_isa()), static_cast<long long>(t.numel()),
              g.name.c_str(), g.cells.size());
  return t.numel() == 6 && g.cells.size() == 32 ? 0 : 1;
}
