// The format's small shared functions: CRC-32 and the names of dtypes, op kinds and epilogues.
#include "runtime/format.h"

namespace lowbit::runtime {

uint32_t lbm_crc32(uint32_t crc, const uint8_t* data, size_t n) {
  // Bytewise CRC-32 (reflected polynomial 0xEDB88320) with a 16-entry nibble table computed on the fly: no static
  // table, no heap, ~2 table steps per byte. Only the loader and the writer call it, once per file.
  constexpr uint32_t kPoly = 0xEDB88320u;
  uint32_t table[16];
  for (uint32_t i = 0; i < 16; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 4; ++k) c = (c & 1u) ? (c >> 1) ^ kPoly : c >> 1;
    table[i] = c;
  }
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) {
    crc ^= data[i];
    crc = (crc >> 4) ^ table[crc & 15u];
    crc = (crc >> 4) ^ table[crc & 15u];
  }
  return ~crc;
}

const char* lbm_dtype_name(LbmDtype d) {
  switch (d) {
    case LbmDtype::b1: return "b1";
    case LbmDtype::t2: return "t2";
    case LbmDtype::i2: return "i2";
    case LbmDtype::i4: return "i4";
    case LbmDtype::i8: return "i8";
    case LbmDtype::u8: return "u8";
    case LbmDtype::f32: return "f32";
    case LbmDtype::i32: return "i32";
  }
  return "?";
}

const char* lbm_op_kind_name(LbmOpKind k) {
  switch (k) {
    case LbmOpKind::quantize: return "quantize";
    case LbmOpKind::conv2d: return "conv2d";
    case LbmOpKind::linear: return "linear";
    case LbmOpKind::maxpool: return "maxpool";
    case LbmOpKind::avgpool: return "avgpool";
    case LbmOpKind::global_avgpool: return "global_avgpool";
    case LbmOpKind::add: return "add";
    case LbmOpKind::shortcut_a: return "shortcut_a";
    case LbmOpKind::flatten: return "flatten";
  }
  return "?";
}

const char* lbm_epilogue_name(LbmEpilogue e) {
  switch (e) {
    case LbmEpilogue::f32: return "f32";
    case LbmEpilogue::bits: return "bits";
    case LbmEpilogue::requant: return "requant";
    case LbmEpilogue::thresholds: return "thresholds";
  }
  return "?";
}

}  // namespace lowbit::runtime
