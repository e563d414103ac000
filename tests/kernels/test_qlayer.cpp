// The integer layer tier (kernels/qlayer/qlayer.h) against plain loops: every backend's canonical accumulator T
// equals the exact Σ 2·(c_w − wzero)(c_x − azero) for every format pair; convs (padding, stride, groups, every
// route and input layout) equal a direct conv on the codes; the bits and u8 epilogues equal their float rules;
// bad calls return a Status. The tier runs the active ISA's tables: ctest also runs these cases under
// LOWBIT_ISA=ref, avx2 and avx512 (tests/CMakeLists.txt).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/bgemm/bgemm.h"
#include "kernels/qlayer/qlayer.h"

using namespace lowbit::kernels;

namespace {

using Rng = std::mt19937_64;

int32_t rand_in(Rng& r, int32_t lo, int32_t hi) { return std::uniform_int_distribution<int32_t>(lo, hi)(r); }

struct AlignedBuf {
  std::unique_ptr<uint8_t, void (*)(void*)> p{nullptr, std::free};
  size_t n = 0;
  explicit AlignedBuf(size_t bytes) : p(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 127) / 64 * 64)), std::free), n(bytes) {}
  uint8_t* data() { return p.get(); }
};

void code_range(QlWeightFormat f, int b, int32_t& lo, int32_t& hi) {
  switch (f) {
    case QlWeightFormat::binary: lo = -1, hi = 1; break;
    case QlWeightFormat::ternary: lo = -1, hi = 1; break;
    case QlWeightFormat::uint: lo = 0, hi = (1 << b) - 1; break;
    case QlWeightFormat::sint: lo = -(1 << (b - 1)), hi = (1 << (b - 1)) - 1; break;
  }
}

std::vector<int16_t> weight_codes(Rng& r, QlWeightFormat f, int bits, size_t n) {
  int32_t lo = 0, hi = 0;
  code_range(f, bits, lo, hi);
  std::vector<int16_t> c(n);
  for (auto& v : c) {
    v = static_cast<int16_t>(rand_in(r, lo, hi));
    if (f == QlWeightFormat::binary && v == 0) v = 1;
  }
  return c;
}

std::vector<int16_t> act_codes(Rng& r, QlActFormat f, int bits, size_t n) {
  std::vector<int16_t> c(n);
  for (auto& v : c) v = f == QlActFormat::binary ? (rand_in(r, 0, 1) ? 1 : -1) : rand_in(r, 0, (1 << bits) - 1);
  return c;
}

// The layer description + its packed weights, owning the buffer.
struct Layer {
  QLayerDesc d;
  std::vector<int16_t> w;
  std::vector<float> scale;
  std::unique_ptr<AlignedBuf> buf;
  QLayerPacked p;
  Status pack() {
    const size_t bytes = qlayer_packed_bytes(d);
    if (bytes == 0) return Status::unsupported;
    buf = std::make_unique<AlignedBuf>(bytes);
    QLayerWeights src;
    src.codes16 = w.data();
    src.scale = scale.data();
    src.nscale = scale.size();
    return qlayer_pack(d, src, buf->data(), bytes, &p);
  }
};

// Exact T of a conv on NCHW codes (padding is the value 0).
std::vector<int64_t> direct_T(const QLayerDesc& d, const ConvGeom& g, const std::vector<int16_t>& w,
                              const std::vector<int16_t>& x) {
  std::vector<int64_t> T(static_cast<size_t>(g.N * g.O * g.P()));
  const int64_t cg = g.Cg(), og = g.Og();
  const int64_t w2 = static_cast<int64_t>(2.0f * d.wzero);
  for (int64_t b = 0; b < g.N; ++b)
    for (int64_t o = 0; o < g.O; ++o)
      for (int64_t oh = 0; oh < g.OH; ++oh)
        for (int64_t ow = 0; ow < g.OW; ++ow) {
          int64_t s = 0;
          const int64_t gi = o / og;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t i = 0; i < g.KH; ++i)
              for (int64_t j = 0; j < g.KW; ++j) {
                const int64_t h = oh * g.SH - g.PH + i, ww = ow * g.SW - g.PW + j;
                if (h < 0 || h >= g.H || ww < 0 || ww >= g.W) continue;
                const int64_t wc = w[static_cast<size_t>(((o * cg + c) * g.KH + i) * g.KW + j)];
                const int64_t xc = x[static_cast<size_t>(((b * g.C + gi * cg + c) * g.H + h) * g.W + ww)];
                s += (2 * wc - w2) * (xc - d.azero);
              }
          T[static_cast<size_t>(((b * g.O + o) * g.OH + oh) * g.OW + ow)] = s;
        }
  return T;
}

// The input in a layout (NCHW int16 codes → layout).
struct Input {
  std::vector<int16_t> i16;
  std::vector<float> f32;
  std::vector<uint8_t> u8;
  std::vector<bword> bits;
  QLayerInput in;
};
Input make_input(const ConvGeom& g, QlActFormat af, const std::vector<int16_t>& x, QlInput layout) {
  Input r;
  const int64_t HW = g.H * g.W, cw = static_cast<int64_t>(packed_words(static_cast<size_t>(g.C)));
  r.in.layout = layout;
  switch (layout) {
    case QlInput::nchw_i16: r.i16 = x, r.in.data = r.i16.data(); break;
    case QlInput::nchw_f32:
      for (int16_t c : x) r.f32.push_back(c < 0 ? -0.75f : 0.5f);
      r.in.data = r.f32.data();
      break;
    case QlInput::nhwc_u8:
      r.u8.resize(x.size() + 64);
      for (int64_t b = 0; b < g.N; ++b)
        for (int64_t c = 0; c < g.C; ++c)
          for (int64_t i = 0; i < HW; ++i)
            r.u8[static_cast<size_t>((b * HW + i) * g.C + c)] =
                static_cast<uint8_t>(static_cast<int8_t>(x[static_cast<size_t>((b * g.C + c) * HW + i)]));
      r.in.data = r.u8.data();
      break;
    case QlInput::nhwc_bits:
      r.bits.assign(static_cast<size_t>(g.N * HW * cw) + 8, 0);
      for (int64_t b = 0; b < g.N; ++b)
        for (int64_t c = 0; c < g.C; ++c)
          for (int64_t i = 0; i < HW; ++i) {
            const int16_t v = x[static_cast<size_t>((b * g.C + c) * HW + i)];
            const bool one = af == QlActFormat::binary ? v < 0 : v == 0;
            if (one) r.bits[static_cast<size_t>((b * HW + i) * cw + c / 64)] |= bword{1} << (c % 64);
          }
      r.in.data = r.bits.data();
      break;
  }
  return r;
}

Status run(const Layer& L, const ConvGeom& g, const QLayerInput& in, const QLayerOutput& out) {
  const size_t ws = qlayer_workspace_bytes(L.p, g, in.layout, out.kind);
  if (ws == 0) return Status::unsupported;
  AlignedBuf w(ws);
  return qlayer_forward(L.p, g, in, out, w.data(), ws, 2);
}

ConvGeom geom(int64_t N, int64_t C, int64_t HW, int64_t O, int64_t k, int64_t s, int64_t pad, int64_t G) {
  ConvGeom g;
  g.N = N, g.C = C, g.H = HW, g.W = HW + 1, g.O = O, g.KH = k, g.KW = k, g.SH = g.SW = s, g.PH = g.PW = pad, g.G = G;
  REQUIRE(conv_geom_finish(g) == Status::ok);
  return g;
}

struct Pair {
  QlWeightFormat wf;
  int wbits;
  QlActFormat af;
  int abits;
  float wzero;
  int32_t azero;
};

std::vector<Pair> pairs() {
  using W = QlWeightFormat;
  using A = QlActFormat;
  std::vector<Pair> v = {{W::binary, 1, A::binary, 1, 0, 0}, {W::ternary, 2, A::binary, 1, 0, 0},
                         {W::uint, 3, A::binary, 1, 3.5f, 0}};
  for (int ab : {1, 2, 3, 4, 8}) {
    v.push_back({W::binary, 1, A::uint, ab, 0, 0});
    v.push_back({W::ternary, 2, A::uint, ab, 0, 0});
    for (int wb : {2, 3, 4, 6, 8}) v.push_back({W::uint, wb, A::uint, ab, ((1 << wb) - 1) / 2.0f, 0});
    for (int wb : {2, 3, 4, 8}) v.push_back({W::sint, wb, A::uint, ab, 0, 0});
  }
  v.push_back({W::uint, 4, A::uint, 8, 7.5f, 113});  // the 8-bit image input: a zero point
  v.push_back({W::binary, 1, A::uint, 8, 0, 77});
  return v;
}

std::string name(const Pair& q, QlBackend b) {
  return "w" + std::to_string(static_cast<int>(q.wf)) + "/" + std::to_string(q.wbits) + " a" +
         std::to_string(static_cast<int>(q.af)) + "/" + std::to_string(q.abits) + " z" +
         std::to_string(q.azero) + " " + qlayer_backend_name(b);
}

}  // namespace

TEST_CASE("qlayer: every backend's accumulator equals the exact sum for every format pair (linear)") {
  Rng r(3);
  for (const Pair& q : pairs())
    for (int K : {7, 150})
      for (int bi = 0; bi < kQlBackendCount; ++bi) {
        const QlBackend b = static_cast<QlBackend>(bi);
        if (!qlayer_backend_supports(b, q.wf, q.wbits, q.af, q.abits)) continue;
        INFO(name(q, b) << " K=" << K);
        Layer L;
        L.d.geom = geom(1, K, 1, 19, 1, 1, 0, 1);
        L.d.geom.W = 1;
        L.d.conv = false;
        L.d.wfmt = q.wf, L.d.wbits = q.wbits, L.d.wzero = q.wzero;
        L.d.afmt = q.af, L.d.abits = q.abits, L.d.azero = q.azero, L.d.backend = b;
        L.w = weight_codes(r, q.wf, q.wbits, static_cast<size_t>(19 * K));
        L.scale = {1.0f};
        REQUIRE(L.pack() == Status::ok);
        ConvGeom g = L.d.geom;
        g.N = 37;
        REQUIRE(conv_geom_finish(g) == Status::ok);
        const std::vector<int16_t> x = act_codes(r, q.af, q.abits, static_cast<size_t>(37 * K));
        const std::vector<int64_t> T = direct_T(L.d, g, L.w, x);
        for (QlInput layout : {QlInput::nchw_i16, QlInput::nhwc_u8}) {
          Input in = make_input(g, q.af, x, layout);
          in.in.scale = 1.0f;
          std::vector<float> y(T.size());
          QLayerOutput out;
          out.data = y.data();
          REQUIRE(run(L, g, in.in, out) == Status::ok);
          bool all = true;
          for (size_t i = 0; i < T.size(); ++i) all = all && double(y[i]) == 0.5 * double(T[i]);
          CHECK(all);
        }
      }
}

TEST_CASE("qlayer: convs equal a direct conv for every route, input layout and output layout") {
  struct Geo {
    int64_t C, HW, O, k, s, pad, G;
  };
  const std::vector<Geo> geos = {{3, 7, 8, 3, 1, 1, 1}, {8, 9, 16, 3, 2, 1, 1}, {4, 8, 6, 5, 1, 0, 1},
                                 {6, 6, 6, 3, 1, 1, 6}, {4, 5, 8, 3, 1, 2, 2},  {70, 5, 5, 3, 1, 1, 1}};
  Rng r(5);
  for (const Pair& q : pairs())
    for (int bi = 0; bi < kQlBackendCount; ++bi) {
      const QlBackend b = static_cast<QlBackend>(bi);
      if (!qlayer_backend_supports(b, q.wf, q.wbits, q.af, q.abits)) continue;
      if (q.abits > 1 && q.abits < 8 && q.wbits > 2 && b != QlBackend::reference && rand_in(r, 0, 2) != 0)
        continue;  // a third of the multi-bit pairs per backend keeps the case short; the linear case has them all
      for (const Geo& G : geos) {
        INFO(name(q, b) << " C" << G.C << " k" << G.k << " s" << G.s << " pad" << G.pad << " g" << G.G);
        Layer L;
        L.d.geom = geom(1, G.C, G.HW, G.O, G.k, G.s, G.pad, G.G);
        L.d.wfmt = q.wf, L.d.wbits = q.wbits, L.d.wzero = q.wzero;
        L.d.afmt = q.af, L.d.abits = q.abits, L.d.azero = q.azero, L.d.backend = b;
        L.w = weight_codes(r, q.wf, q.wbits, static_cast<size_t>(G.O * (G.C / G.G) * G.k * G.k));
        for (int64_t o = 0; o < G.O; ++o) L.scale.push_back(0.25f + 0.125f * static_cast<float>(o % 5));
        REQUIRE(L.pack() == Status::ok);
        ConvGeom g = L.d.geom;
        g.N = 2;
        REQUIRE(conv_geom_finish(g) == Status::ok);
        const std::vector<int16_t> x = act_codes(r, q.af, q.abits, static_cast<size_t>(g.N * g.C * g.H * g.W));
        const std::vector<int64_t> T = direct_T(L.d, g, L.w, x);
        const float sx = 0.375f;
        std::vector<float> bias(static_cast<size_t>(g.O));
        for (auto& v : bias) v = static_cast<float>(rand_in(r, -8, 8)) * 0.25f;
        std::vector<QlInput> layouts = {QlInput::nchw_i16, QlInput::nhwc_u8};
        if (q.af == QlActFormat::binary) layouts.push_back(QlInput::nchw_f32);
        if (q.af == QlActFormat::binary || q.abits == 1) layouts.push_back(QlInput::nhwc_bits);
        const size_t P = static_cast<size_t>(g.P()), M = static_cast<size_t>(g.O);
        for (QlInput layout : layouts)
          for (bool nhwc : {false, true}) {
            Input in = make_input(g, q.af, x, layout);
            in.in.scale = sx;
            std::vector<float> y(T.size());
            QLayerOutput out;
            out.data = y.data();
            out.bias = bias.data();
            out.nhwc = nhwc;
            const Status st = run(L, g, in.in, out);
            CHECK_MESSAGE(st == Status::ok, "layout " << static_cast<int>(layout) << " route "
                                                      << qlayer_route_name(L.p.route));
            if (st != Status::ok) continue;
            double worst = 0.0;
            for (size_t bb = 0; bb < static_cast<size_t>(g.N); ++bb)
              for (size_t m = 0; m < M; ++m)
                for (size_t px = 0; px < P; ++px) {
                  const double want = double(L.scale[m]) * sx * 0.5 * double(T[(bb * M + m) * P + px]) + bias[m];
                  const double got = y[nhwc ? (bb * P + px) * M + m : (bb * M + m) * P + px];
                  worst = std::max(worst, std::fabs(got - want) / (1.0 + std::fabs(want)));
                }
            CHECK(worst < 1e-5);
          }
      }
    }
}

TEST_CASE("qlayer: the bits and u8 epilogues equal their float rules on every route") {
  Rng r(11);
  struct Case {
    Pair q;
    QlBackend b;
  };
  using W = QlWeightFormat;
  using A = QlActFormat;
  const std::vector<Case> cases = {
      {{W::binary, 1, A::binary, 1, 0, 0}, QlBackend::bgemm},       // bconv route
      {{W::binary, 1, A::uint, 1, 0, 0}, QlBackend::bitserial},     // affine route
      {{W::ternary, 2, A::binary, 1, 0, 0}, QlBackend::tgemm},      // generic, binary, corrected padding
      {{W::uint, 2, A::uint, 2, 1.5f, 0}, QlBackend::bitserial},    // generic
      {{W::uint, 6, A::uint, 4, 31.5f, 0}, QlBackend::qgemm},       // generic, i8 container
      {{W::sint, 3, A::uint, 8, 0, 9}, QlBackend::qgemm},           // generic, zero point
  };
  for (const Case& c : cases)
    for (int64_t G : {1, 2}) {
      if (G == 2 && c.b == QlBackend::bgemm) continue;  // the bconv route is one group (two groups: generic)
      INFO(name(c.q, c.b) << " groups " << G);
      Layer L;
      L.d.geom = geom(1, 8, 6, 70, 3, 1, 1, G);
      L.d.wfmt = c.q.wf, L.d.wbits = c.q.wbits, L.d.wzero = c.q.wzero;
      L.d.afmt = c.q.af, L.d.abits = c.q.abits, L.d.azero = c.q.azero, L.d.backend = c.b;
      L.w = weight_codes(r, c.q.wf, c.q.wbits, static_cast<size_t>(70 * (8 / G) * 9));
      for (int o = 0; o < 70; ++o) L.scale.push_back(0.5f + 0.01f * static_cast<float>(o));
      REQUIRE(L.pack() == Status::ok);
      ConvGeom g = L.d.geom;
      g.N = 3;
      REQUIRE(conv_geom_finish(g) == Status::ok);
      const std::vector<int16_t> x = act_codes(r, c.q.af, c.q.abits, static_cast<size_t>(g.N * g.C * g.H * g.W));
      const std::vector<int64_t> T = direct_T(L.d, g, L.w, x);
      const size_t P = static_cast<size_t>(g.P()), M = 70, words = packed_words(M);
      const float sx = 0.25f;
      // BatchNorm-like affines with both signs of the scale (γ < 0 flips) and a zero scale.
      std::vector<float> a(M), bb(M);
      for (size_t m = 0; m < M; ++m) {
        a[m] = m % 7 == 3 ? 0.0f : static_cast<float>(rand_in(r, -40, 40)) / 16.0f;
        bb[m] = static_cast<float>(rand_in(r, -64, 64)) / 8.0f;
      }
      Input in = make_input(g, c.q.af, x, QlInput::nchw_i16);
      in.in.scale = sx;
      // bits
      std::vector<int32_t> thr(M);
      std::vector<bword> flip(words);
      qlayer_thresholds(L.p, sx, a.data(), bb.data(), thr.data(), flip.data());
      std::vector<bword> bits(static_cast<size_t>(g.N) * P * words, ~bword{0});
      QLayerOutput ob;
      ob.kind = QlEpilogue::bits;
      ob.data = bits.data();
      ob.threshold = thr.data();
      ob.flip = flip.data();
      REQUIRE(run(L, g, in.in, ob) == Status::ok);
      bool bits_ok = true;
      for (size_t n = 0; n < static_cast<size_t>(g.N); ++n)
        for (size_t px = 0; px < P; ++px) {
          const bword* row = bits.data() + (n * P + px) * words;
          for (size_t m = 0; m < M; ++m) {
            const float s = static_cast<float>(double(a[m]) * double(L.scale[m]) * double(sx) * 0.5);
            const bool want = bgemm_affine(s, T[(n * M + m) * P + px], bb[m]) < 0.0f;
            bits_ok = bits_ok && (((row[m / 64] >> (m % 64)) & 1u) != 0) == want;
          }
          bits_ok = bits_ok && (row[words - 1] & ~tail_mask(M)) == 0;
        }
      CHECK(bits_ok);
      // u8, both layouts
      for (int kb : {1, 4, 8})
        for (bool nhwc : {false, true}) {
          const float inv = static_cast<float>((1 << kb) - 1);
          std::vector<uint8_t> q(T.size(), 0xAB);
          QLayerOutput ou;
          ou.kind = QlEpilogue::u8;
          ou.data = q.data();
          ou.nhwc = nhwc;
          ou.scale = a.data();
          ou.shift = bb.data();
          ou.inv_step = inv;
          ou.bits = kb;
          REQUIRE(run(L, g, in.in, ou) == Status::ok);
          bool ok = true;
          for (size_t n = 0; n < static_cast<size_t>(g.N); ++n)
            for (size_t m = 0; m < M; ++m)
              for (size_t px = 0; px < P; ++px) {
                const float yv = static_cast<float>(double(L.scale[m]) * double(sx) * 0.5 *
                                                    double(T[(n * M + m) * P + px]));
                volatile float z = a[m] * yv;
                volatile float zz = z + bb[m];
                volatile float zs = zz * inv;
                const float rr = std::nearbyint(std::fmin(std::fmax(zs, 0.0f), inv));
                const uint8_t want = static_cast<uint8_t>(rr);
                ok = ok && q[nhwc ? (n * P + px) * M + m : (n * M + m) * P + px] == want;
              }
          INFO("u8 bits " << kb << " nhwc " << nhwc);
          CHECK(ok);
        }
    }
}

TEST_CASE("qlayer: bad calls return a status, never write out of bounds") {
  Layer L;
  L.d.geom = geom(1, 4, 5, 3, 3, 1, 1, 1);
  L.d.wfmt = QlWeightFormat::uint, L.d.wbits = 2, L.d.wzero = 1.5f;
  L.d.afmt = QlActFormat::uint, L.d.abits = 2, L.d.backend = QlBackend::bitserial;
  L.scale = {1.0f};
  L.w.assign(3 * 4 * 9, 1);
  L.w[5] = 4;  // outside [0, 3]
  CHECK(L.pack() == Status::out_of_range);
  L.w[5] = 3;
  REQUIRE(L.pack() == Status::ok);
  QLayerDesc bad = L.d;
  bad.backend = QlBackend::bgemm;  // binary only
  CHECK(qlayer_packed_bytes(bad) == 0);
  AlignedBuf pb(1 << 16);
  QLayerPacked pk;
  QLayerWeights src;
  src.codes16 = L.w.data(), src.scale = L.scale.data();
  CHECK(qlayer_pack(bad, src, pb.data(), 1 << 16, &pk) == Status::unsupported);
  CHECK(qlayer_pack(L.d, src, pb.data(), 10, &pk) == Status::bad_size);
  src.codes16 = nullptr;
  CHECK(qlayer_pack(L.d, src, pb.data(), 1 << 16, &pk) == Status::null_pointer);
  ConvGeom g = L.d.geom;
  g.N = 2;
  REQUIRE(conv_geom_finish(g) == Status::ok);
  std::vector<int16_t> x(static_cast<size_t>(2 * 4 * 5 * 6), 1);
  std::vector<float> y(static_cast<size_t>(2 * 3 * g.P()));
  QLayerInput in;
  in.data = x.data();
  QLayerOutput out;
  out.data = y.data();
  const size_t ws = qlayer_workspace_bytes(L.p, g, in.layout, out.kind);
  REQUIRE(ws > 0);
  AlignedBuf w(ws);
  CHECK(qlayer_forward(L.p, g, in, out, w.data(), ws - 1, 1) == Status::bad_size);
  CHECK(qlayer_forward(L.p, g, in, out, nullptr, ws, 1) == Status::null_pointer);
  in.layout = QlInput::nchw_f32;  // fp32 values carry no uint codes
  CHECK(qlayer_workspace_bytes(L.p, g, in.layout, out.kind) == 0);
  CHECK(qlayer_forward(L.p, g, in, out, w.data(), ws, 1) == Status::unsupported);
  in.layout = QlInput::nchw_i16;
  ConvGeom other = g;
  other.C = 8;
  CHECK(qlayer_forward(L.p, other, in, out, w.data(), ws, 1) == Status::bad_size);
  x[3] = 9;  // an activation code outside 2 bits
  CHECK(qlayer_forward(L.p, g, in, out, w.data(), ws, 1) == Status::out_of_range);
  QlBackend b;
  CHECK(qlayer_parse_backend("qgemm", &b));
  CHECK(b == QlBackend::qgemm);
  CHECK(!qlayer_parse_backend("auto", &b));
}
