// Fuzz target: the CIFAR-10 binary reader. The input is one batch file; it is appended twice (as two files of
// one data set) so the running image count and the second file's checks are exercised too.
#include "engine/error.h"
#include "nn/data/dataset.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lowbit::nn::ImageDataset ds;
  ds.name = "fuzz";
  ds.c = 3;
  ds.h = ds.w = 32;
  ds.num_classes = 10;
  try {
    lowbit::nn::append_cifar10_records(ds, data, size, "data_batch_1.bin");
    lowbit::nn::append_cifar10_records(ds, data, size, "data_batch_2.bin");
    ds.compute_checksum();
    ds.validate();
  } catch (const lowbit::Error&) {
  }
  return 0;
}
