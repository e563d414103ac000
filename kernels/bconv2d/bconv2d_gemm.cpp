// bconv2d as im2col on packed bits + bgemm with the zero-padding correction (derivation in bconv2d.h).
//
// Scratch layout (words, in this order; sizes from bconv2d_gemm_scratch_words):
//   col        P·pw words        patches of one image, row p = output pixel oy·out_w + ox. Two row formats:
//                                 word-aligned (Cin % 64 = 0, or nothing to gain): pw = kh·kw·Cw words, tap
//                                 (ky, kx) at words [(ky·kw + kx)·Cw, +Cw), a copy of the input pixel or 0;
//                                 compact (Cin % 64 ≠ 0): pw = packed_words(kh·kw·Cin), tap t's Cin bits at bit
//                                 offset t·Cin (shifted in, padded taps left 0). With Cin = 16 a 3×3 patch is 3 words
//                                 instead of 9, so the GEMM does 3× less work on the small-channel layers of
//                                 CIFAR ResNets; the dot is unchanged because only zero bits are dropped.
//   wcompact   out_c·pw words    the weights in the same compact format (compact mode only; rebuilt per call)
//   col_class  P int32           class id of each output pixel (zero padding only; 0 = interior, no correction)
//   row_cls    out_h int32, col_cls out_w int32, ranges (lo, hi) of each row / column class
//   class_corr classes·out_c int32   corr[(ry·ncx + cx)·out_c + m] = Σ_{taps outside the valid rectangle}
//                                 (Cin − 2·popcount(w_m,tap))
//   wsum       out_c·kh·kw int32 Cin − 2·popcount(w_m,tap), the per-tap weight sums the classes add up
//   gemm       the bgemm table's scratch for (P, pw)
// Class enumeration per axis: the valid kernel range [lo, hi) of output position o is lo = clamp(pad − s·o),
// hi = clamp(in + pad − s·o) into [0, k]. Both are non-increasing in o, so equal ranges are consecutive; the full
// range (0, k) is forced to index 0 on both axes, which makes class id 0 exactly the interior.
#include <cstring>

#include "kernels/bconv2d/bconv2d_gemm.h"
#include "kernels/kassert.h"
#include "kernels/omp.h"

namespace lowbit::kernels {

namespace {

struct Range {
  int32_t lo, hi;
};

Range valid_range(size_t in, size_t k, size_t stride, size_t pad, size_t o) {
  const long long start = static_cast<long long>(o * stride) - static_cast<long long>(pad);  // input index of tap 0
  long long lo = -start, hi = static_cast<long long>(in) - start;
  const long long kk = static_cast<long long>(k);
  lo = lo < 0 ? 0 : (lo > kk ? kk : lo);
  hi = hi < lo ? lo : (hi > kk ? kk : hi);
  return {static_cast<int32_t>(lo), static_cast<int32_t>(hi)};
}

// Enumerates the classes of one axis; writes cls_of[o] and ranges[c] when the pointers are non-null.
size_t axis_classes(size_t in, size_t k, size_t stride, size_t pad, size_t out, int32_t* cls_of, Range* ranges) {
  size_t count = 1;  // class 0 = full range
  const Range full{0, static_cast<int32_t>(k)};
  if (ranges) ranges[0] = full;
  Range last{-1, -1};
  for (size_t o = 0; o < out; ++o) {
    const Range r = valid_range(in, k, stride, pad, o);
    int32_t c;
    if (r.lo == full.lo && r.hi == full.hi) {
      c = 0;
    } else {
      if (r.lo != last.lo || r.hi != last.hi) {
        if (ranges) ranges[count] = r;
        ++count;
        last = r;
      }
      c = static_cast<int32_t>(count - 1);
    }
    if (cls_of) cls_of[o] = c;
  }
  return count;
}

size_t words_for_i32(size_t n) { return (n * sizeof(int32_t) + sizeof(bword) - 1) / sizeof(bword); }

struct Layout {
  size_t P, pw, nry = 0, ncx = 0;
  bool compact;
  bword* col = nullptr;
  bword* wcompact = nullptr;
  int32_t* col_class = nullptr;
  int32_t* row_cls = nullptr;
  int32_t* col_cls = nullptr;
  Range* row_ranges = nullptr;
  Range* col_ranges = nullptr;
  int32_t* class_corr = nullptr;
  int32_t* wsum = nullptr;
  bword* gemm = nullptr;
  size_t total = 0;  // words

  Layout(const BgemmKernels& g, const Bconv2dShape& s, bword* base)
      : P(s.out_h() * s.out_w()),
        pw(s.patch_words()),
        compact(s.in_c % kBitsPerWord != 0 && packed_words(s.patch_bits()) < s.patch_words()) {
    if (compact) pw = packed_words(s.patch_bits());
    const bool zero = s.padding == Bconv2dPadding::zero;
    if (zero) {
      nry = axis_classes(s.in_h, s.kernel_h, s.stride_h, s.pad_h, s.out_h(), nullptr, nullptr);
      ncx = axis_classes(s.in_w, s.kernel_w, s.stride_w, s.pad_w, s.out_w(), nullptr, nullptr);
    }
    size_t at = 0;
    auto take = [&](size_t words) {
      bword* p = base ? base + at : nullptr;
      at += words;
      return p;
    };
    col = take(P * pw);
    if (compact) wcompact = take(s.out_c * pw);
    if (zero) {
      col_class = reinterpret_cast<int32_t*>(take(words_for_i32(P)));
      row_cls = reinterpret_cast<int32_t*>(take(words_for_i32(s.out_h())));
      col_cls = reinterpret_cast<int32_t*>(take(words_for_i32(s.out_w())));
      row_ranges = reinterpret_cast<Range*>(take(words_for_i32(2 * nry)));
      col_ranges = reinterpret_cast<Range*>(take(words_for_i32(2 * ncx)));
      class_corr = reinterpret_cast<int32_t*>(take(words_for_i32(nry * ncx * s.out_c)));
      wsum = reinterpret_cast<int32_t*>(take(words_for_i32(s.out_c * s.kernel_h * s.kernel_w)));
    }
    gemm = take(g.scratch_words(P, pw));
    total = at;
  }
};

// Portable popcount: this file is built for every ISA table without ISA flags, where __builtin_popcountll would be a
// libgcc call (~10 ns); the SWAR sum is a few ns and only runs out_c·kh·kw·Cw times per call.
inline int64_t popcount_swar(bword x) {
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<int64_t>((x * 0x0101010101010101ull) >> 56);
}

// Zero-padding correction tables (once per call; independent of the image). wsum[tap][m] = Cin − 2·popcount(w_m,tap)
// is computed once per tap; each class then adds the rows of the taps outside its valid rectangle (contiguous over
// m, so the adds vectorise).
void build_corrections(const Bconv2dShape& s, const bword* weights, Layout& L) {
  axis_classes(s.in_h, s.kernel_h, s.stride_h, s.pad_h, s.out_h(), L.row_cls, L.row_ranges);
  axis_classes(s.in_w, s.kernel_w, s.stride_w, s.pad_w, s.out_w(), L.col_cls, L.col_ranges);
  const size_t cw = s.in_words(), ow = s.out_w(), kh = s.kernel_h, kw = s.kernel_w, taps = kh * kw, M = s.out_c;
  for (size_t oy = 0, p = 0; oy < s.out_h(); ++oy)
    for (size_t ox = 0; ox < ow; ++ox, ++p) L.col_class[p] = L.row_cls[oy] * static_cast<int32_t>(L.ncx) + L.col_cls[ox];
  int32_t* wsum = L.wsum;
  for (size_t m = 0; m < M; ++m)
    for (size_t t = 0; t < taps; ++t) {
      const bword* w = weights + (m * taps + t) * cw;
      int64_t pop = 0;
      for (size_t k = 0; k < cw; ++k) pop += popcount_swar(w[k]);
      wsum[t * M + m] = static_cast<int32_t>(static_cast<int64_t>(s.in_c) - 2 * pop);
    }
  for (size_t ry = 0; ry < L.nry; ++ry)
    for (size_t cx = 0; cx < L.ncx; ++cx) {
      if (ry == 0 && cx == 0) continue;  // interior: no correction, row never read
      const Range r = L.row_ranges[ry], c = L.col_ranges[cx];
      int32_t* corr = L.class_corr + (ry * L.ncx + cx) * M;
      for (size_t m = 0; m < M; ++m) corr[m] = 0;
      for (size_t ky = 0; ky < kh; ++ky)
        for (size_t kx = 0; kx < kw; ++kx) {
          const bool inside = static_cast<int32_t>(ky) >= r.lo && static_cast<int32_t>(ky) < r.hi &&
                              static_cast<int32_t>(kx) >= c.lo && static_cast<int32_t>(kx) < c.hi;
          if (inside) continue;
          const int32_t* ws = wsum + (ky * kw + kx) * M;
          for (size_t m = 0; m < M; ++m) corr[m] += ws[m];
        }
    }
}

// ORs the first nbits bits of src (bits past nbits are 0 by the packing convention) into dst at bit offset pos.
// dst must hold pos + nbits bits and start zeroed; nothing is written past the last word holding a set bit.
inline void append_bits(bword* dst, size_t pos, const bword* src, size_t nbits) {
  bword* d = dst + pos / kBitsPerWord;
  const unsigned sh = static_cast<unsigned>(pos % kBitsPerWord);
  const size_t words = packed_words(nbits);
  if (sh == 0) {
    for (size_t i = 0; i < words; ++i) d[i] |= src[i];
    return;
  }
  for (size_t i = 0; i < words; ++i) {
    d[i] |= src[i] << sh;
    const bword hi = src[i] >> (kBitsPerWord - sh);
    if (hi) d[i + 1] |= hi;
  }
}

// Weights [out_c][kh·kw][Cw] → compact rows of L.pw words (tap t at bit t·Cin).
void compact_weights(const Bconv2dShape& s, const bword* weights, Layout& L) {
  const size_t cw = s.in_words(), taps = s.kernel_h * s.kernel_w;
  for (size_t m = 0; m < s.out_c; ++m) {
    bword* row = L.wcompact + m * L.pw;
    std::memset(row, 0, L.pw * sizeof(bword));
    for (size_t t = 0; t < taps; ++t) append_bits(row, t * s.in_c, weights + (m * taps + t) * cw, s.in_c);
  }
}

// Compact patches of image b into L.col (padded taps stay 0 = +1, the one-padding bits).
void im2col_bits_compact(const Bconv2dShape& s, const bword* input, size_t b, Layout& L, int nt) {
  const size_t cw = s.in_words(), oh = s.out_h(), ow = s.out_w(), kh = s.kernel_h, kw = s.kernel_w;
  const bword* img = input + b * s.in_h * s.in_w * cw;
  const long long rows = static_cast<long long>(oh);
  (void)nt;
  LOWBIT_OMP(parallel for num_threads(nt) schedule(static))
  for (long long oy_ = 0; oy_ < rows; ++oy_) {
    const size_t oy = static_cast<size_t>(oy_);
    const Range ry = valid_range(s.in_h, kh, s.stride_h, s.pad_h, oy);
    if (cw == 1) {
      // Cin < 64: one word per tap. The patch is written as a bit stream: `acc` holds the `nacc` pending bits, a
      // full word is stored as soon as it completes. Keeping the partial word in a register avoids the
      // read-modify-write chain through memory that OR-ing each tap into the row would create.
      const unsigned cin = static_cast<unsigned>(s.in_c);
      for (size_t ox = 0; ox < ow; ++ox) {
        const Range rx = valid_range(s.in_w, kw, s.stride_w, s.pad_w, ox);
        const long long ix0 = static_cast<long long>(ox * s.stride_w) - static_cast<long long>(s.pad_w);
        bword* dst = L.col + (oy * ow + ox) * L.pw;
        bword acc = 0;
        unsigned nacc = 0;
        auto put = [&](bword v) {
          acc |= v << nacc;  // nacc < 64 always
          if (nacc + cin >= kBitsPerWord) {
            *dst++ = acc;
            acc = v >> (kBitsPerWord - nacc);  // nacc > 0 here because cin < 64
            nacc = nacc + cin - static_cast<unsigned>(kBitsPerWord);
          } else {
            nacc += cin;
          }
        };
        if (ry.lo == 0 && ry.hi == static_cast<int32_t>(kh) && rx.lo == 0 && rx.hi == static_cast<int32_t>(kw)) {
          // Interior pixel: every tap is in the image, no bounds tests.
          const bword* src = img + (oy * s.stride_h - s.pad_h) * s.in_w + static_cast<size_t>(ix0);
          for (size_t ky = 0; ky < kh; ++ky, src += s.in_w)
            for (size_t kx = 0; kx < kw; ++kx) put(src[kx]);
          if (nacc > 0) *dst = acc;
          continue;
        }
        for (size_t ky = 0; ky < kh; ++ky) {
          const bool row_in = static_cast<int32_t>(ky) >= ry.lo && static_cast<int32_t>(ky) < ry.hi;
          const bword* src = row_in ? img + (oy * s.stride_h + ky - s.pad_h) * s.in_w : nullptr;
          for (size_t kx = 0; kx < kw; ++kx) {
            const bool in = row_in && static_cast<int32_t>(kx) >= rx.lo && static_cast<int32_t>(kx) < rx.hi;
            put(in ? src[static_cast<size_t>(ix0 + static_cast<long long>(kx))] : 0);
          }
        }
        if (nacc > 0) *dst = acc;
      }
      continue;
    }
    for (size_t ox = 0; ox < ow; ++ox) {
      bword* dst = L.col + (oy * ow + ox) * L.pw;
      std::memset(dst, 0, L.pw * sizeof(bword));
      for (size_t ky = 0; ky < kh; ++ky) {
        const long long iy = static_cast<long long>(oy * s.stride_h + ky) - static_cast<long long>(s.pad_h);
        if (iy < 0 || iy >= static_cast<long long>(s.in_h)) continue;
        const bword* src_row = img + static_cast<size_t>(iy) * s.in_w * cw;
        for (size_t kx = 0; kx < kw; ++kx) {
          const long long ix = static_cast<long long>(ox * s.stride_w + kx) - static_cast<long long>(s.pad_w);
          if (ix < 0 || ix >= static_cast<long long>(s.in_w)) continue;
          append_bits(dst, (ky * kw + kx) * s.in_c, src_row + static_cast<size_t>(ix) * cw, s.in_c);
        }
      }
    }
  }
}

// Patches of image b into L.col (one-padding bits: padded taps are zero words).
void im2col_bits(const Bconv2dShape& s, const bword* input, size_t b, Layout& L, int nt) {
  const size_t cw = s.in_words(), oh = s.out_h(), ow = s.out_w(), kh = s.kernel_h, kw = s.kernel_w;
  const bword* img = input + b * s.in_h * s.in_w * cw;
  const long long rows = static_cast<long long>(oh);
  (void)nt;
  LOWBIT_OMP(parallel for num_threads(nt) schedule(static))
  for (long long oy_ = 0; oy_ < rows; ++oy_) {
    const size_t oy = static_cast<size_t>(oy_);
    for (size_t ox = 0; ox < ow; ++ox) {
      bword* dst = L.col + (oy * ow + ox) * L.pw;
      for (size_t ky = 0; ky < kh; ++ky) {
        bword* d = dst + ky * kw * cw;
        const long long iy = static_cast<long long>(oy * s.stride_h + ky) - static_cast<long long>(s.pad_h);
        if (iy < 0 || iy >= static_cast<long long>(s.in_h)) {
          std::memset(d, 0, kw * cw * sizeof(bword));
          continue;
        }
        const bword* src_row = img + static_cast<size_t>(iy) * s.in_w * cw;
        const long long ix0 = static_cast<long long>(ox * s.stride_w) - static_cast<long long>(s.pad_w);
        if (s.stride_w == 1 && ix0 >= 0 && ix0 + static_cast<long long>(kw) <= static_cast<long long>(s.in_w)) {
          std::memcpy(d, src_row + static_cast<size_t>(ix0) * cw, kw * cw * sizeof(bword));  // whole kernel row
          continue;
        }
        for (size_t kx = 0; kx < kw; ++kx) {
          const long long ix = ix0 + static_cast<long long>(kx);
          if (ix < 0 || ix >= static_cast<long long>(s.in_w))
            std::memset(d + kx * cw, 0, cw * sizeof(bword));
          else
            std::memcpy(d + kx * cw, src_row + static_cast<size_t>(ix) * cw, cw * sizeof(bword));
        }
      }
    }
  }
}

BgemmOperands gemm_operands(const Bconv2dShape& s, const bword* weights, const Layout& L) {
  BgemmOperands op;
  op.M = s.out_c;
  op.N = L.P;
  op.K = s.patch_bits();
  op.kw = L.pw;
  op.A = L.compact ? L.wcompact : weights;
  op.lda = L.pw;
  op.B = L.col;
  op.ldb = L.pw;
  op.col_class = L.col_class;  // null in one-padding mode
  op.class_corr = L.class_corr;
  return op;
}

// Shared driver: corrections once, then im2col + run(b, op) per image.
template <class RunImage>
void drive(const BgemmKernels& g, const Bconv2dShape& s, const bword* input, const bword* weights, bword* scratch,
           int threads, RunImage run_image) {
  LOWBIT_KASSERT(bconv2d_check(s) == Status::ok && input && weights && scratch);
  Layout L(g, s, scratch);
  int nt = threads > 0 ? threads : default_threads();
  if (L.P * L.pw < (size_t{1} << 14)) nt = 1;  // too little im2col work to wake a second thread
  if (s.padding == Bconv2dPadding::zero) build_corrections(s, weights, L);
  if (L.compact) compact_weights(s, weights, L);
  const BgemmOperands op = gemm_operands(s, weights, L);
  for (size_t b = 0; b < s.batch; ++b) {
    if (L.compact)
      im2col_bits_compact(s, input, b, L, nt);
    else
      im2col_bits(s, input, b, L, nt);
    run_image(b, op, L.gemm, threads);
  }
}

}  // namespace

size_t bconv2d_gemm_scratch_words(const BgemmKernels& g, const Bconv2dShape& s) {
  if (bconv2d_check(s) != Status::ok) return 0;
  return Layout(g, s, nullptr).total;
}

void bconv2d_gemm_i32(const BgemmKernels& g, const Bconv2dShape& s, const bword* input, const bword* weights,
                      int32_t* out, Bconv2dLayout layout, bword* scratch, int threads) {
  const size_t P = s.out_h() * s.out_w(), M = s.out_c;
  drive(g, s, input, weights, scratch, threads, [&](size_t b, const BgemmOperands& op, bword* gs, int nt) {
    const BgemmOutI32 o = layout == Bconv2dLayout::nchw ? BgemmOutI32{out + b * M * P, P, 1}
                                                        : BgemmOutI32{out + b * P * M, 1, M};
    g.i32(op, o, gs, nt);
  });
}

void bconv2d_gemm_f32(const BgemmKernels& g, const Bconv2dShape& s, const bword* input, const bword* weights,
                      const float* scale, const float* bias, float* out, Bconv2dLayout layout, bword* scratch,
                      int threads) {
  const size_t P = s.out_h() * s.out_w(), M = s.out_c;
  drive(g, s, input, weights, scratch, threads, [&](size_t b, const BgemmOperands& op, bword* gs, int nt) {
    const BgemmOutF32 o = layout == Bconv2dLayout::nchw ? BgemmOutF32{out + b * M * P, P, 1, scale, bias}
                                                        : BgemmOutF32{out + b * P * M, 1, M, scale, bias};
    g.f32(op, o, gs, nt);
  });
}

void bconv2d_gemm_bits(const BgemmKernels& g, const Bconv2dShape& s, const bword* input, const bword* weights,
                       const int32_t* threshold, const bword* flip, bword* out, bword* scratch, int threads) {
  const size_t P = s.out_h() * s.out_w(), words = packed_words(s.out_c);
  drive(g, s, input, weights, scratch, threads, [&](size_t b, const BgemmOperands& op, bword* gs, int nt) {
    g.bits(op, BgemmOutBits{out + b * P * words, words, threshold, flip}, gs, nt);
  });
}

}  // namespace lowbit::kernels
