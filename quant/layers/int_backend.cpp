#include "quant/layers/int_backend.h"

#include <algorithm>

#include "engine/tensor.h"
#include "engine/error.h"

namespace lowbit::quant {
namespace k = lowbit::kernels;

const char* backend_name(IntBackend b) { return k::qlayer_backend_name(b); }

IntBackend parse_backend(const std::string& name) {
  IntBackend b = IntBackend::reference;
  LOWBIT_CHECK(k::qlayer_parse_backend(name.c_str(), &b),
               "unknown integer backend \"{}\" (valid: reference, bgemm, tgemm, bitserial, qgemm)", name);
  return b;
}

k::QlWeightFormat weight_format(CodeFormat f) {
  switch (f) {
    case CodeFormat::binary: return k::QlWeightFormat::binary;
    case CodeFormat::ternary: return k::QlWeightFormat::ternary;
    case CodeFormat::uint: return k::QlWeightFormat::uint;
    case CodeFormat::sint: return k::QlWeightFormat::sint;
  }
  return k::QlWeightFormat::uint;
}

bool backend_supports(IntBackend b, CodeFormat wf, int wbits, ActKind xk, int xbits) {
  return k::qlayer_backend_supports(b, weight_format(wf), wbits, xk, xbits);
}

IntBackend choose_backend(CodeFormat wf, int wbits, ActKind xk, int xbits) {
  return k::qlayer_choose_backend(weight_format(wf), wbits, xk, xbits);
}

void AlignedBytes::resize(size_t bytes) {
  if (bytes <= bytes_ && buf_) return;
  const size_t total = bytes + k::kPackedOverreadBytes;
  buf_ = alloc_aligned_floats(static_cast<int64_t>((total + sizeof(float) - 1) / sizeof(float)));
  std::fill(data(), data() + total, uint8_t{0});
  bytes_ = bytes;
}

}  // namespace lowbit::quant
