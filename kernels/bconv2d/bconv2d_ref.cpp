// Reference bconv2d: a direct convolution on the packed bits, no im2col, no correction tables — the oracle.
// For each output element, taps inside the image add Cin − 2·popcount(w ⊕ x) over the Cw words (channel tails are
// 0 in both); taps in the padding add 0 (zero padding: a real 0 times anything) or ⟨w, +1⟩ = Cin − 2·popcount(w)
// (one padding). The integer dot then goes through the same transforms as bgemm (bgemm_affine, threshold/flip).
#include "kernels/bconv2d/bconv2d.h"
#include "kernels/bgemm/bgemm.h"
#include "kernels/kassert.h"
#include "kernels/omp.h"

namespace lowbit::kernels {

namespace {

int64_t dot_direct(const Bconv2dShape& s, const bword* input, const bword* weights, size_t b, size_t m, size_t oy,
                   size_t ox) {
  const size_t cw = s.in_words();
  int64_t dot = 0;
  for (size_t ky = 0; ky < s.kernel_h; ++ky)
    for (size_t kx = 0; kx < s.kernel_w; ++kx) {
      const bword* w = weights + ((m * s.kernel_h + ky) * s.kernel_w + kx) * cw;
      const long long iy = static_cast<long long>(oy * s.stride_h + ky) - static_cast<long long>(s.pad_h);
      const long long ix = static_cast<long long>(ox * s.stride_w + kx) - static_cast<long long>(s.pad_w);
      const bool inside = iy >= 0 && ix >= 0 && iy < static_cast<long long>(s.in_h) && ix < static_cast<long long>(s.in_w);
      if (inside) {
        const bword* x = input + ((b * s.in_h + static_cast<size_t>(iy)) * s.in_w + static_cast<size_t>(ix)) * cw;
        int64_t pop = 0;
        for (size_t k = 0; k < cw; ++k) pop += __builtin_popcountll(w[k] ^ x[k]);
        dot += static_cast<int64_t>(s.in_c) - 2 * pop;
      } else if (s.padding == Bconv2dPadding::one) {
        int64_t pop = 0;
        for (size_t k = 0; k < cw; ++k) pop += __builtin_popcountll(w[k]);
        dot += static_cast<int64_t>(s.in_c) - 2 * pop;
      }
    }
  return dot;
}

size_t out_index(const Bconv2dShape& s, Bconv2dLayout layout, size_t b, size_t m, size_t oy, size_t ox) {
  const size_t oh = s.out_h(), ow = s.out_w();
  return layout == Bconv2dLayout::nchw ? ((b * s.out_c + m) * oh + oy) * ow + ox : ((b * oh + oy) * ow + ox) * s.out_c + m;
}

// Calls f(b, oy, ox) for every output pixel, pixels split over threads.
template <class F>
void for_each_pixel(const Bconv2dShape& s, int threads, F f) {
  const long long pixels = static_cast<long long>(s.batch * s.out_h() * s.out_w());
  const int nt = threads > 0 ? threads : default_threads();
  (void)nt;
  LOWBIT_OMP(parallel for num_threads(nt) schedule(static))
  for (long long p = 0; p < pixels; ++p) {
    const size_t ow = s.out_w(), oh = s.out_h(), q = static_cast<size_t>(p);
    f(q / (oh * ow), (q / ow) % oh, q % ow);
  }
}

void bconv2d_i32_ref(const Bconv2dShape& s, const bword* input, const bword* weights, int32_t* out,
                     Bconv2dLayout layout, bword*, int threads) {
  LOWBIT_KASSERT(bconv2d_check(s) == Status::ok && input && weights && out);
  for_each_pixel(s, threads, [&](size_t b, size_t oy, size_t ox) {
    for (size_t m = 0; m < s.out_c; ++m)
      out[out_index(s, layout, b, m, oy, ox)] = static_cast<int32_t>(dot_direct(s, input, weights, b, m, oy, ox));
  });
}

void bconv2d_f32_ref(const Bconv2dShape& s, const bword* input, const bword* weights, const float* scale,
                     const float* bias, float* out, Bconv2dLayout layout, bword*, int threads) {
  LOWBIT_KASSERT(bconv2d_check(s) == Status::ok && input && weights && out);
  for_each_pixel(s, threads, [&](size_t b, size_t oy, size_t ox) {
    for (size_t m = 0; m < s.out_c; ++m)
      out[out_index(s, layout, b, m, oy, ox)] = bgemm_affine(scale ? scale[m] : 1.0f,
                                                             dot_direct(s, input, weights, b, m, oy, ox),
                                                             bias ? bias[m] : 0.0f);
  });
}

void bconv2d_bits_ref(const Bconv2dShape& s, const bword* input, const bword* weights, const int32_t* threshold,
                      const bword* flip, bword* out, bword*, int threads) {
  LOWBIT_KASSERT(bconv2d_check(s) == Status::ok && input && weights && threshold && out);
  const size_t words = packed_words(s.out_c);
  for_each_pixel(s, threads, [&](size_t b, size_t oy, size_t ox) {
    bword* row = out + ((b * s.out_h() + oy) * s.out_w() + ox) * words;
    for (size_t w = 0; w < words; ++w) row[w] = 0;
    for (size_t m = 0; m < s.out_c; ++m) {
      bword bit = dot_direct(s, input, weights, b, m, oy, ox) < threshold[m] ? 1u : 0u;
      if (flip) bit ^= (flip[m / kBitsPerWord] >> (m % kBitsPerWord)) & 1u;
      row[m / kBitsPerWord] |= bit << (m % kBitsPerWord);
    }
  });
}

size_t bconv2d_scratch_words_ref(const Bconv2dShape&) { return 0; }

}  // namespace

const Bconv2dKernels kBconv2dRef = {bconv2d_i32_ref, bconv2d_f32_ref, bconv2d_bits_ref, bconv2d_scratch_words_ref};

}  // namespace lowbit::kernels
