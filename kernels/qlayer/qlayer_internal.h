// Private pieces shared by the qlayer translation units (kernels/qlayer/qlayer.h is the API): the kernel-code map,
// 64-byte section arithmetic for caller buffers, and the per-group integer GEMM.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/conv/pad_classes.h"
#include "kernels/qlayer/qlayer.h"

namespace lowbit::kernels::qlayer_detail {

// c_w = step·kc + shift (qlayer.h, "Kernel codes and backends").
struct KernelMap {
  int shift = 0, step = 1;
  int kbits = 0;  // bitserial weight planes (unsigned map)
  int qwtype = 0; // qgemm container (signed map): 0 i2, 1 i4, 2 i8
};
KernelMap kernel_map(QlBackend b, QlRoute r, QlWeightFormat f, int bits);

// Rounds up to a multiple of 64 bytes.
constexpr size_t align64(size_t n) { return (n + 63) / 64 * 64; }

// Carves 64-byte aligned sections from one buffer (sizes first, pointers second: the same code does both).
struct Carver {
  uint8_t* base = nullptr;  // null while sizing
  size_t used = 0;
  template <class T>
  T* take(size_t count) {
    T* p = base ? reinterpret_cast<T*>(base + used) : nullptr;
    used += align64(count * sizeof(T));
    return p;
  }
};

// The activation operand of one group's GEMM: N rows of K bytes (uint codes, or int8 ±1/0 for binary).
struct GemmActs {
  size_t N = 0, K = 0, ld = 0;
  const uint8_t* rows = nullptr;
  const int32_t* row_class = nullptr;   // binary, padded: [N] padding class (0 = none)
  const int32_t* class_corr = nullptr;  // [classes][Mg]
};

// Scratch a group GEMM needs beyond its output: packed activations and the kernel's own scratch (bytes).
size_t gemm_scratch_bytes(const QLayerPacked& p, size_t N);
// D[m·ldd + n] = Σ_k kc·xc for the Mg rows of group g, exact (binary: corrected for padding). out_of_range if an
// activation code does not fit the backend's planes.
Status gemm_group(const QLayerPacked& p, size_t g, const GemmActs& x, int32_t* D, size_t ldd, uint8_t* scratch,
                  int threads);

// One group's activation bytes channel-last [N][H][W][Cg] from any input layout (qlayer_im2col.cpp).
void gather_group(const QLayerPacked& p, const ConvGeom& g, const QLayerInput& x, size_t gi, uint8_t* dst,
                  int threads);
// Tap-major im2col of one image's channel-last bytes into rows of K = KH·KW·Cg bytes (row stride ld).
void im2col_rows(const uint8_t* nhwc, const ConvGeom& g, uint8_t* rows, size_t ld, uint8_t pad);

// Padding classes of a geometry and the per-group corrections [G][classes][Mg] (kernels/conv/pad_classes.h).
struct ClassBufs {
  PadClasses pc;
  int32_t* pixel_class = nullptr;  // [OH·OW]
  int32_t* corr = nullptr;         // [G][classes][Mg]
};
void carve_classes(const ConvGeom& g, size_t M, Carver& c, ClassBufs* out);
void build_classes(const QLayerPacked& p, const ConvGeom& g, ClassBufs& cb);

}  // namespace lowbit::kernels::qlayer_detail
