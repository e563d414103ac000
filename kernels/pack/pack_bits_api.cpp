// Validating entry points of the sign-packing family: check pointers, sizes, strides and destination capacity,
// then call the active table. Nothing here writes out of bounds for any input.
#include "kernels/omp.h"
#include "kernels/pack/pack_bits.h"

namespace lowbit::kernels {

namespace {
// Elements spanned by `rows` rows of `row` elements at `stride` (rows ≥ 1), or SIZE_MAX on overflow.
size_t span(size_t rows, size_t row, size_t stride) {
  if (rows > 1 && stride > (SIZE_MAX - row) / (rows - 1)) return SIZE_MAX;
  return (rows - 1) * stride + row;
}
}  // namespace

Status pack_sign_rows(const float* src, size_t rows, size_t cols, size_t src_stride, bword* dst, size_t dst_stride,
                      size_t dst_capacity_words) {
  if (!src || !dst) return Status::null_pointer;
  const size_t words = packed_words(cols);
  if (rows == 0 || cols == 0 || src_stride < cols || dst_stride < words) return Status::bad_size;
  if (span(rows, words, dst_stride) > dst_capacity_words) return Status::bad_size;
  pack_bits_kernels().sign_rows(src, rows, cols, src_stride, dst, dst_stride);
  return Status::ok;
}

Status pack_nchw_to_nhwc_bits(const float* src, size_t n, size_t c, size_t h, size_t w, bword* dst,
                              size_t dst_capacity_words) {
  if (!src || !dst) return Status::null_pointer;
  if (n == 0 || c == 0 || h == 0 || w == 0) return Status::bad_size;
  const size_t pixels = n * h * w, words = packed_words(c);
  if (pixels / n / h != w || (words && pixels > SIZE_MAX / words) || pixels * words > dst_capacity_words)
    return Status::bad_size;
  pack_bits_kernels().nchw_to_nhwc(src, n, c, h, w, dst);
  return Status::ok;
}

Status pack_sign_bytes(const int8_t* src, size_t rows, size_t cols, size_t src_stride, bword* dst, size_t dst_stride,
                       size_t dst_capacity_words, int threads) {
  if (!src || !dst) return Status::null_pointer;
  const size_t words = packed_words(cols);
  if (rows == 0 || cols == 0 || src_stride < cols || dst_stride < words) return Status::bad_size;
  if (span(rows, words, dst_stride) > dst_capacity_words) return Status::bad_size;
  const pack_sign_bytes_fn kernel = pack_bits_kernels().sign_bytes;
  const int nt = rows * cols > (size_t{1} << 16) ? (threads > 0 ? threads : default_threads()) : 1;
  if (nt <= 1) {
    kernel(src, rows, cols, src_stride, dst, dst_stride);
    return Status::ok;
  }
  // Contiguous blocks of rows, one per thread.
  const size_t block = (rows + static_cast<size_t>(nt) - 1) / static_cast<size_t>(nt);
  LOWBIT_OMP(parallel for num_threads(nt) schedule(static))
  for (int t = 0; t < nt; ++t) {
    const size_t r0 = static_cast<size_t>(t) * block;
    if (r0 < rows) {
      const size_t n = rows - r0 < block ? rows - r0 : block;
      kernel(src + r0 * src_stride, n, cols, src_stride, dst + r0 * dst_stride, dst_stride);
    }
  }
  return Status::ok;
}

Status unpack_sign_rows(const bword* src, size_t rows, size_t cols, size_t src_stride, float* dst, size_t dst_stride,
                        size_t dst_capacity_floats) {
  if (!src || !dst) return Status::null_pointer;
  if (rows == 0 || cols == 0 || src_stride < packed_words(cols) || dst_stride < cols) return Status::bad_size;
  if (span(rows, cols, dst_stride) > dst_capacity_floats) return Status::bad_size;
  pack_bits_kernels().unpack_rows(src, rows, cols, src_stride, dst, dst_stride);
  return Status::ok;
}

}  // namespace lowbit::kernels
