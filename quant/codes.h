// Integer codes of a quantized tensor and how they map back to real values.
//
//   real[i] = scale[c(i)] · (code[i] − zero_point)
//
// c(i) is the output channel (axis 0) when the scale is per channel, else 0. Every quantizer in quant/rules.h
// computes its dequantized values through exactly this expression, so the fake-quant path (fp32 on the real
// values) and the kernel path (integer dot products on the codes, rescaled afterwards) see the same numbers.
//
// Rounding convention (all quantizers, both paths): round half to EVEN, i.e. std::nearbyint in the default
// FE_TONEAREST mode (round_code below) — the same as tf.round / torch.round used by the reference implementations, and what the
// SIMD float→int conversions do. Codes are computed once, here in quant/, and the kernel path only consumes
// them, so the two paths cannot disagree on a tie.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/allocator.h"
#include "engine/tensor.h"

namespace lowbit::quant {

// Round half to even for |x| ≤ 2^22, which every caller guarantees by clamping to its code range first: adding
// 1.5·2^23 puts x in [2^23, 2^24), where floats are spaced exactly 1, so the addition itself rounds (to nearest,
// ties to even, under the default FE_TONEAREST mode) and the subtraction is exact. Equal to std::nearbyint on that
// range (tested), but unlike it a plain add/sub that vectorises on baseline x86-64 (no SSE4.1 roundps there).
inline float round_code(float x) {
  constexpr float kShift = 12582912.0f;  // 1.5·2^23
  return (x + kShift) - kShift;
}

enum class CodeFormat : uint8_t {
  binary,   // codes −1, +1 (kernels: b1 plane, bit 1 = −1)
  ternary,  // codes −1, 0, +1 (kernels: t2 planes, or i2)
  uint,     // unsigned codes in [0, 2^bits − 1] (kernels: bit planes, or u8)
  sint,     // signed codes in [−2^(bits−1), 2^(bits−1) − 1] (kernels: i2 / i4 / i8)
};

struct QCodes {
  CodeFormat format = CodeFormat::uint;
  int bits = 0;
  Shape shape;
  // One per element, in the tensor's row-major order. From the tensor cache, and resize() leaves new codes
  // unset: every quantizer writes all of them.
  std::vector<int16_t, CachedAllocator<int16_t>> code;
  std::vector<float> scale;   // one entry (per tensor) or shape[0] entries (per output channel)
  float zero_point = 0.0f;    // real = scale · (code − zero_point); half-integers allowed (DoReFa weights)

  bool defined() const { return !code.empty(); }
  bool per_channel() const { return scale.size() > 1; }
  int64_t numel() const { return static_cast<int64_t>(code.size()); }
  // Elements per channel (axis 0) when the scale is per channel.
  int64_t channel_size() const { return shape.rank() > 0 && shape[0] > 0 ? numel() / shape[0] : numel(); }
  float scale_of(int64_t i) const { return per_channel() ? scale[static_cast<size_t>(i / channel_size())] : scale[0]; }
  float real(int64_t i) const { return scale_of(i) * (static_cast<float>(code[static_cast<size_t>(i)]) - zero_point); }
  int32_t qmin() const;
  int32_t qmax() const;
  Tensor dequantize() const;  // the real values, shape `shape`
};

}  // namespace lowbit::quant
