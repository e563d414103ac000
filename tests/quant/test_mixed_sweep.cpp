// Mixed precision end to end: every (weight bits, activation bits) pair — weights 1, ternary, 2, 3, 4, 6, 8 bits,
// activations 1–4 and 8 bits, and the 8-bit image input of a first layer — runs its forward on a low-bit kernel
// (never the scalar reference) and equals the fake-quant path, on convs (ragged inputs, padding, stride, groups)
// and linear layers, with the automatic backend choice and with every low-bit backend that can take the pair.
// Weights: DoReFa (binary at 1 bit, unsigned codes with a half zero point above), TWN (ternary), LSQ (signed);
// activations: DoReFa / LSQ unsigned codes. ctest runs this file under LOWBIT_ISA=ref, avx2 and avx512 as well
// (tests/CMakeLists.txt), so every ISA this CPU runs is covered.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "quant/layers/int_backend.h"
#include "quant/layers/qconv2d.h"
#include "quant/layers/qlinear.h"

using namespace lowbit;
using namespace lowbit::quant;

namespace {

Tensor random_tensor(const Shape& s, uint64_t seed, float lo, float hi) {
  Rng rng(seed);
  Tensor t(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(lo, hi);
  return t;
}

double scaled_error(const Tensor& a, const Tensor& b) {
  double num = 0.0, den = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    num = std::max(num, double(std::fabs(a[i] - b[i])));
    den = std::max(den, double(std::fabs(b[i])));
  }
  return den > 0 ? num / den : num;
}

// Weight "bits" of the sweep: 0 stands for ternary.
std::vector<Precision> sweep() {
  std::vector<Precision> out;
  for (int wb : {1, 0, 2, 3, 4, 6, 8})
    for (int ab : {1, 2, 3, 4, 8}) {
      if (wb == 0)
        out.push_back({2, ab, Scheme::twn});
      else
        out.push_back({wb, ab, Scheme::dorefa});
      if (wb >= 2) out.push_back({wb, ab, Scheme::lsq});
    }
  for (int wb : {1, 2, 3, 4, 6, 8}) out.push_back({wb, 8, Scheme::dorefa, true});  // first layer: image input
  out.push_back({2, 8, Scheme::twn, true});
  out.push_back({6, 8, Scheme::lsq, true});
  return out;
}

CodeFormat weight_format_of(const Precision& p) {
  if (p.scheme == Scheme::twn) return CodeFormat::ternary;
  if (p.scheme == Scheme::lsq) return CodeFormat::sint;
  return p.wbits == 1 ? CodeFormat::binary : CodeFormat::uint;
}

float input_lo(const Precision& p) { return p.image_input ? -0.8f : p.scheme == Scheme::lsq ? -1.0f : -0.5f; }
float input_hi(const Precision& p) { return p.image_input ? 2.0f : p.scheme == Scheme::lsq ? 3.0f : 1.5f; }

template <class Layer>
Tensor forward(Layer& layer, const Tensor& x, QPath path, std::optional<IntBackend> b, Tensor* gx) {
  layer.set_path(path);
  layer.set_backend(b);
  layer.zero_grad();
  Var xv(x.clone(), true);
  Var y = layer(xv);
  y.backward(random_tensor(y.shape(), 99, -1.0f, 1.0f));
  *gx = xv.grad().clone();
  return y.value().clone();
}

template <class Layer>
void check_layer(Layer& layer, const Tensor& x, const std::string& what) {
  const Precision& p = layer.precision();
  Tensor gfake, gker;
  const Tensor fake = forward(layer, x, QPath::fake, std::nullopt, &gfake);
  std::vector<std::optional<IntBackend>> backends = {std::nullopt};
  for (IntBackend b : {IntBackend::bgemm, IntBackend::tgemm, IntBackend::bitserial, IntBackend::qgemm})
    if (backend_supports(b, weight_format_of(p), p.wbits, ActKind::uint, p.abits)) backends.push_back(b);
  for (const auto& b : backends) {
    INFO(what << " " << p.str() << " backend " << (b ? backend_name(*b) : "auto"));
    const Tensor ker = forward(layer, x, QPath::kernel, b, &gker);
    REQUIRE(layer.last_backend().has_value());
    CHECK(*layer.last_backend() != IntBackend::reference);  // a low-bit kernel ran
    if (b) CHECK(*layer.last_backend() == *b);
    CHECK(scaled_error(ker, fake) <= 1e-5);
    CHECK(scaled_error(gker, gfake) <= 1e-5);
  }
}

}  // namespace

TEST_CASE("mixed precision sweep: every (wbits, abits) conv runs on a low-bit kernel and equals fake quant") {
  struct Geo {
    int cin, cout, k, stride, pad, groups, h, w;
  };
  // Ragged shapes: odd channel counts, non-square inputs, padding wider than 1, stride 2, groups.
  const std::vector<Geo> geos = {{5, 7, 3, 1, 1, 1, 6, 7}, {6, 4, 3, 2, 2, 2, 7, 5}, {3, 9, 1, 1, 0, 1, 4, 3}};
  for (const Precision& p : sweep())
    for (const Geo& g : geos) {
      Rng rng(7);
      QConv2d layer(nn::Conv2dOptions{g.cin, g.cout, g.k, g.k, g.stride, g.pad, g.groups, true}, p, QuantOptions{},
                    rng);
      const Tensor x = random_tensor(Shape{2, g.cin, g.h, g.w}, 13, input_lo(p), input_hi(p));
      check_layer(layer, x, "conv " + std::to_string(g.cin) + "->" + std::to_string(g.cout) + " k" +
                                std::to_string(g.k) + " g" + std::to_string(g.groups));
    }
}

TEST_CASE("mixed precision sweep: every (wbits, abits) linear layer runs on a low-bit kernel and equals fake quant") {
  for (const Precision& p : sweep())
    for (int in : {13, 70}) {
      Rng rng(9);
      QLinear layer(in, 10, true, p, QuantOptions{}, rng);
      const Tensor x = random_tensor(Shape{3, in}, 21, input_lo(p), input_hi(p));
      check_layer(layer, x, "linear in=" + std::to_string(in));
    }
}
