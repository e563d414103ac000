#include <doctest/doctest.h>

#include <cstring>
#include <vector>

#include "kernels/bconv2d/bconv2d.h"
#include "kernels/bgemm/bgemm.h"
#include "kernels/omp.h"
#include "kernels/pack/pack_bits.h"
#include "tests/kernels/kernel_test_util.h"

using namespace lowbit::kernels;
using namespace lowbit::kernels::testing;

namespace {

// A conv problem in fp32 (±1 values) and packed bits.
struct Conv {
  Bconv2dShape s;
  std::vector<float> x;  // NCHW ±1
  std::vector<float> w;  // [out_c][kh][kw][in_c] ±1
  std::vector<bword> xb, wb;
  std::vector<float> scale, bias;
  std::vector<int32_t> thr;
  std::vector<bword> flip;
};

Conv make_conv(Rng& rng, const Bconv2dShape& s) {
  Conv c;
  c.s = s;
  c.x = random_floats(rng, s.batch * s.in_c * s.in_h * s.in_w);
  for (auto& v : c.x) v = v < 0.0f ? -1.0f : 1.0f;
  c.w = random_floats(rng, s.out_c * s.kernel_h * s.kernel_w * s.in_c);
  for (auto& v : c.w) v = v < 0.0f ? -1.0f : 1.0f;
  const size_t cw = s.in_words();
  c.xb.assign(s.batch * s.in_h * s.in_w * cw, 0);
  REQUIRE(pack_nchw_to_nhwc_bits(c.x.data(), s.batch, s.in_c, s.in_h, s.in_w, c.xb.data(), c.xb.size()) == Status::ok);
  c.wb.assign(s.out_c * s.kernel_h * s.kernel_w * cw, 0);
  REQUIRE(pack_sign_rows(c.w.data(), s.out_c * s.kernel_h * s.kernel_w, s.in_c, s.in_c, c.wb.data(), cw,
                         c.wb.size()) == Status::ok);
  std::uniform_real_distribution<float> u(-1.5f, 1.5f);
  const float k = static_cast<float>(s.patch_bits());
  for (size_t m = 0; m < s.out_c; ++m) {
    c.scale.push_back(m % 5 == 2 ? -u(rng) * u(rng) : u(rng));
    c.bias.push_back(u(rng) * k * 0.2f);
  }
  c.thr.resize(s.out_c);
  c.flip.resize(packed_words(s.out_c));
  bgemm_thresholds_from_affine(c.scale.data(), c.bias.data(), s.out_c, c.thr.data(), c.flip.data());
  return c;
}

// The straightforward fp32 convolution: real zeros (zero mode) or +1 (one mode) outside the image. NCHW out.
std::vector<float> conv_fp32(const Conv& c) {
  const Bconv2dShape& s = c.s;
  const size_t oh = s.out_h(), ow = s.out_w();
  std::vector<float> out(s.batch * s.out_c * oh * ow);
  const float pad_value = s.padding == Bconv2dPadding::zero ? 0.0f : 1.0f;
  for (size_t b = 0; b < s.batch; ++b)
    for (size_t m = 0; m < s.out_c; ++m)
      for (size_t oy = 0; oy < oh; ++oy)
        for (size_t ox = 0; ox < ow; ++ox) {
          float acc = 0.0f;
          for (size_t ky = 0; ky < s.kernel_h; ++ky)
            for (size_t kx = 0; kx < s.kernel_w; ++kx)
              for (size_t ci = 0; ci < s.in_c; ++ci) {
                const long long iy = static_cast<long long>(oy * s.stride_h + ky) - static_cast<long long>(s.pad_h);
                const long long ix = static_cast<long long>(ox * s.stride_w + kx) - static_cast<long long>(s.pad_w);
                const bool in = iy >= 0 && ix >= 0 && iy < static_cast<long long>(s.in_h) &&
                                ix < static_cast<long long>(s.in_w);
                const float xv = in ? c.x[((b * s.in_c + ci) * s.in_h + static_cast<size_t>(iy)) * s.in_w +
                                          static_cast<size_t>(ix)]
                                    : pad_value;
                acc += xv * c.w[((m * s.kernel_h + ky) * s.kernel_w + kx) * s.in_c + ci];
              }
          out[((b * s.out_c + m) * oh + oy) * ow + ox] = acc;
        }
  return out;
}

struct Results {
  std::vector<int32_t> i32_nchw, i32_nhwc;
  std::vector<float> f32_nchw, f32_nhwc;
  std::vector<bword> bits;
};

Results run(const Bconv2dKernels& t, const Conv& c, int threads) {
  const Bconv2dShape& s = c.s;
  const size_t outs = s.batch * s.out_c * s.out_h() * s.out_w();
  std::vector<bword> scratch(t.scratch_words(s) + 1, 0xA5A5A5A5A5A5A5A5ull);
  Results r;
  r.i32_nchw.assign(outs, -7);
  r.i32_nhwc.assign(outs, -7);
  r.f32_nchw.assign(outs, -7.0f);
  r.f32_nhwc.assign(outs, -7.0f);
  r.bits.assign(s.batch * s.out_h() * s.out_w() * packed_words(s.out_c), 0x3333333333333333ull);
  t.i32(s, c.xb.data(), c.wb.data(), r.i32_nchw.data(), Bconv2dLayout::nchw, scratch.data(), threads);
  t.i32(s, c.xb.data(), c.wb.data(), r.i32_nhwc.data(), Bconv2dLayout::nhwc, scratch.data(), threads);
  t.f32(s, c.xb.data(), c.wb.data(), c.scale.data(), c.bias.data(), r.f32_nchw.data(), Bconv2dLayout::nchw,
        scratch.data(), threads);
  t.f32(s, c.xb.data(), c.wb.data(), c.scale.data(), c.bias.data(), r.f32_nhwc.data(), Bconv2dLayout::nhwc,
        scratch.data(), threads);
  t.bits(s, c.xb.data(), c.wb.data(), c.thr.data(), c.flip.data(), r.bits.data(), scratch.data(), threads);
  return r;
}

// Every output of table t equals the fp32 convolution (and BN / sign(BN) of it, computed in fp32).
void check_against_fp32(const Bconv2dKernels& t, const Conv& c, const std::vector<float>& want, int threads) {
  const Bconv2dShape& s = c.s;
  const Results r = run(t, c, threads);
  const size_t oh = s.out_h(), ow = s.out_w(), words = packed_words(s.out_c);
  for (size_t b = 0; b < s.batch; ++b)
    for (size_t m = 0; m < s.out_c; ++m)
      for (size_t oy = 0; oy < oh; ++oy)
        for (size_t ox = 0; ox < ow; ++ox) {
          const size_t nchw = ((b * s.out_c + m) * oh + oy) * ow + ox;
          const size_t pix = (b * oh + oy) * ow + ox, nhwc = pix * s.out_c + m;
          const float dot = want[nchw];
          CAPTURE(b); CAPTURE(m); CAPTURE(oy); CAPTURE(ox);
          REQUIRE(r.i32_nchw[nchw] == static_cast<int32_t>(dot));
          REQUIRE(r.i32_nhwc[nhwc] == static_cast<int32_t>(dot));
          const float y = bgemm_affine(c.scale[m], static_cast<int64_t>(dot), c.bias[m]);
          REQUIRE(r.f32_nchw[nchw] == y);
          REQUIRE(r.f32_nhwc[nhwc] == y);
          const bword bit = (r.bits[pix * words + m / 64] >> (m % 64)) & 1u;
          REQUIRE(bit == (y < 0.0f ? 1u : 0u));
        }
  for (size_t pix = 0; pix < s.batch * oh * ow; ++pix)
    if (s.out_c % 64) REQUIRE((r.bits[pix * words + words - 1] & ~tail_mask(s.out_c)) == 0);
}

}  // namespace

TEST_CASE("bconv2d equals the fp32 convolution on ±1 data for every padding, stride, kernel and ISA") {
  Rng rng(31);
  const size_t channels[] = {1, 3, 64, 70, 129};
  int count = 0;
  for (Bconv2dPadding mode : {Bconv2dPadding::zero, Bconv2dPadding::one})
    for (size_t pad = 0; pad <= 2; ++pad)
      for (size_t stride = 1; stride <= 2; ++stride)
        for (size_t k : {1u, 3u, 5u}) {
          Bconv2dShape s;
          s.batch = 1 + count % 2;
          s.in_c = channels[count % 5];
          s.out_c = 1 + (count * 37) % 80;
          s.in_h = 5 + count % 4;
          s.in_w = 6 + (count * 3) % 5;  // non-square images
          s.kernel_h = k;
          s.kernel_w = count % 3 == 0 && k > 1 ? k - 2 : k;  // non-square kernels too
          s.stride_h = stride;
          s.stride_w = count % 4 == 1 ? 3 - stride : stride;  // odd/mixed strides
          s.pad_h = pad;
          s.pad_w = count % 5 == 2 ? (pad + 1) % 3 : pad;
          s.padding = mode;
          ++count;
          if (bconv2d_check(s) != Status::ok) continue;
          CAPTURE(s.in_c); CAPTURE(s.out_c); CAPTURE(s.in_h); CAPTURE(s.in_w); CAPTURE(s.kernel_h);
          CAPTURE(s.kernel_w); CAPTURE(s.stride_h); CAPTURE(s.stride_w); CAPTURE(s.pad_h); CAPTURE(s.pad_w);
          CAPTURE(static_cast<int>(mode));
          const Conv c = make_conv(rng, s);
          const std::vector<float> want = conv_fp32(c);
          for (Isa isa : runnable_isas()) {
            const Bconv2dKernels* t = bconv2d_kernels_for(isa);
            if (!t) continue;
            CAPTURE(isa_name(isa));
            check_against_fp32(*t, c, want, 1 + count % 2);
          }
        }
  CHECK(count == 36);
}

TEST_CASE("bconv2d: every ISA equals ref on random shapes, 1 and 2 threads identical") {
  Rng rng(32);
  for (int trial = 0; trial < 80; ++trial) {
    Bconv2dShape s;
    s.batch = uniform(rng, 1, 2);
    s.in_c = uniform(rng, 1, 150);
    s.out_c = uniform(rng, 1, 140);
    s.in_h = uniform(rng, 1, 12);
    s.in_w = uniform(rng, 1, 12);
    s.kernel_h = uniform(rng, 1, 5);
    s.kernel_w = uniform(rng, 1, 5);
    s.stride_h = uniform(rng, 1, 3);
    s.stride_w = uniform(rng, 1, 3);
    s.pad_h = uniform(rng, 0, 3);
    s.pad_w = uniform(rng, 0, 3);
    s.padding = trial % 2 ? Bconv2dPadding::one : Bconv2dPadding::zero;
    if (bconv2d_check(s) != Status::ok) continue;
    const Conv c = make_conv(rng, s);
    const Results want = run(kBconv2dRef, c, 1);
    for (Isa isa : runnable_isas()) {
      const Bconv2dKernels* t = bconv2d_kernels_for(isa);
      if (!t) continue;
      CAPTURE(isa_name(isa)); CAPTURE(trial);
      for (int threads : {1, 2}) {
        const Results got = run(*t, c, threads);
        REQUIRE(got.i32_nchw == want.i32_nchw);
        REQUIRE(got.i32_nhwc == want.i32_nhwc);
        REQUIRE(std::memcmp(got.f32_nchw.data(), want.f32_nchw.data(), want.f32_nchw.size() * sizeof(float)) == 0);
        REQUIRE(std::memcmp(got.f32_nhwc.data(), want.f32_nhwc.data(), want.f32_nhwc.size() * sizeof(float)) == 0);
        REQUIRE(got.bits == want.bits);
      }
    }
  }
}

TEST_CASE("bconv2d: real layer shapes (LeNet, ResNet-20 stages and downsampling, wide tails) equal ref, 1 and 2 threads") {
  // Full-size CIFAR shapes: big enough for every row/column padding class to occur many times (the im2col splits
  // over two threads from small layers on; the GEMM only for the last one, above bgemm_driver.h's threshold);
  // channel counts that take the compact (squeezed-channel) im2col with one-word (6, 16,
  // 32) and multi-word (72, 100) pixels, and the word-aligned one (64).
  Rng rng(34);
  struct L { size_t c, hw, cout, k, stride, pad; };
  const L layers[] = {{6, 14, 16, 5, 1, 0},  {16, 32, 16, 3, 1, 1}, {16, 32, 32, 3, 2, 1}, {32, 16, 32, 3, 1, 1},
                      {64, 8, 64, 3, 1, 1},  {72, 9, 40, 3, 1, 1},  {100, 7, 20, 3, 2, 2}, {32, 16, 70, 1, 1, 0},
                      {64, 32, 64, 3, 1, 1}};  // the last one: 590K word-ops per image, so the GEMM splits over 2 threads
  int n = 0;
  for (const L& l : layers) {
    Bconv2dShape s;
    s.in_c = l.c; s.in_h = s.in_w = l.hw; s.out_c = l.cout; s.kernel_h = s.kernel_w = l.k;
    s.stride_h = s.stride_w = l.stride; s.pad_h = s.pad_w = l.pad;
    s.padding = n++ % 2 ? Bconv2dPadding::one : Bconv2dPadding::zero;
    REQUIRE(bconv2d_check(s) == Status::ok);
    const Conv c = make_conv(rng, s);
    const Results want = run(kBconv2dRef, c, 1);
    for (Isa isa : runnable_isas()) {
      const Bconv2dKernels* t = bconv2d_kernels_for(isa);
      if (!t || isa == Isa::ref) continue;
      CAPTURE(isa_name(isa)); CAPTURE(l.c); CAPTURE(l.hw); CAPTURE(l.cout); CAPTURE(l.k); CAPTURE(l.stride);
      for (int threads : {1, 2}) {
        CAPTURE(threads);
        const Results got = run(*t, c, threads);
        REQUIRE(got.i32_nchw == want.i32_nchw);
        REQUIRE(got.i32_nhwc == want.i32_nhwc);
        REQUIRE(std::memcmp(got.f32_nchw.data(), want.f32_nchw.data(), want.f32_nchw.size() * sizeof(float)) == 0);
        REQUIRE(got.bits == want.bits);
      }
    }
  }
}

TEST_CASE("bconv2d: called from inside a parallel region (a team of one for its own threads) still equals ref") {
  // Small layers split their pipeline in two halves over two threads (bconv2d_gemm.cpp, drive()); nested inside
  // another parallel region the inner team has one thread, which must then compute both halves.
  Rng rng(35);
  Bconv2dShape s;
  s.in_c = 16; s.in_h = s.in_w = 32; s.out_c = 16; s.kernel_h = s.kernel_w = 3; s.pad_h = s.pad_w = 1;
  const Conv c = make_conv(rng, s);
  const Results want = run(kBconv2dRef, c, 1);
  for (Isa isa : runnable_isas()) {
    const Bconv2dKernels* t = bconv2d_kernels_for(isa);
    if (!t || isa == Isa::ref) continue;
    CAPTURE(isa_name(isa));
    Results got[2];
    LOWBIT_OMP(parallel for num_threads(2))
    for (int i = 0; i < 2; ++i) got[i] = run(*t, c, 2);
    for (const Results& r : got) {
      CHECK(r.i32_nchw == want.i32_nchw);
      CHECK(r.i32_nhwc == want.i32_nhwc);
      CHECK(r.f32_nchw == want.f32_nchw);
      CHECK(r.f32_nhwc == want.f32_nhwc);
      CHECK(r.bits == want.bits);
    }
  }
}

TEST_CASE("bconv2d: chained layers — the bits output is the next layer's input") {
  Rng rng(33);
  Bconv2dShape s1;
  s1.in_h = 9; s1.in_w = 8; s1.in_c = 20; s1.out_c = 70; s1.kernel_h = s1.kernel_w = 3; s1.pad_h = s1.pad_w = 1;
  const Conv c1 = make_conv(rng, s1);
  Bconv2dShape s2 = s1;
  s2.in_c = 70; s2.out_c = 33; s2.stride_h = s2.stride_w = 2;
  Conv c2 = make_conv(rng, s2);
  for (Isa isa : runnable_isas()) {
    const Bconv2dKernels* t = bconv2d_kernels_for(isa);
    if (!t) continue;
    CAPTURE(isa_name(isa));
    const Results r1 = run(*t, c1, 2);
    // Layer-1 activations as ±1 floats (NCHW) from the fp32 result, then layer 2 on them in fp32.
    const std::vector<float> y1 = conv_fp32(c1);
    Conv c2f = c2;
    c2f.x.assign(y1.size(), 0.0f);
    for (size_t m = 0; m < s1.out_c; ++m)
      for (size_t p = 0; p < s1.out_h() * s1.out_w(); ++p) {
        const float y = bgemm_affine(c1.scale[m], static_cast<int64_t>(y1[m * s1.out_h() * s1.out_w() + p]), c1.bias[m]);
        c2f.x[m * s1.out_h() * s1.out_w() + p] = y < 0.0f ? -1.0f : 1.0f;
      }
    c2f.xb = r1.bits;  // the packed bits out of layer 1 go straight in
    check_against_fp32(*t, c2f, conv_fp32(c2f), 1);
  }
}

TEST_CASE("bconv2d_check rejects impossible shapes, scratch query covers every table") {
  Bconv2dShape s;
  s.in_h = 4; s.in_w = 4; s.in_c = 8; s.out_c = 8; s.kernel_h = 3; s.kernel_w = 3;
  CHECK(bconv2d_check(s) == Status::ok);
  CHECK(bconv2d_scratch_words_max(s) >= bconv2d_kernels().scratch_words(s));
  Bconv2dShape bad = s;
  bad.kernel_h = 5;
  CHECK(bconv2d_check(bad) == Status::bad_size);
  bad.pad_h = 1;
  CHECK(bconv2d_check(bad) == Status::ok);
  bad = s;
  bad.stride_w = 0;
  CHECK(bconv2d_check(bad) == Status::bad_size);
  bad = s;
  bad.in_c = 0;
  CHECK(bconv2d_check(bad) == Status::bad_size);
}
