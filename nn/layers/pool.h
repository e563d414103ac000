// Pooling layers over NCHW and the reshapes that end a convolutional trunk.
#pragma once
#include "nn/module.h"

namespace lowbit::nn {

class MaxPool2d final : public Module {
 public:
  explicit MaxPool2d(int kernel, int stride = 0, int pad = 0);  // stride 0 means stride = kernel
  Var forward(const Var& x) override;
  std::string describe() const override;
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }
  int pad() const { return pad_; }

 private:
  int kernel_, stride_, pad_;
};

// Padding counts as zeros in the average (PyTorch's count_include_pad = true).
class AvgPool2d final : public Module {
 public:
  explicit AvgPool2d(int kernel, int stride = 0, int pad = 0);  // stride 0 means stride = kernel
  Var forward(const Var& x) override;
  std::string describe() const override;

 private:
  int kernel_, stride_, pad_;
};

// [N, C, H, W] -> [N, C]
class GlobalAvgPool final : public Module {
 public:
  GlobalAvgPool() : Module("GlobalAvgPool") {}
  Var forward(const Var& x) override;
};

// [N, ...] -> [N, rest]
class Flatten final : public Module {
 public:
  Flatten() : Module("Flatten") {}
  Var forward(const Var& x) override;
};

}  // namespace lowbit::nn
