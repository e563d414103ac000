// qgemm weight packing into the private panel layout documented in kernels/qgemm/qgemm.h, and its inverse
// accessor. Runs once per weight matrix (load time), so it is plain scalar code.
#include <cstring>

#include "kernels/pack/pack_nibbles.h"
#include "kernels/qgemm/qgemm.h"

namespace lowbit::kernels {

int32_t qgemm_code_offset(QWeight w, QAct x) {
  switch (w) {
    case QWeight::i2: return 2;
    case QWeight::i4: return 8;
    case QWeight::i8: return x == QAct::s8 ? 128 : 0;
  }
  return 0;
}

namespace {
inline int canonical_weight(QWeight wt, const uint8_t* row, size_t k) {
  switch (wt) {
    case QWeight::i2: return get_i2(row, k);
    case QWeight::i4: return get_i4(row, k);
    case QWeight::i8: return static_cast<int8_t>(row[k]);
  }
  return 0;
}
// Byte offset and bit shift of code (row l of the panel, k) inside a panel's block sequence.
inline void locate(QWeight wt, size_t l, size_t k, size_t* byte, int* shift) {
  const size_t L = qgemm_superblock(wt);
  const size_t b = k / L, r = k % L;
  *byte = b * 64 + 4 * l + (r % 4);
  *shift = wt == QWeight::i2 ? int(2 * (r / 4)) : (wt == QWeight::i4 ? int(4 * (r / 4)) : 0);
}
}  // namespace

Status qgemm_pack_weights(QWeight wtype, QAct xtype, const void* src, size_t M, size_t K, size_t lds, uint8_t* data,
                          size_t dst_bytes, int32_t* wsum, QgemmWeights* out) {
  if (!src || !data || !wsum || !out) return Status::null_pointer;
  const size_t row_bytes = wtype == QWeight::i2 ? packed_bytes_i2(K) : wtype == QWeight::i4 ? packed_bytes_i4(K) : K;
  if (M == 0 || K == 0 || K > kQgemmMaxK || lds < row_bytes || dst_bytes < qgemm_packed_bytes(wtype, M, K) ||
      reinterpret_cast<uintptr_t>(data) % 64 != 0)
    return Status::bad_size;
  const size_t bytes = qgemm_packed_bytes(wtype, M, K);
  const size_t panel_bytes = bytes / qgemm_panels(M);
  std::memset(data, 0, bytes);  // padding rows / K: code 0
  const int off = qgemm_code_offset(wtype, xtype);
  const int mask = wtype == QWeight::i2 ? 0x3 : wtype == QWeight::i4 ? 0xF : 0xFF;
  for (size_t m = 0; m < qgemm_panels(M) * kQgemmPanelRows; ++m) {
    if (m >= M) {
      wsum[m] = 0;
      continue;
    }
    const uint8_t* row = static_cast<const uint8_t*>(src) + m * lds;
    uint8_t* panel = data + (m / kQgemmPanelRows) * panel_bytes;
    int32_t s = 0;
    for (size_t k = 0; k < K; ++k) {
      const int w = canonical_weight(wtype, row, k);
      s += w;
      size_t byte;
      int shift;
      locate(wtype, m % kQgemmPanelRows, k, &byte, &shift);
      panel[byte] = static_cast<uint8_t>(panel[byte] | (((w + off) & mask) << shift));
    }
    wsum[m] = s;
  }
  out->data = data;
  out->wsum = wsum;
  out->M = M;
  out->K = K;
  out->wtype = wtype;
  out->xtype = xtype;
  return Status::ok;
}

int qgemm_packed_weight(const QgemmWeights& w, size_t m, size_t k) {
  const size_t panel_bytes = qgemm_packed_bytes(w.wtype, w.M, w.K) / qgemm_panels(w.M);
  size_t byte;
  int shift;
  locate(w.wtype, m % kQgemmPanelRows, k, &byte, &shift);
  const int mask = w.wtype == QWeight::i2 ? 0x3 : w.wtype == QWeight::i4 ? 0xF : 0xFF;
  const int u = (w.data[(m / kQgemmPanelRows) * panel_bytes + byte] >> shift) & mask;
  const int off = qgemm_code_offset(w.wtype, w.xtype);
  // i8 with u8 activations stores the raw two's-complement byte (off = 0).
  if (w.wtype == QWeight::i8 && off == 0) return static_cast<int8_t>(u);
  return u - off;
}

}  // namespace lowbit::kernels
