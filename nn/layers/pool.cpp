#include "nn/layers/pool.h"

#include "engine/error.h"
#include "engine/ops.h"

namespace lowbit::nn {

namespace {
void check_pool(const char* type, int kernel, int stride, int pad) {
  LOWBIT_CHECK(kernel > 0 && stride > 0 && pad >= 0 && 2 * pad <= kernel,
               "{}: invalid kernel={} stride={} pad={} (need kernel, stride > 0 and pad <= kernel/2)", type, kernel,
               stride, pad);
}
void check_input(const char* type, const Var& x, int kernel, int pad) {
  const Shape& s = x.shape();
  LOWBIT_CHECK(s.rank() == 4 && s[2] + 2 * pad >= kernel && s[3] + 2 * pad >= kernel,
               "{}: expected input [N, C, H, W] of at least {}x{} (with padding {}), got {}", type, kernel, kernel,
               pad, s.str());
}
}  // namespace

MaxPool2d::MaxPool2d(int kernel, int stride, int pad)
    : Module("MaxPool2d"), kernel_(kernel), stride_(stride == 0 ? kernel : stride), pad_(pad) {
  check_pool("MaxPool2d", kernel_, stride_, pad_);
}
Var MaxPool2d::forward(const Var& x) {
  check_input("MaxPool2d", x, kernel_, pad_);
  return max_pool2d(x, kernel_, stride_, pad_);
}
std::string MaxPool2d::describe() const { return fmt::format("{}x{} s{} p{}", kernel_, kernel_, stride_, pad_); }

AvgPool2d::AvgPool2d(int kernel, int stride, int pad)
    : Module("AvgPool2d"), kernel_(kernel), stride_(stride == 0 ? kernel : stride), pad_(pad) {
  check_pool("AvgPool2d", kernel_, stride_, pad_);
}
Var AvgPool2d::forward(const Var& x) {
  check_input("AvgPool2d", x, kernel_, pad_);
  return avg_pool2d(x, kernel_, stride_, pad_);
}
std::string AvgPool2d::describe() const { return fmt::format("{}x{} s{} p{}", kernel_, kernel_, stride_, pad_); }

Var GlobalAvgPool::forward(const Var& x) {
  LOWBIT_CHECK(x.shape().rank() == 4, "GlobalAvgPool: expected input [N, C, H, W], got {}", x.shape().str());
  return global_avg_pool(x);
}

Var Flatten::forward(const Var& x) {
  LOWBIT_CHECK(x.shape().rank() >= 2, "Flatten: expected input [N, ...] of rank >= 2, got {}", x.shape().str());
  return flatten(x);
}

}  // namespace lowbit::nn
