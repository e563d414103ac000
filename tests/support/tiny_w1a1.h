// A tiny trained W1A1 LeNet-5 (BNN, 8-bit first/last) for the CLI tests of the deploy commands: writes synthetic
// MNIST-format data under <dir>/data/mnist, trains one epoch into <dir>/run through `lowbit train`, and returns
// the " --data-dir '<dir>/data'" flag text for later commands. Header-only (tests/support/).
#pragma once
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "cli_runner.h"
#include "tiny_data.h"

namespace lowbit::test {

inline std::string train_tiny_w1a1_lenet(const std::filesystem::path& dir, int train_images, int test_images) {
  write_tiny_mnist(dir / "data" / "mnist", "train", train_images);
  write_tiny_mnist(dir / "data" / "mnist", "t10k", test_images);
  const std::string data = " --data-dir '" + (dir / "data").string() + "'";
  const CliRun r = run_lowbit("train --model lenet5 --dataset mnist --quant bnn --wbits 1 --abits 1 --first-last 8 "
                              "--epochs 1 --batch 32 --threads 1 --no-progress --out '" + (dir / "run").string() + "'" + data);
  REQUIRE_MESSAGE(r.status == 0, r.all());
  return data;
}

}  // namespace lowbit::test
