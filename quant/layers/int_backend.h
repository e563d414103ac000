// quant's view of the integer layer tier's backends (kernels/qlayer/qlayer.h): the names, the choice and what each
// can multiply, in quant's code formats, with errors as lowbit::Error; and the aligned byte buffers the layers keep
// their packed weights and workspace in.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kernels/qlayer/qlayer.h"
#include "quant/codes.h"

namespace lowbit::quant {

using IntBackend = kernels::QlBackend;
using ActKind = kernels::QlActFormat;  // binary (±1) or uint codes

const char* backend_name(IntBackend b);
IntBackend parse_backend(const std::string& name);  // "auto" is not a backend; throws listing the names
kernels::QlWeightFormat weight_format(CodeFormat f);

// Can backend b compute this pair of formats exactly?
bool backend_supports(IntBackend b, CodeFormat wf, int wbits, ActKind xk, int xbits);
// The tier's dispatch table (kernels::qlayer_choose_backend): binary/ternary families for binary activations, the
// faster of bitserial and qgemm (timed once per bit pair on this CPU) for unsigned ones.
IntBackend choose_backend(CodeFormat wf, int wbits, ActKind xk, int xbits);

// 64-byte aligned byte buffer with kernels::kPackedOverreadBytes of slack (kernels may read past the end).
class AlignedBytes {
 public:
  void resize(size_t bytes);  // grows only; contents unspecified after growth
  uint8_t* data() { return reinterpret_cast<uint8_t*>(buf_.get()); }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(buf_.get()); }
  size_t size() const { return bytes_; }

 private:
  std::shared_ptr<float> buf_;
  size_t bytes_ = 0;
};

}  // namespace lowbit::quant
