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
//   rows       (in_h + 1)·rw     compact mode only: the image of the current batch item with its channel padding
//                                 squeezed out and the left/right zero padding put in, one bit string per image row:
//                                 row iy, bits [(x + pad_w)·Cin, +Cin) = the Cin channel bits of pixel x, 0 in the
//                                 padding; rw = packed_words((in_w + 2·pad_w)·Cin) + 1 (a spare word for 8-byte
//                                 loads at any byte offset). The extra last row is all zero (rows above / below).
//                                 A kernel row of output pixel (oy, ox) is then the kw·Cin consecutive bits at bit
//                                 ox·stride_w·Cin of row oy·stride_h + ky − pad_h, copied in ≤ 56-bit pieces with
//                                 one unaligned 8-byte load each (Cin = 16, k = 3: one load per kernel row, 3 per
//                                 patch, instead of 9 per-tap shifts and a bounds test per tap).
//   col_class  P int32           class id of each output pixel (zero padding only; 0 = interior, no correction)
//   row_cls    out_h int32, col_cls out_w int32, ranges (lo, hi) of each row / column class
//   class_corr classes·out_c int32   corr[(ry·ncx + cx)·out_c + m] = Σ_{taps outside the valid rectangle}
//                                 (Cin − 2·popcount(w_m,tap))
//   wsum       out_c·kh·kw int32 Cin − 2·popcount(w_m,tap), the per-tap weight sums the classes add up
//   gemm       the bgemm table's scratch for (P, pw)
// The classes and corrections are kernels/conv/pad_classes.h's (the one implementation, shared with the quantized
// layers; derivation there).
//
// Threads: the im2col of an image splits output rows over `threads` once it writes at least kMinIm2colWords words
// (smaller layers run it on the calling thread: waking a worker costs about what 2K words of patches do); the GEMM
// then splits by its own rule (bgemm_driver.h: at least 2^15 word-ops per thread). Images too small for that rule
// but worth one fork (the ResNet-20 layers at batch 1, 37K-49K word-ops) instead run the whole pipeline — squeeze,
// patches, GEMM — as two halves of output rows on two threads (drive()). Every output element is computed by
// exactly one thread.
#include <cstring>

#include "kernels/bconv2d/bconv2d_gemm.h"
#include "kernels/conv/pad_classes.h"
#include "kernels/kassert.h"
#include "kernels/omp.h"

namespace lowbit::kernels {

namespace {

constexpr size_t kMinIm2colWords = size_t{1} << 11;

size_t words_for_i32(size_t n) { return (n * sizeof(int32_t) + sizeof(bword) - 1) / sizeof(bword); }

struct Layout {
  size_t P, pw, nry = 0, ncx = 0;
  bool compact;
  bword* col = nullptr;
  bword* wcompact = nullptr;
  bword* rows = nullptr;
  size_t rw = 0;  // words per row of `rows`
  int32_t* col_class = nullptr;
  PadClasses pc;  // row / column classes (views into the scratch)
  int32_t* class_corr = nullptr;
  int32_t* wsum = nullptr;
  bword* gemm = nullptr;
  size_t gemm_half0 = 0;  // words of the first half's bgemm scratch (split_image)
  size_t total = 0;       // words

  Layout(const BgemmKernels& g, const Bconv2dShape& s, bword* base)
      : P(s.out_h() * s.out_w()),
        pw(s.patch_words()),
        compact(s.in_c % kBitsPerWord != 0 && packed_words(s.patch_bits()) < s.patch_words() && s.kernel_h <= 64) {
    if (compact) pw = packed_words(s.patch_bits());
    const bool zero = s.padding == Bconv2dPadding::zero;
    if (zero) {
      pc = pad_class_counts(s.geom());
      nry = pc.rows, ncx = pc.cols;
    }
    size_t at = 0;
    auto take = [&](size_t words) {
      bword* p = base ? base + at : nullptr;
      at += words;
      return p;
    };
    col = take(P * pw);
    if (compact) {
      wcompact = take(s.out_c * pw);
      rw = packed_words((s.in_w + 2 * s.pad_w) * s.in_c) + 1;
      rows = take((s.in_h + 1) * rw);
    }
    if (zero) {
      col_class = reinterpret_cast<int32_t*>(take(words_for_i32(P)));
      pc.row_cls = reinterpret_cast<int32_t*>(take(words_for_i32(s.out_h())));
      pc.col_cls = reinterpret_cast<int32_t*>(take(words_for_i32(s.out_w())));
      pc.row_ranges = reinterpret_cast<PadRange*>(take(words_for_i32(2 * nry)));
      pc.col_ranges = reinterpret_cast<PadRange*>(take(words_for_i32(2 * ncx)));
      class_corr = reinterpret_cast<int32_t*>(take(words_for_i32(nry * ncx * s.out_c)));
      wsum = reinterpret_cast<int32_t*>(take(words_for_i32(s.out_c * s.kernel_h * s.kernel_w)));
    }
    // bgemm scratch: the whole image's, or (split_image) one per half, the second at gemm + gemm_half0.
    const size_t P0 = (s.out_h() / 2) * s.out_w();
    gemm_half0 = g.scratch_words(P0, pw);
    const size_t whole = g.scratch_words(P, pw), halves = gemm_half0 + g.scratch_words(P - P0, pw);
    gemm = take(whole > halves ? whole : halves);
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

// Zero-padding correction tables (once per call; independent of the image): the classes and their corrections
// (kernels/conv/pad_classes.h) from wsum[tap][m] = Cin − 2·popcount(w_m,tap), the per-tap sums of the ±1 weights.
void build_corrections(const Bconv2dShape& s, const bword* weights, Layout& L) {
  const ConvGeom g = s.geom();
  pad_classes_build(g, L.pc);
  pad_pixel_classes(g, L.pc, L.col_class);
  const size_t cw = s.in_words(), taps = s.kernel_h * s.kernel_w, M = s.out_c;
  int32_t* wsum = L.wsum;
  for (size_t m = 0; m < M; ++m)
    for (size_t t = 0; t < taps; ++t) {
      const bword* w = weights + (m * taps + t) * cw;
      int64_t pop = 0;
      for (size_t k = 0; k < cw; ++k) pop += popcount_swar(w[k]);
      wsum[t * M + m] = static_cast<int32_t>(static_cast<int64_t>(s.in_c) - 2 * pop);
    }
  pad_class_corrections(g, L.pc, wsum, M, L.class_corr);
}

// Writes a bit string front to back, each word once: put(v, n) appends the n low bits of v (bits above n must be
// 0). Keeping the partial word in a register avoids a read-modify-write chain through memory per piece.
struct BitStream {
  bword* dst;
  bword acc = 0;
  unsigned nacc = 0;  // pending bits in acc, < 64
  explicit BitStream(bword* d, size_t start_bit = 0)
      : dst(d + start_bit / kBitsPerWord), nacc(static_cast<unsigned>(start_bit % kBitsPerWord)) {}
  void put(bword v, unsigned n) {  // 1 ≤ n ≤ 64
    acc |= v << nacc;
    if (nacc + n >= kBitsPerWord) {
      *dst++ = acc;
      acc = nacc ? v >> (kBitsPerWord - nacc) : 0;
      nacc = nacc + n - static_cast<unsigned>(kBitsPerWord);
    } else {
      nacc += n;
    }
  }
  // The first `bits` bits of a packed row (bits past them are 0 by the packing convention).
  void put_row(const bword* src, size_t bits) {
    for (; bits > kBitsPerWord; bits -= kBitsPerWord) put(*src++, static_cast<unsigned>(kBitsPerWord));
    put(*src, static_cast<unsigned>(bits));
  }
  void flush() {
    if (nacc > 0) *dst = acc;
  }
};

// n ≤ 56 bits of a bit string starting at bit `pos`, from one unaligned 8-byte load (pos % 8 + n ≤ 63).
inline bword load_bits(const bword* base, size_t pos, unsigned n) {
  bword v;
  std::memcpy(&v, reinterpret_cast<const unsigned char*>(base) + pos / 8, sizeof(v));
  return (v >> (pos % 8)) & ((bword{1} << n) - 1);
}

// Weights [out_c][kh·kw][Cw] → compact rows of L.pw words (tap t at bit t·Cin).
void compact_weights(const Bconv2dShape& s, const bword* weights, Layout& L) {
  const size_t cw = s.in_words(), taps = s.kernel_h * s.kernel_w;
  for (size_t m = 0; m < s.out_c; ++m) {
    BitStream w(L.wcompact + m * L.pw);
    for (size_t t = 0; t < taps; ++t) w.put_row(weights + (m * taps + t) * cw, s.in_c);
    w.flush();
  }
}

// Rows [iy0, iy1) of L.rows for image b (layout in the header comment); `last` also clears the zero row below the
// image that padded kernel rows read.
void squeeze_rows(const Bconv2dShape& s, const bword* input, size_t b, Layout& L, size_t iy0, size_t iy1, bool last) {
  const size_t cw = s.in_words();
  const bword* img = input + b * s.in_h * s.in_w * cw;
  std::memset(L.rows + iy0 * L.rw, 0, (iy1 - iy0 + (last ? 1 : 0)) * L.rw * sizeof(bword));
  for (size_t iy = iy0; iy < iy1; ++iy) {
    BitStream w(L.rows + iy * L.rw, s.pad_w * s.in_c);
    const bword* px = img + iy * s.in_w * cw;
    for (size_t x = 0; x < s.in_w; ++x, px += cw) w.put_row(px, s.in_c);
    w.flush();
  }
}

// Compact patches of output row oy of image b into L.col from L.rows (padded taps are 0 bits = +1, the
// one-padding value).
void im2col_bits_compact_row(const Bconv2dShape& s, Layout& L, size_t oy) {
  const size_t ow = s.out_w(), kh = s.kernel_h, cin = s.in_c;
  const size_t row_bits = s.kernel_w * cin;  // one kernel row of a patch
  const bword* zero_row = L.rows + s.in_h * L.rw;
  const bword* src[64];  // the image row of each kernel row (zero_row in the padding); kh ≤ 64 here
  for (size_t ky = 0; ky < kh; ++ky) {
    const long long iy = static_cast<long long>(oy * s.stride_h + ky) - static_cast<long long>(s.pad_h);
    src[ky] = iy < 0 || iy >= static_cast<long long>(s.in_h) ? zero_row : L.rows + static_cast<size_t>(iy) * L.rw;
  }
  if (row_bits <= 56) {
    // One piece per kernel row (e.g. Cin = 16, kw = 3: 48 bits): no inner loop, one mask for the whole call.
    const unsigned n = static_cast<unsigned>(row_bits);
    const bword mask = (bword{1} << n) - 1;
    for (size_t ox = 0; ox < ow; ++ox) {
      BitStream w(L.col + (oy * ow + ox) * L.pw);
      const size_t pos = ox * s.stride_w * cin;
      const size_t byte = pos / 8;
      const unsigned shift = static_cast<unsigned>(pos % 8);
      for (size_t ky = 0; ky < kh; ++ky) {
        bword v;
        std::memcpy(&v, reinterpret_cast<const unsigned char*>(src[ky]) + byte, sizeof(v));
        w.put((v >> shift) & mask, n);
      }
      w.flush();
    }
    return;
  }
  for (size_t ox = 0; ox < ow; ++ox) {
    BitStream w(L.col + (oy * ow + ox) * L.pw);
    const size_t pos0 = ox * s.stride_w * cin;
    for (size_t ky = 0; ky < kh; ++ky)
      for (size_t done = 0; done < row_bits;) {
        const unsigned n = static_cast<unsigned>(row_bits - done < 56 ? row_bits - done : 56);
        w.put(load_bits(src[ky], pos0 + done, n), n);
        done += n;
      }
    w.flush();
  }
}

// Patches of output row oy of image b into L.col (one-padding bits: padded taps are zero words).
void im2col_bits_row(const Bconv2dShape& s, const bword* input, size_t b, Layout& L, size_t oy) {
  const size_t cw = s.in_words(), ow = s.out_w(), kh = s.kernel_h, kw = s.kernel_w;
  const bword* img = input + b * s.in_h * s.in_w * cw;
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

// Image work (M·P·patch words) below which bgemm would run on one thread (bgemm_driver.h: 2^15 word-ops per
// thread) and above which splitting the whole image pipeline in two pays for one fork/join (~1-2 µs).
constexpr size_t kSplitImageMaxWordOps = size_t{1} << 16;
constexpr size_t kSplitImageMinWordOps = size_t{1} << 13;  // LeNet-5 conv2 (16×100×3 = 4.8K) measured slower split

// The sub-GEMM of output pixels [p0, p1) (their patches are rows p0.. of L.col).
BgemmOperands pixel_range(BgemmOperands op, size_t p0, size_t p1, size_t pw) {
  op.N = p1 - p0;
  op.B += p0 * pw;
  if (op.col_class) op.col_class += p0;
  return op;
}

// Shared driver: corrections once, then per image the patches (squeezed rows first when compact) and
// run(b, op, scratch, threads, p0) — the GEMM of the pixels from p0 on, whose outputs run offsets by p0.
// Threads: a large image splits its im2col rows over the threads and lets bgemm split by its own rule. A small
// one with two threads available (work between kSplitImageMin/MaxWordOps: ResNet-20-sized layers at batch 1,
// where two separate fork/joins for im2col and bgemm gained ~9 % at best and mostly lost) runs as one parallel
// region: each thread squeezes half the input rows, waits for the other, then builds the patches of half the
// output rows and multiplies them on its own with its own bgemm scratch. Every output element is computed by
// exactly one thread in the same way, so the results stay bit-identical for any thread count.
template <class RunImage>
void drive(const BgemmKernels& g, const Bconv2dShape& s, const bword* input, const bword* weights, bword* scratch,
           int threads, RunImage run_image) {
  LOWBIT_KASSERT(bconv2d_check(s) == Status::ok && input && weights && scratch);
  Layout L(g, s, scratch);
  int nt = threads > 0 ? threads : default_threads();
  if (L.P * L.pw < kMinIm2colWords) nt = 1;
  if (s.padding == Bconv2dPadding::zero) build_corrections(s, weights, L);
  if (L.compact) compact_weights(s, weights, L);
  const BgemmOperands op = gemm_operands(s, weights, L);
  const size_t oh = s.out_h(), ow = s.out_w(), work = s.out_c * L.P * L.pw;
  const int avail = threads > 0 ? threads : default_threads();
#if defined(_OPENMP)
  constexpr bool have_threads = true;
#else
  constexpr bool have_threads = false;  // no threads to split over (firmware): nt is unused too
#endif
  const bool split_image =
      have_threads && avail >= 2 && oh >= 2 && work >= kSplitImageMinWordOps && work < kSplitImageMaxWordOps;
  (void)nt;
  for (size_t b = 0; b < s.batch; ++b) {
    if (split_image) {
      LOWBIT_OMP(parallel num_threads(2))
      {
        // Halves h = 0, 1 go to threads 0, 1; a team of one (nested inside another parallel region) does both.
#if defined(_OPENMP)
        const size_t tid = static_cast<size_t>(omp_get_thread_num()), team = static_cast<size_t>(omp_get_num_threads());
#else
        const size_t tid = 0, team = 1;
#endif
        if (L.compact) {
          for (size_t h = tid; h < 2; h += team)
            squeeze_rows(s, input, b, L, h * s.in_h / 2, (h + 1) * s.in_h / 2, h == 1);
          LOWBIT_OMP(barrier)
        }
        for (size_t h = tid; h < 2; h += team) {
          const size_t oy0 = h * (oh / 2), oy1 = h == 0 ? oh / 2 : oh;
          for (size_t oy = oy0; oy < oy1; ++oy) {
            if (L.compact) im2col_bits_compact_row(s, L, oy);
            else im2col_bits_row(s, input, b, L, oy);
          }
          run_image(b, pixel_range(op, oy0 * ow, oy1 * ow, L.pw), L.gemm + h * L.gemm_half0, 1, oy0 * ow);
        }
      }
      continue;
    }
    if (L.compact) squeeze_rows(s, input, b, L, 0, s.in_h, true);
    const long long rows = static_cast<long long>(oh);
    LOWBIT_OMP(parallel for num_threads(nt) schedule(static))
    for (long long oy = 0; oy < rows; ++oy) {
      if (L.compact) im2col_bits_compact_row(s, L, static_cast<size_t>(oy));
      else im2col_bits_row(s, input, b, L, static_cast<size_t>(oy));
    }
    run_image(b, op, L.gemm, threads, size_t{0});
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
  drive(g, s, input, weights, scratch, threads, [&](size_t b, const BgemmOperands& op, bword* gs, int nt, size_t p0) {
    const BgemmOutI32 o = layout == Bconv2dLayout::nchw ? BgemmOutI32{out + b * M * P + p0, P, 1}
                                                        : BgemmOutI32{out + (b * P + p0) * M, 1, M};
    g.i32(op, o, gs, nt);
  });
}

void bconv2d_gemm_f32(const BgemmKernels& g, const Bconv2dShape& s, const bword* input, const bword* weights,
                      const float* scale, const float* bias, float* out, Bconv2dLayout layout, bword* scratch,
                      int threads) {
  const size_t P = s.out_h() * s.out_w(), M = s.out_c;
  drive(g, s, input, weights, scratch, threads, [&](size_t b, const BgemmOperands& op, bword* gs, int nt, size_t p0) {
    const BgemmOutF32 o = layout == Bconv2dLayout::nchw ? BgemmOutF32{out + b * M * P + p0, P, 1, scale, bias}
                                                        : BgemmOutF32{out + (b * P + p0) * M, 1, M, scale, bias};
    g.f32(op, o, gs, nt);
  });
}

void bconv2d_gemm_bits(const BgemmKernels& g, const Bconv2dShape& s, const bword* input, const bword* weights,
                       const int32_t* threshold, const bword* flip, bword* out, bword* scratch, int threads) {
  const size_t P = s.out_h() * s.out_w(), words = packed_words(s.out_c);
  drive(g, s, input, weights, scratch, threads, [&](size_t b, const BgemmOperands& op, bword* gs, int nt, size_t p0) {
    g.bits(op, BgemmOutBits{out + (b * P + p0) * words, words, threshold, flip}, gs, nt);
  });
}

}  // namespace lowbit::kernels
