// conv2d (general im2col+GEMM path, pointwise 1×1 path, grouped, depthwise) and pooling: forward against a naive
// direct convolution, gradients by finite differences, thread-count determinism.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>

#include "engine/error.h"
#include "engine/gemm.h"
#include "engine/gemm_kernels.h"
#include "engine/ops.h"
#include "engine/threading.h"
#include "gradcheck.h"

using namespace lowbit;
using namespace lowbit::test;

namespace {
// Direct convolution in double: the obviously-right reference.
std::vector<double> conv_naive(const Tensor& x, const Tensor& w, const Tensor* b, const Conv2dParams& p) {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t O = w.dim(0), Cg = w.dim(1), KH = w.dim(2), KW = w.dim(3);
  const int64_t OH = conv_out_size(H, int(KH), p.stride_h, p.pad_h), OW = conv_out_size(W, int(KW), p.stride_w, p.pad_w);
  const int64_t Og = O / p.groups;
  std::vector<double> y(static_cast<size_t>(N * O * OH * OW));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      const int64_t gi = o / Og;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double s = b ? (*b)[o] : 0.0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t ih = oh * p.stride_h - p.pad_h + kh, iw = ow * p.stride_w - p.pad_w + kw;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                s += double(w[((o * Cg + c) * KH + kh) * KW + kw]) * x[((n * C + gi * Cg + c) * H + ih) * W + iw];
              }
          y[static_cast<size_t>(((n * O + o) * OH + oh) * OW + ow)] = s;
        }
    }
  (void)C;
  return y;
}

struct ConvCase {
  int64_t N, C, H, W, O, KH, KW;
  Conv2dParams p;
  bool bias;
};

std::vector<ConvCase> conv_cases() {
  std::vector<ConvCase> cs;
  for (int s : {1, 2})
    for (int pad : {0, 1})
      for (int g : {1, 2}) cs.push_back({2, 4, 6, 5, 6, 3, 3, {s, s, pad, pad, g}, (s + pad) % 2 == 0});
  cs.push_back({2, 4, 5, 7, 4, 3, 3, {1, 1, 1, 1, 4}, true});    // depthwise, stride 1
  cs.push_back({2, 3, 7, 6, 3, 3, 3, {2, 2, 1, 1, 3}, false});   // depthwise, stride 2
  cs.push_back({2, 3, 5, 5, 4, 1, 1, {1, 1, 0, 0, 1}, true});    // pointwise 1×1 (no im2col)
  cs.push_back({1, 2, 6, 7, 3, 2, 3, {2, 1, 0, 1, 1}, true});    // non-square kernel, strides, padding
  cs.push_back({3, 2, 4, 4, 2, 4, 4, {1, 1, 0, 0, 1}, false});   // kernel covers the whole image
  return cs;
}
// Larger single-image cases: the GEMM itself is split over threads (forward value check only).
std::vector<ConvCase> big_single_image_cases() {
  return {{1, 16, 24, 24, 32, 3, 3, {1, 1, 1, 1, 1}, true}, {1, 16, 21, 19, 24, 3, 3, {2, 2, 1, 1, 2}, false}};
}
}  // namespace

TEST_CASE("conv2d forward matches a naive direct convolution") {
  Rng rng(11);
  std::vector<ConvCase> cases = conv_cases();
  for (const ConvCase& c : big_single_image_cases()) cases.push_back(c);
  for (const ConvCase& c : cases) {
    CAPTURE(c.p.stride_h); CAPTURE(c.p.pad_h); CAPTURE(c.p.groups); CAPTURE(c.KH);
    Tensor x = rand_tensor(Shape{c.N, c.C, c.H, c.W}, rng);
    Tensor w = rand_tensor(Shape{c.O, c.C / c.p.groups, c.KH, c.KW}, rng);
    Tensor b = rand_tensor(Shape{c.O}, rng);
    Var y = conv2d(Var(x), Var(w), c.bias ? Var(b) : Var(), c.p);
    const std::vector<double> ref = conv_naive(x, w, c.bias ? &b : nullptr, c.p);
    REQUIRE(static_cast<size_t>(y.value().numel()) == ref.size());
    double err = 0.0;
    for (size_t i = 0; i < ref.size(); ++i) err = std::max(err, std::fabs(ref[i] - y.value()[int64_t(i)]));
    CHECK(err < 1e-4);
  }
}

TEST_CASE("conv2d gradients: stride 1/2, padding 0/1, groups 1/2/depthwise, 1x1, non-square") {
  Rng rng(12);
  for (const ConvCase& c : conv_cases()) {
    CAPTURE(c.p.stride_h); CAPTURE(c.p.pad_h); CAPTURE(c.p.groups); CAPTURE(c.KH);
    std::vector<Tensor> in{rand_tensor(Shape{c.N, c.C, c.H, c.W}, rng),
                           rand_tensor(Shape{c.O, c.C / c.p.groups, c.KH, c.KW}, rng)};
    if (c.bias) in.push_back(rand_tensor(Shape{c.O}, rng));
    const Conv2dParams p = c.p;
    auto r = gradcheck([p](const std::vector<Var>& v) { return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Var(), p); },
                       in);
    CHECK_MESSAGE(r.ok, r.message);
  }
}

TEST_CASE("conv2d_backward equals conv2d's autograd gradients and rejects a gradient of the wrong shape") {
  // The quantized layers differentiate their integer convolution through this function, so it must be exactly
  // what conv2d's own backward computes, for every path (general, 'same' as a conv, pointwise, grouped, depthwise).
  Rng rng(14);
  for (const ConvCase& c : conv_cases()) {
    CAPTURE(c.p.stride_h); CAPTURE(c.p.pad_h); CAPTURE(c.p.groups); CAPTURE(c.KH);
    const Tensor x = rand_tensor(Shape{c.N, c.C, c.H, c.W}, rng);
    const Tensor w = rand_tensor(Shape{c.O, c.C / c.p.groups, c.KH, c.KW}, rng);
    const Tensor b = rand_tensor(Shape{c.O}, rng);
    Var xv(x, true), wv(w, true), bv(b, true);
    Var y = conv2d(xv, wv, bv, c.p);
    const Tensor dy = rand_tensor(y.shape(), rng);
    y.backward(dy);
    Tensor dx, dw, db;
    conv2d_backward(x, w, dy, c.p, &dx, &dw, &db);
    CHECK(dx.to_vector() == xv.grad().to_vector());
    CHECK(dw.to_vector() == wv.grad().to_vector());
    CHECK(db.to_vector() == bv.grad().to_vector());
    Tensor only_w;
    conv2d_backward(x, w, dy, c.p, nullptr, &only_w, nullptr);
    CHECK(only_w.to_vector() == wv.grad().to_vector());
  }
  const Tensor x = Tensor::zeros(Shape{2, 3, 8, 8}), w = Tensor::zeros(Shape{4, 3, 3, 3});
  Tensor dx;
  CHECK_THROWS_WITH_AS(conv2d_backward(x, w, Tensor::zeros(Shape{2, 4, 8, 8}), {}, &dx, nullptr, nullptr),
                       doctest::Contains("does not fit the output [2, 4, 6, 6]"), Error);
}

TEST_CASE("conv2d: shape errors name the op and both shapes") {
  Var x(Tensor::zeros(Shape{1, 3, 8, 8})), w(Tensor::zeros(Shape{4, 2, 3, 3}));
  CHECK_THROWS_WITH_AS(conv2d(x, w, Var(), {}), doctest::Contains("conv2d: weight [4, 2, 3, 3]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, w, Var(), {}), doctest::Contains("[1, 3, 8, 8]"), Error);
  CHECK_THROWS_WITH_AS(conv2d(x, Var(Tensor::zeros(Shape{4, 3, 9, 9})), Var(), {}), doctest::Contains("does not fit"),
                       Error);
  CHECK_THROWS_WITH_AS(conv2d(x, Var(Tensor::zeros(Shape{4, 3, 3, 3})), Var(Tensor::zeros(Shape{3})), {}),
                       doctest::Contains("bias [3]"), Error);
  Conv2dParams g2;
  g2.groups = 2;
  CHECK_THROWS_WITH_AS(conv2d(x, Var(Tensor::zeros(Shape{4, 1, 3, 3})), Var(), g2), doctest::Contains("groups 2"),
                       Error);
  CHECK_THROWS_AS(conv2d(Var(Tensor::zeros(Shape{3, 8, 8})), w, Var(), {}), Error);
  CHECK(conv_out_size(32, 3, 2, 1) == 16);
  CHECK(conv_out_size(28, 5, 1, 0) == 24);
}

TEST_CASE("conv2d and sgemm: same thread count gives identical bits") {
  Rng rng(13);
  Tensor x = rand_tensor(Shape{8, 16, 12, 12}, rng), w = rand_tensor(Shape{32, 16, 3, 3}, rng);
  Conv2dParams p{1, 1, 1, 1, 1};
  auto run = [&]() {
    Var xv(x, true), wv(w, true);
    Var y = conv2d(xv, wv, Var(), p);
    y.backward(Tensor::full(y.shape(), 0.01f));
    std::vector<float> out = y.value().to_vector();
    for (float g : wv.grad().to_vector()) out.push_back(g);
    for (float g : xv.grad().to_vector()) out.push_back(g);
    return out;
  };
  const int saved = num_threads();
  for (int t : {1, 2}) {
    set_num_threads(t);
    CHECK(run() == run());
  }
  // sgemm threaded over N and over M.
  set_num_threads(2);
  Tensor A = rand_tensor(Shape{256, 300}, rng), B = rand_tensor(Shape{300, 250}, rng);
  Tensor C1 = Tensor::empty(Shape{256, 250}), C2 = Tensor::empty(Shape{256, 250});
  sgemm(false, false, 256, 250, 300, 1.0f, A.data(), 300, B.data(), 250, 0.0f, C1.data(), 250);
  sgemm(false, false, 256, 250, 300, 1.0f, A.data(), 300, B.data(), 250, 0.0f, C2.data(), 250);
  CHECK(std::memcmp(C1.data(), C2.data(), sizeof(float) * 256 * 250) == 0);
  set_num_threads(saved);
}

TEST_CASE("sgemm: all transpose combinations, alpha/beta, strided leading dimensions") {
  Rng rng(14);
  const int64_t M = 37, N = 45, K = 29, pad = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      const int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
      Tensor A = rand_tensor(Shape{(ta ? K : M) * lda}, rng), B = rand_tensor(Shape{(tb ? N : K) * ldb}, rng);
      Tensor C = rand_tensor(Shape{M * ldc}, rng), C0 = C.clone();
      sgemm(ta, tb, M, N, K, 0.5f, A.data(), lda, B.data(), ldb, 2.0f, C.data(), ldc);
      double err = 0.0;
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double s = 0.0;
          for (int64_t k = 0; k < K; ++k)
            s += double(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
          err = std::max(err, std::fabs(0.5 * s + 2.0 * C0[i * ldc + j] - C[i * ldc + j]));
        }
      CHECK(err < 1e-4);
      // Padding columns of C are untouched.
      for (int64_t i = 0; i < M; ++i) CHECK(C[i * ldc + N] == C0[i * ldc + N]);
    }
  // beta = 0 ignores NaN garbage in C.
  Tensor A = Tensor::ones(Shape{4, 4}), B = Tensor::ones(Shape{4, 4}), C = Tensor::full(Shape{4, 4}, NAN);
  sgemm(false, false, 4, 4, 4, 1.0f, A.data(), 4, B.data(), 4, 0.0f, C.data(), 4);
  CHECK(C[5] == 4.0f);
}

TEST_CASE("pooling: values and gradients") {
  Rng rng(15);
  // Distinct values (a shuffled ramp) so max pooling has no ties within a window.
  Tensor x = Tensor::empty(Shape{2, 3, 7, 6});
  std::vector<float> ramp(static_cast<size_t>(x.numel()));
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<float>(i) * 0.05f - 6.0f;
  rng.shuffle(ramp);
  for (int64_t i = 0; i < x.numel(); ++i) x[i] = ramp[size_t(i)];
  for (auto [k, s, p] : std::vector<std::tuple<int, int, int>>{{2, 2, 0}, {3, 2, 1}, {3, 1, 1}, {2, 1, 0}}) {
    CAPTURE(k); CAPTURE(s); CAPTURE(p);
    auto r1 = gradcheck([k = k, s = s, p = p](const std::vector<Var>& v) { return max_pool2d(v[0], k, s, p); }, {x},
                        GradCheckOptions{1e-3, 1e-2, 2e-3, 1});
    CHECK_MESSAGE(r1.ok, r1.message);
    auto r2 = gradcheck([k = k, s = s, p = p](const std::vector<Var>& v) { return avg_pool2d(v[0], k, s, p); }, {x});
    CHECK_MESSAGE(r2.ok, r2.message);
  }
  auto r3 = gradcheck([](const std::vector<Var>& v) { return global_avg_pool(v[0]); }, {x});
  CHECK_MESSAGE(r3.ok, r3.message);
  Var a(Tensor::from(Shape{1, 1, 2, 2}, {1, 4, 3, 2}));
  CHECK(max_pool2d(a, 2, 2).value().item() == 4.0f);
  CHECK(avg_pool2d(a, 2, 2).value().item() == 2.5f);
  CHECK(avg_pool2d(a, 2, 2, 1).value().to_vector() == std::vector<float>{0.25f, 1.0f, 0.75f, 0.5f});
  CHECK(max_pool2d(Var(Tensor::full(Shape{1, 1, 2, 2}, -3.0f)), 2, 1, 1).value()[0] == -3.0f);  // pad never wins
  CHECK(global_avg_pool(a).value().to_vector() == std::vector<float>{2.5f});
  CHECK(global_avg_pool(a).shape() == Shape{1, 1});
  CHECK_THROWS_WITH_AS(max_pool2d(Var(Tensor::zeros(Shape{1, 2, 2})), 2, 2), doctest::Contains("max_pool2d"), Error);
  CHECK_THROWS_AS(max_pool2d(a, 3, 1, 0), Error);
}

namespace {
struct DenseRowMajorB {
  const float* B;
  int64_t N;
};
// The PackBFn contract of engine/gemm.h for a row-major K×N matrix.
void pack_dense(const void* c, int64_t k0, int64_t kc, int64_t n0, int64_t nc, float* dst) {
  const auto* d = static_cast<const DenseRowMajorB*>(c);
  constexpr int64_t W = kSgemmPanelWidth;
  for (int64_t j = 0; j * W < nc; ++j)
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t q = 0; q < W; ++q) {
        const int64_t n = j * W + q;
        dst[j * kc * W + k * W + q] = n < nc ? d->B[(k0 + k) * d->N + n0 + n] : 0.0f;
      }
}
}  // namespace

TEST_CASE("sgemm: every ISA table agrees with the portable Eigen kernel (dense, packer callback, packed A)") {
  // Each table of engine/gemm.cpp's dispatch (kernels/dispatch_table.h), not only the active one. Different
  // blockings sum in different orders, so the comparison has a tolerance.
  Rng rng(16);
  const gemm_detail::SgemmKernels& ref = *gemm_detail::sgemm_kernels_for(kernels::Isa::ref);
  for (int isa_i = 0; isa_i < kernels::kIsaCount; ++isa_i) {
    const gemm_detail::SgemmKernels* t = gemm_detail::sgemm_kernels_for(static_cast<kernels::Isa>(isa_i));
    if (!t) continue;  // this build or CPU cannot run it
    CAPTURE(kernels::isa_name(static_cast<kernels::Isa>(isa_i)));
    for (auto [M, N, K] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
             {1, 1, 1}, {7, 33, 17}, {16, 144, 1024}, {70, 90, 300}, {9, 600, 40}, {33, 31, 257}}) {
      for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
          CAPTURE(M); CAPTURE(N); CAPTURE(K); CAPTURE(ta); CAPTURE(tb);
          const int64_t lda = ta ? M : K, ldb = tb ? K : N;
          Tensor A = rand_tensor(Shape{M * K}, rng), B = rand_tensor(Shape{K * N}, rng);
          Tensor C0 = rand_tensor(Shape{M * N}, rng), C1 = C0.clone();
          ref.dense(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, 1.0f, C0.data(), N);
          t->dense(ta, tb, M, N, K, 0.75f, A.data(), lda, B.data(), ldb, 1.0f, C1.data(), N);
          double err = 0.0;
          for (int64_t i = 0; i < M * N; ++i) err = std::max(err, double(std::fabs(C0[i] - C1[i])));
          CHECK(err < 1e-3);
        }
        // The packer-callback entry and, where the table packs A, the packed-A entry (B row-major K×N).
        const int64_t lda = ta ? M : K;
        Tensor A = rand_tensor(Shape{M * K}, rng), B = rand_tensor(Shape{K * N}, rng);
        Tensor C0 = rand_tensor(Shape{M * N}, rng), C1 = C0.clone(), C2 = C0.clone();
        const DenseRowMajorB ctx{B.data(), N};
        ref.cb(ta, M, N, K, 0.5f, A.data(), lda, pack_dense, &ctx, 1.0f, C0.data(), N);
        t->cb(ta, M, N, K, 0.5f, A.data(), lda, pack_dense, &ctx, 1.0f, C1.data(), N);
        double err = 0.0;
        for (int64_t i = 0; i < M * N; ++i) err = std::max(err, double(std::fabs(C0[i] - C1[i])));
        CHECK(err < 1e-3);
        if (t->pack_a) {
          std::vector<float> panels(static_cast<size_t>(t->packed_a_size(M, K)));
          t->pack_a(ta, A.data(), lda, M, K, panels.data());
          t->cb_packed(panels.data(), M, N, K, 0.5f, pack_dense, &ctx, 1.0f, C2.data(), N);
          CHECK(C1.to_vector() == C2.to_vector());  // same kernel, same summation order
        }
      }
    }
  }
}

TEST_CASE("sgemm_cb: A packed once equals the unpacked call, serial and threaded, ragged sizes, both op(A)") {
  Rng rng(29);
  for (auto [M, N, K] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {1, 1, 1}, {7, 33, 17}, {16, 1024, 144}, {64, 64, 576}, {33, 600, 257}, {9, 70, 513}}) {
    for (bool ta : {false, true}) {
      CAPTURE(M); CAPTURE(N); CAPTURE(K); CAPTURE(ta);
      const int64_t lda = ta ? M : K;
      Tensor A = rand_tensor(Shape{M * K}, rng), B = rand_tensor(Shape{K * N}, rng);
      Tensor C0 = rand_tensor(Shape{M * N}, rng), C1 = C0.clone(), C2 = C0.clone();
      const DenseRowMajorB ctx{B.data(), N};
      sgemm_serial_cb(ta, M, N, K, 0.5f, A.data(), lda, pack_dense, &ctx, 1.0f, C0.data(), N);
      const SgemmPackedA pa(ta, M, K, A.data(), lda);
      sgemm_serial_cb(pa, N, 0.5f, pack_dense, &ctx, 1.0f, C1.data(), N);
      sgemm_cb(pa, N, 0.5f, pack_dense, &ctx, 1.0f, C2.data(), N);
      // Same kernel, same summation order: identical bits.
      CHECK(C0.to_vector() == C1.to_vector());
      CHECK(C0.to_vector() == C2.to_vector());
    }
  }
}

TEST_CASE("conv2d gradients on the AVX-512 packer shapes (OW >= 8) match a naive double-precision reference") {
  // The finite-difference cases above are small (OW < 8) and take the portable packers; these shapes take the
  // vector ones on AVX-512 machines: im2col into panels (forward and the input gradient as a convolution) and the
  // materialised im2col of the weight gradient, stride 1 and 2, with ragged panels.
  Rng rng(31);
  for (const ConvCase& c : std::vector<ConvCase>{{3, 5, 14, 14, 7, 3, 3, {1, 1, 1, 1, 1}, true},
                                                 {2, 3, 9, 21, 4, 5, 5, {1, 1, 2, 2, 1}, false},
                                                 {2, 4, 8, 8, 6, 3, 3, {1, 1, 1, 1, 2}, true},
                                                 {2, 3, 32, 32, 4, 3, 3, {2, 2, 1, 1, 1}, false},
                                                 {2, 3, 17, 19, 5, 3, 3, {2, 2, 1, 1, 1}, true}}) {
    CAPTURE(c.H); CAPTURE(c.W); CAPTURE(c.KH); CAPTURE(c.p.groups);
    const Tensor x = rand_tensor(Shape{c.N, c.C, c.H, c.W}, rng);
    const Tensor w = rand_tensor(Shape{c.O, c.C / c.p.groups, c.KH, c.KW}, rng);
    Var xv(x, true), wv(w, true);
    Var y = conv2d(xv, wv, Var(), c.p);
    const Tensor dy = rand_tensor(y.shape(), rng);
    y.backward(dy);
    const int64_t OH = y.shape()[2], OW = y.shape()[3], Cg = c.C / c.p.groups, Og = c.O / c.p.groups;
    std::vector<double> dw(static_cast<size_t>(w.numel()), 0.0), dx(static_cast<size_t>(x.numel()), 0.0);
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t o = 0; o < c.O; ++o)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            const double g = dy[((n * c.O + o) * OH + oh) * OW + ow];
            for (int64_t ci = 0; ci < Cg; ++ci)
              for (int64_t kh = 0; kh < c.KH; ++kh)
                for (int64_t kw = 0; kw < c.KW; ++kw) {
                  const int64_t ih = oh * c.p.stride_h - c.p.pad_h + kh, iw = ow * c.p.stride_w - c.p.pad_w + kw;
                  if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                  const int64_t xi = ((n * c.C + (o / Og) * Cg + ci) * c.H + ih) * c.W + iw;
                  const int64_t wi = ((o * Cg + ci) * c.KH + kh) * c.KW + kw;
                  dw[static_cast<size_t>(wi)] += g * x[xi];
                  dx[static_cast<size_t>(xi)] += g * w[wi];
                }
          }
    double ew = 0.0, ex = 0.0;
    for (int64_t i = 0; i < w.numel(); ++i) ew = std::max(ew, std::fabs(dw[size_t(i)] - wv.grad()[i]));
    for (int64_t i = 0; i < x.numel(); ++i) ex = std::max(ex, std::fabs(dx[size_t(i)] - xv.grad()[i]));
    CHECK(ew < 1e-3);
    CHECK(ex < 1e-4);
  }
}
