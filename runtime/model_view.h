// Read access to a validated .lbm blob (runtime/format.h): records are copied out with memcpy (the blob need not
// be aligned for them), names and blobs are pointers into it. The loader (runtime/loader.h) checks every field
// once; everything after it may rely on the checks listed there.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "runtime/format.h"

namespace lowbit::runtime {

struct ModelView {
  const uint8_t* base = nullptr;
  size_t len = 0;
  LbmHeader h{};

  LbmTensor tensor(uint32_t i) const {
    LbmTensor t;
    std::memcpy(&t, base + h.tensor_offset + size_t(i) * sizeof(LbmTensor), sizeof t);
    return t;
  }
  LbmOp op(uint32_t i) const {
    LbmOp o;
    std::memcpy(&o, base + h.op_offset + size_t(i) * sizeof(LbmOp), sizeof o);
    return o;
  }
  const char* str(uint32_t offset) const { return reinterpret_cast<const char*>(base) + h.string_offset + offset; }
  const uint8_t* blob(const LbmTensor& t) const { return base + t.offset; }
  template <class T>
  const T* data(const LbmTensor& t) const { return reinterpret_cast<const T*>(base + t.offset); }
};

inline bool is_constant(const LbmTensor& t) { return (t.flags & kLbmTensorConstant) != 0; }
inline uint64_t tensor_numel(const LbmTensor& t) {
  uint64_t n = 1;
  for (uint32_t i = 0; i < t.rank && i < kLbmMaxRank; ++i) n *= t.dims[i];
  return n;
}
inline float attr_float(const LbmOp& op, int slot) {
  float f;
  std::memcpy(&f, &op.attrs[slot], 4);
  return f;
}

// Activation geometry per sample: [C, H, W] or [F] (= [F, 1, 1]).
struct Chw {
  int64_t c = 0, h = 1, w = 1;
  int64_t numel() const { return c * h * w; }
};
inline Chw tensor_chw(const LbmTensor& t) {
  Chw g;
  g.c = t.dims[0];
  if (t.rank == 3) g.h = t.dims[1], g.w = t.dims[2];
  return g;
}

// Bytes of one sample of an activation in the runtime's layouts (runtime/README.md "Arena layouts"):
//   f32 NCHW: 4·C·H·W;  u8 NHWC: C·H·W;  b1 NHWC channel-packed: H·W·words(C)·8.
inline uint64_t activation_sample_bytes(const LbmTensor& t) {
  const Chw g = tensor_chw(t);
  switch (static_cast<LbmDtype>(t.dtype)) {
    case LbmDtype::f32: return 4u * uint64_t(g.numel());
    case LbmDtype::u8: return uint64_t(g.numel());
    case LbmDtype::b1: return uint64_t(g.h * g.w) * ((uint64_t(g.c) + 63) / 64) * 8;
    default: return 0;
  }
}

}  // namespace lowbit::runtime
