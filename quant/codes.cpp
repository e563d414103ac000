#include "quant/codes.h"

namespace lowbit::quant {

int32_t QCodes::qmin() const {
  switch (format) {
    case CodeFormat::binary:
    case CodeFormat::ternary: return -1;
    case CodeFormat::uint: return 0;
    case CodeFormat::sint: return -(int32_t{1} << (bits - 1));
  }
  return 0;
}

int32_t QCodes::qmax() const {
  switch (format) {
    case CodeFormat::binary:
    case CodeFormat::ternary: return 1;
    case CodeFormat::uint: return (int32_t{1} << bits) - 1;
    case CodeFormat::sint: return (int32_t{1} << (bits - 1)) - 1;
  }
  return 0;
}

Tensor QCodes::dequantize() const {
  Tensor out = Tensor::empty(shape);
  float* o = out.data();
  const int64_t n = numel();
  for (int64_t i = 0; i < n; ++i) o[i] = real(i);
  return out;
}

}  // namespace lowbit::quant
