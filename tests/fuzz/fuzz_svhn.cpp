// Fuzz target: the SVHN reader (libmatio: MAT v4, v5 with or without compression, v7.3/HDF5). libmatio reads
// from a path, so the input goes into an in-memory file (memfd) named by /proc/self/fd/N.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "engine/error.h"
#include "nn/data/dataset.h"
#include "tests/fuzz/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = ::memfd_create("svhn_fuzz.mat", 0);
  if (fd < 0) std::abort();
  if (::ftruncate(fd, 0) != 0) std::abort();
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    const lowbit::nn::ImageDataset ds = lowbit::nn::read_svhn_mat(path, "fuzz");
    ds.validate();
  } catch (const lowbit::Error&) {
  }
  return 0;
}
