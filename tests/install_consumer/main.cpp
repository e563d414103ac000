// A downstream program: links the installed lowbit and uses a kernel-level and an engine-level API.
#include <cstdio>

#include "engine/tensor.h"
#include "kernels/isa.h"
#include "lowbit_version.h"

int main() {
  lowbit::Tensor t = lowbit::Tensor::ones({2, 3});
  std::printf("lowbit %s isa=%s numel=%lld\n", LOWBIT_VERSION,
              lowbit::kernels::isa_name(lowbit::kernels::active_isa()), static_cast<long long>(t.numel()));
  return t.numel() == 6 ? 0 : 1;
}
