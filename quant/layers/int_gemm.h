// Exact integer GEMM over quantized codes, by one of the low-bit kernel families:
//
//   D[m][n] = Σ_k kc[m][k] · xc[n][k]
//
// kc are the weight's *kernel codes*, an affine re-labelling of its QCodes chosen to fit the backend:
//   real_w[m][k] = scale[m] · mult · (kc[m][k] − zk)
// (e.g. DoReFa codes c ∈ [0, 2^b − 1] with zero point (2^b − 1)/2 go to qgemm as signed kc = c − 2^(b−1);
// binary ±1 codes go to bitserial as unsigned kc = (c + 1)/2 with mult 2, zk 1/2). Activations are unsigned
// codes (zero point 0) or binary ±1; with real_x = sx·xc,
//   Σ_k real_w·real_x = scale[m]·mult·sx·(D[m][n] − zk·xsum[n]),   xsum[n] = Σ_k xc[n][k].
//
// Activation rows hold one byte per element: uint8 codes, or int8 ±1 for binary — and 0 where the element is
// zero padding (a conv border). Unsigned padding is exact as is (code 0 is the value 0). Binary kernels cannot
// represent 0 (the bit means ±1, and 0 packs as +1), so the caller passes per-row padding classes with a
// per-class correction table (padding_corrections, quant/layers/im2col.h) and D comes out exact:
// D −= corr[class[n]][m].
//
// Backends: bgemm (b1 × b1), tgemm (t2 × b1), bitserial (≤4-bit × ≤4-bit unsigned planes), qgemm
// (i2/i4/i8 × u8), reference (scalar int32 loops: anything, and the yardstick in tests).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/packing.h"
#include "kernels/qgemm/qgemm.h"
#include "quant/codes.h"

namespace lowbit::quant {

enum class IntBackend { reference, bgemm, tgemm, bitserial, qgemm };
const char* backend_name(IntBackend b);
IntBackend parse_backend(const std::string& name);  // "auto" is not a backend; throws listing the names

enum class ActKind { binary, uint };

// 64-byte aligned byte buffer (kernels read up to kPackedOverreadBytes past the end: always allocated).
class AlignedBytes {
 public:
  void resize(size_t bytes);  // grows only; contents unspecified after growth
  uint8_t* data() { return reinterpret_cast<uint8_t*>(buf_.get()); }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(buf_.get()); }
  template <class T>
  T* as() { return reinterpret_cast<T*>(buf_.get()); }
  template <class T>
  const T* as() const { return reinterpret_cast<const T*>(buf_.get()); }
  size_t size() const { return bytes_; }

 private:
  std::shared_ptr<float> buf_;
  size_t bytes_ = 0;
};

// Can backend b compute this pair of formats exactly?
bool backend_supports(IntBackend b, CodeFormat wf, int wbits, ActKind xk, int xbits);
// The backend a layer uses when none is forced: the binary/ternary families for binary activations, and for
// unsigned activations the faster of bitserial and qgemm for these bits on this CPU (timed once per bit pair
// on a mid-size GEMM, then remembered — the only state here, a dispatch table). Results are exact integers,
// so the choice never changes a number.
IntBackend choose_backend(CodeFormat wf, int wbits, ActKind xk, int xbits);

// One weight matrix [M][K] packed for one backend.
struct IntWeights {
  IntBackend backend = IntBackend::reference;
  size_t M = 0, K = 0;
  float mult = 1.0f, zk = 0.0f;  // real = scale[m]·mult·(kc − zk)
  std::vector<int8_t> kc;        // [M][K] kernel codes (reference backend, padding corrections)
  AlignedBytes packed;           // backend layout: b1 rows / t2 mask rows then sign rows / bit planes / qgemm panels
  size_t ldw = 0;                // words per row (bgemm, tgemm, bitserial)
  int kbits = 0;                 // bitserial weight planes
  std::vector<int32_t> aux;      // tgemm: nonzeros per row; qgemm: row sums
  kernels::QgemmWeights qw;      // qgemm view into packed/aux
};

// Packs rows [row0, row0 + M) of `w` viewed as [rows][K] (a conv weight [Cout][Cin/g·KH·KW] group slice).
IntWeights pack_int_weights(const QCodes& w, size_t row0, size_t M, size_t K, IntBackend b);

struct IntActs {
  ActKind kind = ActKind::uint;
  int bits = 8;
  size_t N = 0, K = 0;
  const uint8_t* rows = nullptr;  // N rows of K bytes, row stride ld (uint8 codes, or int8 ±1/0 for binary)
  size_t ld = 0;
  // Binary only: padding classes (null = no padding anywhere).
  const int32_t* row_class = nullptr;   // [N], 0 = no padded element
  const int32_t* class_corr = nullptr;  // [classes][M]: Σ of kc over the padded positions of that class
};

// Scratch reused across calls (owned by a layer).
struct IntGemmScratch {
  AlignedBytes xpacked, kscratch;
  std::vector<int32_t> xsum_tmp;
};

// D (row stride ldd ≥ N) = Σ_k kc·xc, exact. threads: kernel threads (≥ 1).
void int_gemm(const IntWeights& w, const IntActs& x, int32_t* D, size_t ldd, IntGemmScratch& scratch, int threads);

}  // namespace lowbit::quant
