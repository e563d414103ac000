// The .lbm packed-model format: the record layouts, enums and constants shared by the host-side writer
// (runtime/lbm_writer.h), the loader (runtime/loader.h) and the executor. runtime/FORMAT.md is the byte-level
// specification in prose; this header is the same thing as C++ and is checked by static_asserts.
//
// A file is, in order (every integer and float little-endian, offsets from the start of the file):
//   header        LbmHeader, 128 bytes
//   tensor table  tensor_count × LbmTensor (64 bytes each)
//   op table      op_count × LbmOp (128 bytes each), in execution order
//   string pool   NUL-terminated UTF-8 names (model, tensors, ops)
//   blobs         constant tensor data, each starting at a multiple of 64 bytes (zero bytes in between)
//   CRC-32        4 bytes: CRC-32 (IEEE 802.3 / zlib: reflected polynomial 0xEDB88320, initial and final
//                 xor 0xFFFFFFFF) of every byte before it.
//
// Tensors are either constants (flag kLbmTensorConstant: a blob in the file, read-only, may live in flash) or
// activations (no blob: the runtime places them in its arena). Shapes are logical and per sample (no batch axis):
//   activations [C, H, W] or [F]; conv weights [O, C/groups, KH, KW]; linear weights [O, F]; vectors [O].
// Weight blobs use the canonical portable packings below (never an ISA-specific layout: a backend that wants
// another layout repacks into the arena at prepare time).
//
// Integer layers follow kernels/qlayer/qlayer.h: weight codes c_w with real value wscale[m]·(c_w − wzero),
// activation codes c_x with real value sx·(c_x − azero); the layer's exact integer accumulator is
//   T[m][n] = Σ_k 2·(c_w[m][k] − wzero)·(c_x[n][k] − azero)
// (zero padding contributes nothing), and every threshold in a file is a threshold on T.
#pragma once
#include <cstddef>
#include <cstdint>

namespace lowbit::runtime {

// ---- constants ----
inline constexpr uint8_t kLbmMagic[4] = {'L', 'B', 'M', 0x1A};
inline constexpr uint16_t kLbmVersionMajor = 1;  // a reader refuses any other major version
inline constexpr uint16_t kLbmVersionMinor = 0;  // additions a version-1 reader may ignore
inline constexpr uint32_t kLbmHeaderBytes = 128;
inline constexpr uint32_t kLbmBlobAlign = 64;
inline constexpr uint32_t kLbmNoTensor = 0xFFFFFFFFu;  // an absent optional tensor slot
inline constexpr uint32_t kLbmMaxRank = 4;
inline constexpr uint32_t kLbmMaxInputs = 10;
inline constexpr uint32_t kLbmMaxOutputs = 2;
inline constexpr uint32_t kLbmMaxAttrs = 16;
// Limits a loader enforces (a file past them is refused, not truncated).
inline constexpr uint32_t kLbmMaxTensors = 4096;
inline constexpr uint32_t kLbmMaxOps = 4096;
inline constexpr uint32_t kLbmMaxDim = 1u << 24;  // any one dimension

// ---- enums (stored as the integer values given) ----
enum class LbmDtype : uint8_t {
  b1 = 0,   // binary ±1, packed bits (kernels/packing.h: 64 per uint64 word, bit 1 = −1, tails 0)
  t2 = 1,   // ternary −1/0/+1: two b1 planes, mask (bit 1 = nonzero) then sign (bit 1 = −1), sign ⊆ mask
  i2 = 2,   // signed two's complement in [−2, 1], four per byte, element 4j+t in bits [2t, 2t+1] of byte j
  i4 = 3,   // signed two's complement in [−8, 7], two per byte, element 2j in the low nibble of byte j
  i8 = 4,   // signed, one per byte
  u8 = 5,   // unsigned codes, one per byte (activations: k-bit codes, 1 ≤ k ≤ 8)
  f32 = 6,  // IEEE-754 binary32
  i32 = 7,  // two's complement 32-bit
};
inline constexpr int kLbmDtypeCount = 8;

// What integer codes a tensor holds (weights and activations of integer layers; none for plain data).
enum class LbmCodes : uint8_t {
  none = 0,     // plain numbers (f32 data, i32 thresholds, …)
  binary = 1,   // codes −1, +1
  ternary = 2,  // codes −1, 0, +1
  uint = 3,     // codes 0 … 2^bits − 1
  sint = 4,     // codes −2^(bits−1) … 2^(bits−1) − 1
};

enum class LbmOpKind : uint16_t {
  quantize = 0,        // f32 → codes (u8 or b1), the next layer's quantizer
  conv2d = 1,          // integer conv (or fp32 conv with f32 input and weights), one of the epilogues
  linear = 2,          // integer linear (or fp32 linear with f32 input and weights), one of the epilogues
  maxpool = 3,         // f32, u8 codes or b1 codes
  avgpool = 4,         // f32
  global_avgpool = 5,  // f32 [C, H, W] → f32 [C]
  add = 6,             // f32 + f32 → f32, then an activation
  shortcut_a = 7,      // f32, the option-A residual shortcut (subsample + zero channels)
  flatten = 8,         // [C, H, W] → [C·H·W] in NCHW order (any dtype)
};
inline constexpr int kLbmOpKindCount = 9;

// Conv / linear epilogue: what becomes of T (attribute kAttrEpilogue).
enum class LbmEpilogue : uint8_t {
  f32 = 0,        // y = float(double(wscale[m])·sx·0.5·T) + bias[m]; optional z = y·a[m] + b[m]; + residual; act
  bits = 1,       // b1 output: bit m = (T < threshold[m]) XOR flip bit m
  requant = 2,    // u8 output: code = clamp(R(z·inv_step), 0, 2^bits − 1), z = a[m]·y + b[m], y without bias
  thresholds = 3, // u8 output: code = #{j : T ≥ t[m][j]} (flip 0) or #{j : T ≤ t[m][j]} (flip 1), j < 2^bits − 1
};

enum class LbmAct : uint8_t { none = 0, relu = 1, clamp = 2 };

// The quantize op's rule, kernels/fvec/fvec.h QuantKind: R = round half to even.
enum class LbmQuantKind : uint8_t {
  mul_clamp = 0,  // c = R(min(max(x·m, lo), hi)) + add
  div_clamp = 1,  // c = R(min(max(x/m, lo), hi)) + add
  clamp_mul = 2,  // c = R(min(max(x, lo), hi)·m/d) + add
  sign = 3,       // b1: bit = x < 0 (code −1), else code +1
};

// ---- op input slots (LbmOp::inputs index) ----
// conv2d / linear
inline constexpr int kInX = 0;         // input activation
inline constexpr int kInW = 1;         // weights (codes, or f32 for an fp32 layer)
inline constexpr int kInWScale = 2;    // f32 [O] or [1]: wscale (integer layers); absent for f32 weights
inline constexpr int kInBias = 3;      // f32 [O], optional (f32 epilogue)
inline constexpr int kInA = 4;         // f32 [O], optional: f32 epilogue BN multiplier a / requant scale a
inline constexpr int kInB = 5;         // f32 [O], optional: f32 epilogue BN offset b / requant shift b
inline constexpr int kInThreshold = 6; // i32 [O] (bits) or [O, 2^bits − 1] (thresholds)
inline constexpr int kInFlip = 7;      // b1 [O], optional (bits, thresholds): per-channel flip / direction
inline constexpr int kInResidual = 8;  // f32, optional (f32 epilogue): added after the affine, before act
// add: inputs 0 and 1. Every other op: input 0.

// ---- op attribute slots (LbmOp::attrs index; F = the word holds a float's bits) ----
// conv2d (linear uses only kAttrEpilogue … kAttrInvStep)
inline constexpr int kAttrKernelH = 0, kAttrKernelW = 1, kAttrStrideH = 2, kAttrStrideW = 3;
inline constexpr int kAttrPadH = 4, kAttrPadW = 5, kAttrGroups = 6;
inline constexpr int kAttrEpilogue = 7;  // LbmEpilogue
inline constexpr int kAttrAct = 8;       // LbmAct (f32 epilogue, add)
inline constexpr int kAttrActLo = 9;     // F: clamp bounds
inline constexpr int kAttrActHi = 10;    // F
inline constexpr int kAttrInvStep = 11;  // F: requant
// maxpool / avgpool: kAttrKernelH … kAttrPadW as above, and
inline constexpr int kAttrCountIncludePad = 6;  // avgpool: 1 = divide by KH·KW, 0 = by the taps inside
// quantize
inline constexpr int kAttrQKind = 0;  // LbmQuantKind
inline constexpr int kAttrQM = 1, kAttrQD = 2, kAttrQLo = 3, kAttrQHi = 4, kAttrQAdd = 5;  // F
// shortcut_a
inline constexpr int kAttrScStride = 0;  // subsample stride
inline constexpr int kAttrScFront = 1;   // zero channels before the copied ones

// ---- records ----
struct LbmHeader {
  uint8_t magic[4];            // kLbmMagic
  uint16_t version_major;      // kLbmVersionMajor
  uint16_t version_minor;
  uint32_t header_bytes;       // 128 in version 1.0 (a reader skips what it does not know)
  uint32_t flags;              // 0
  uint64_t file_bytes;         // the whole file, CRC included
  uint32_t tensor_count;
  uint32_t tensor_offset;      // LbmTensor[tensor_count], 8-byte aligned
  uint32_t op_count;
  uint32_t op_offset;          // LbmOp[op_count], 8-byte aligned
  uint32_t string_offset;
  uint32_t string_bytes;
  uint32_t input_tensor;       // the model input: an f32 activation [C, H, W]
  uint32_t output_tensor;      // the logits: an f32 activation [classes]
  uint32_t mean_tensor;        // f32 [C] constant or kLbmNoTensor: the normalisation the input already has
  uint32_t std_tensor;         // f32 [C] constant or kLbmNoTensor   (x = (pixel/255 − mean[c]) / std[c])
  uint32_t name_offset;        // model name in the string pool (offset from string_offset)
  uint32_t name_len;           // bytes, without the NUL
  uint8_t reserved[56];        // 0
};

struct LbmTensor {
  uint32_t name_offset;  // in the string pool
  uint32_t name_len;
  uint8_t dtype;         // LbmDtype
  uint8_t rank;          // 1 … 4
  uint8_t codes;         // LbmCodes
  uint8_t bits;          // code bits (1 … 8) for integer codes, else 0
  uint32_t flags;        // kLbmTensorConstant
  uint32_t dims[4];      // dims[rank … 3] = 0
  float scale;           // activations with codes: sx (real = scale·(code − zero_point)); else 1
  float zero_point;      // activations: integer azero; weights: wzero (a multiple of 1/2); else 0
  uint64_t offset;       // constants: blob offset (multiple of 64); activations: 0
  uint64_t size;         // constants: blob bytes (exactly the packed size); activations: 0
  uint64_t reserved;     // 0
};
inline constexpr uint32_t kLbmTensorConstant = 1u;

struct LbmOp {
  uint16_t kind;          // LbmOpKind
  uint8_t n_inputs;       // slots used (the rest kLbmNoTensor)
  uint8_t n_outputs;      // 1 in version 1
  uint32_t name_offset;   // in the string pool
  uint32_t name_len;
  uint32_t inputs[10];    // tensor ids or kLbmNoTensor
  uint32_t outputs[2];    // tensor ids or kLbmNoTensor
  uint32_t reserved;      // 0
  int32_t attrs[16];      // per kind (the kAttr* slots); unused 0
};

static_assert(sizeof(LbmHeader) == kLbmHeaderBytes, "LbmHeader is 128 bytes");
static_assert(sizeof(LbmTensor) == 64, "LbmTensor is 64 bytes");
static_assert(sizeof(LbmOp) == 128, "LbmOp is 128 bytes");
static_assert(sizeof(float) == 4 && sizeof(uint64_t) == 8, "IEEE binary32 and 64-bit words");
static_assert(kLbmMaxInputs == 10 && kLbmMaxOutputs == 2 && kLbmMaxAttrs == 16, "record slot counts");

// ---- canonical packed sizes ----
// Bytes of a constant with `rows` rows of `row_len` elements. Weight tensors pack one row per output channel
// (row_len = C/groups·KH·KW in OIHW order, or F); every other tensor is one row of all its elements.
//   b1: rows·words(row_len)·8;  t2: twice that (the whole mask plane, then the whole sign plane);
//   i2: rows·⌈row_len/4⌉;  i4: rows·⌈row_len/2⌉;  i8 / u8: rows·row_len;  f32 / i32: 4·rows·row_len.
// Returns 0 if the size does not fit 64 bits.
constexpr uint64_t lbm_packed_bytes(LbmDtype d, uint64_t rows, uint64_t row_len) {
  uint64_t per_row = 0;
  switch (d) {
    case LbmDtype::b1: per_row = (row_len + 63) / 64 * 8; break;
    case LbmDtype::t2: per_row = (row_len + 63) / 64 * 16; break;
    case LbmDtype::i2: per_row = (row_len + 3) / 4; break;
    case LbmDtype::i4: per_row = (row_len + 1) / 2; break;
    case LbmDtype::i8:
    case LbmDtype::u8: per_row = row_len; break;
    case LbmDtype::f32:
    case LbmDtype::i32: per_row = row_len > (~uint64_t{0}) / 4 ? 0 : row_len * 4; break;
  }
  if (rows != 0 && per_row > (~uint64_t{0}) / rows) return 0;
  return rows * per_row;
}

// CRC-32 (IEEE, reflected, as zlib's crc32): update `crc` (0 to start) with n bytes.
uint32_t lbm_crc32(uint32_t crc, const uint8_t* data, size_t n);

const char* lbm_dtype_name(LbmDtype d);
const char* lbm_op_kind_name(LbmOpKind k);
const char* lbm_epilogue_name(LbmEpilogue e);

}  // namespace lowbit::runtime
