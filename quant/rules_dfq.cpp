// DFQ's relaxed weight quantizer; the formulas and the surrogate gradients are in rules_dfq.h.
#include "quant/rules_dfq.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "engine/error.h"
#include "engine/ops.h"

namespace lowbit::quant {

namespace {

// Channels per group of a weight with `out` output channels.
int64_t channels_per_group(int64_t out, int64_t group_channels) {
  return group_channels <= 0 || group_channels > out ? out : group_channels;
}

int lower_width(float beta, int b_min, int b_max) {
  const int lo = static_cast<int>(std::floor(beta));
  return std::clamp(lo, b_min, b_max - 1);
}

void check_weight(const Var& w, const char* rule) {
  LOWBIT_CHECK(w.defined() && w.value().numel() > 0 && w.shape().rank() >= 1, "{}: the weight is empty or undefined",
               rule);
}

}  // namespace

int64_t dfq_num_groups(int64_t out_channels, int64_t group_channels) {
  LOWBIT_CHECK(out_channels > 0, "dfq: a weight needs at least one output channel, got {}", out_channels);
  LOWBIT_CHECK(group_channels >= 0, "dfq: channels per group must be >= 0, got {}", group_channels);
  const int64_t c = channels_per_group(out_channels, group_channels);
  return (out_channels + c - 1) / c;
}

// ---------------------------------------------------------------------------------------------------------
// Mixture of candidates: W̃_i = Σ_k p[g(i), k]·Q_k,i.
// Backward: g_Q_k,i = p[g(i), k]·g_i (the candidate's rule then applies its own surrogate), and
// g_p[g, k] = Σ_{i ∈ g} g_i·Q_k,i (the candidates' values are saved).
// ---------------------------------------------------------------------------------------------------------
Var dfq_mix(const std::vector<Var>& candidates, const Var& p, int64_t group_channels) {
  LOWBIT_CHECK(!candidates.empty(), "dfq_mix: no candidates");
  for (const Var& c : candidates) check_weight(c, "dfq_mix");
  const Shape shape = candidates[0].shape();
  for (const Var& c : candidates)
    LOWBIT_CHECK(c.shape() == shape, "dfq_mix: candidates of shapes {} and {}", shape.str(), c.shape().str());
  const int64_t O = shape[0], N = shape.numel(), per = N / O;
  const int64_t G = dfq_num_groups(O, group_channels), cg = channels_per_group(O, group_channels);
  const int64_t K = static_cast<int64_t>(candidates.size());
  LOWBIT_CHECK(p.defined() && p.shape() == Shape({G, K}), "dfq_mix: weights must be [{}, {}], got {}", G, K,
               p.defined() ? p.shape().str() : std::string("undefined"));
  std::vector<Tensor> q;
  for (const Var& c : candidates) q.push_back(c.value());
  const Tensor pv = p.value();
  Tensor out = Tensor::zeros(shape);
  for (int64_t o = 0; o < O; ++o) {
    const int64_t g = o / cg;
    for (int64_t k = 0; k < K; ++k) {
      const float pk = pv[g * K + k];
      if (pk == 0.0f) continue;
      const float* qk = q[k].data() + o * per;
      float* y = out.data() + o * per;
      for (int64_t j = 0; j < per; ++j) y[j] += pk * qk[j];
    }
  }
  std::vector<Var> inputs = candidates;
  inputs.push_back(p);
  return Var::make(out, inputs, [q, pv, O, per, G, K, cg](const Tensor& g, std::vector<Var>& in) {
    for (int64_t k = 0; k < K; ++k) {
      if (!in[k].requires_grad()) continue;
      Tensor gk = Tensor::empty(g.shape());
      for (int64_t o = 0; o < O; ++o) {
        const float pk = pv[(o / cg) * K + k];
        const float* gi = g.data() + o * per;
        float* d = gk.data() + o * per;
        for (int64_t j = 0; j < per; ++j) d[j] = pk * gi[j];
      }
      in[k].add_grad(gk);
    }
    Var& pin = in[K];
    if (!pin.requires_grad()) return;
    Tensor gp = Tensor::zeros(Shape{G, K});
    for (int64_t k = 0; k < K; ++k) {
      std::vector<double> acc(static_cast<size_t>(G), 0.0);
      for (int64_t o = 0; o < O; ++o) {
        const float* gi = g.data() + o * per;
        const float* qk = q[k].data() + o * per;
        double s = 0.0;
        for (int64_t j = 0; j < per; ++j) s += double(gi[j]) * qk[j];
        acc[static_cast<size_t>(o / cg)] += s;
      }
      for (int64_t gg = 0; gg < G; ++gg) gp[gg * K + k] = static_cast<float>(acc[static_cast<size_t>(gg)]);
    }
    pin.add_grad(gp);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Interpolation weights: p[g, lo] = 1 − f, p[g, lo + 1] = f with lo = min(⌊β⌋, b_max − 1), f = β − lo.
// ∂p[g, lo]/∂β_g = −1, ∂p[g, lo + 1]/∂β_g = +1 (lo is piecewise constant), so g_β = g_p[hi] − g_p[lo].
// ---------------------------------------------------------------------------------------------------------
Var dfq_interp_weights(const Var& beta, const std::vector<int>& bits) {
  LOWBIT_CHECK(beta.defined() && beta.shape().rank() == 1 && beta.shape()[0] > 0,
               "dfq_interp_weights: beta must be a non-empty vector");
  LOWBIT_CHECK(bits.size() >= 2, "dfq_interp_weights: needs at least two candidate widths");
  for (size_t k = 1; k < bits.size(); ++k)
    LOWBIT_CHECK(bits[k] > bits[k - 1], "dfq_interp_weights: candidate widths must ascend");
  const int b_min = bits.front(), b_max = bits.back();
  const int64_t G = beta.shape()[0], K = static_cast<int64_t>(bits.size());
  auto index = [&bits](int b) {
    const auto it = std::find(bits.begin(), bits.end(), b);
    LOWBIT_CHECK(it != bits.end(), "dfq_interp_weights: width {} is not a candidate", b);
    return static_cast<int64_t>(it - bits.begin());
  };
  Tensor p = Tensor::zeros(Shape{G, K});
  std::vector<int64_t> lo_idx(static_cast<size_t>(G)), hi_idx(static_cast<size_t>(G));
  for (int64_t g = 0; g < G; ++g) {
    const float b = beta.value()[g];
    LOWBIT_CHECK(std::isfinite(b) && b >= float(b_min) && b <= float(b_max),
                 "dfq_interp_weights: beta[{}] = {} is outside [{}, {}]", g, b, b_min, b_max);
    const int lo = lower_width(b, b_min, b_max);
    const float f = b - float(lo);
    lo_idx[size_t(g)] = index(lo);
    hi_idx[size_t(g)] = index(lo + 1);
    p[g * K + lo_idx[size_t(g)]] = 1.0f - f;
    p[g * K + hi_idx[size_t(g)]] = f;
  }
  return Var::make(p, {beta}, [lo_idx, hi_idx, G, K](const Tensor& gp, std::vector<Var>& in) {
    Tensor gb = Tensor::empty(Shape{G});
    for (int64_t g = 0; g < G; ++g) gb[g] = gp[g * K + hi_idx[size_t(g)]] - gp[g * K + lo_idx[size_t(g)]];
    in[0].add_grad(gb);
  });
}

std::vector<int> dfq_needed_bits(const Tensor& beta, int b_min, int b_max) {
  LOWBIT_CHECK(b_min >= 1 && b_max <= 8 && b_min < b_max, "dfq: bit range [{}, {}] must satisfy 1 <= b_min < b_max <= 8",
               b_min, b_max);
  std::set<int> s;
  for (int64_t g = 0; g < beta.numel(); ++g) {
    const int lo = lower_width(beta[g], b_min, b_max);
    s.insert(lo);
    s.insert(lo + 1);
  }
  return {s.begin(), s.end()};
}

Var dfq_interpolated_weight(const Var& w, const Var& beta, int b_min, int b_max, int64_t group_channels) {
  check_weight(w, "dfq_interpolated_weight");
  const int64_t G = dfq_num_groups(w.shape()[0], group_channels);
  LOWBIT_CHECK(beta.defined() && beta.shape() == Shape({G}), "dfq_interpolated_weight: beta must be [{}], got {}", G,
               beta.defined() ? beta.shape().str() : std::string("undefined"));
  const std::vector<int> bits = dfq_needed_bits(beta.value(), b_min, b_max);
  std::vector<Var> cand;
  for (int b : bits) cand.push_back(dorefa_weight(w, b).value);
  return dfq_mix(cand, dfq_interp_weights(beta, bits), group_channels);
}

Var dfq_softmax_weight(const Var& w, const Var& logits, int b_min, int b_max, int64_t group_channels) {
  check_weight(w, "dfq_softmax_weight");
  LOWBIT_CHECK(b_min >= 1 && b_max <= 8 && b_min < b_max, "dfq: bit range [{}, {}] must satisfy 1 <= b_min < b_max <= 8",
               b_min, b_max);
  const int64_t G = dfq_num_groups(w.shape()[0], group_channels), K = b_max - b_min + 1;
  LOWBIT_CHECK(logits.defined() && logits.shape() == Shape({G, K}), "dfq_softmax_weight: logits must be [{}, {}], got {}",
               G, K, logits.defined() ? logits.shape().str() : std::string("undefined"));
  std::vector<Var> cand;
  for (int b = b_min; b <= b_max; ++b) cand.push_back(dorefa_weight(w, b).value);
  return dfq_mix(cand, softmax(logits), group_channels);
}

Quantized dfq_group_weight(const Var& w, const std::vector<int>& bits, int64_t group_channels) {
  check_weight(w, "dfq_group_weight");
  const int64_t O = w.shape()[0], G = dfq_num_groups(O, group_channels), cg = channels_per_group(O, group_channels);
  LOWBIT_CHECK(static_cast<int64_t>(bits.size()) == G, "dfq_group_weight: {} groups need {} widths, got {}", G, G,
               bits.size());
  for (int b : bits) LOWBIT_CHECK(b >= 1 && b <= 8, "dfq_group_weight: bits must be in [1, 8], got {}", b);
  if (G == 1) return dorefa_weight(w, bits[0]);
  const std::set<int> widths(bits.begin(), bits.end());
  if (widths.size() == 1) return dorefa_weight(w, bits[0]);  // one width: per-tensor codes, exactly the rule
  std::vector<int> list(widths.begin(), widths.end());
  std::vector<Quantized> q;
  std::vector<Var> cand;
  for (int b : list) {
    q.push_back(dorefa_weight(w, b));
    cand.push_back(q.back().value);
  }
  const int64_t K = static_cast<int64_t>(list.size());
  Tensor onehot = Tensor::zeros(Shape{G, K});
  for (int64_t g = 0; g < G; ++g)
    onehot[g * K + (std::find(list.begin(), list.end(), bits[size_t(g)]) - list.begin())] = 1.0f;
  Quantized out;
  out.value = dfq_mix(cand, Var(onehot), group_channels);
  const int B = list.back();
  const int64_t N = w.value().numel(), per = N / O;
  QCodes& c = out.codes;
  c.format = CodeFormat::uint;
  c.bits = B;
  c.shape = w.shape();
  c.code.resize(static_cast<size_t>(N));
  c.scale.assign(static_cast<size_t>(O), 0.0f);
  c.zero_point = static_cast<float>((1 << B) - 1) / 2.0f;
  const int32_t half_B = 1 << (B - 1);
  for (int64_t o = 0; o < O; ++o) {
    const int b = bits[size_t(o / cg)];
    const QCodes& src = q[size_t(std::find(list.begin(), list.end(), b) - list.begin())].codes;
    if (b == 1) {
      c.scale[size_t(o)] = 2.0f * src.scale[0];
      for (int64_t j = o * per; j < (o + 1) * per; ++j)
        c.code[size_t(j)] = static_cast<int16_t>(src.code[size_t(j)] > 0 ? half_B : half_B - 1);
    } else {
      c.scale[size_t(o)] = src.scale[0];
      const int32_t shift = half_B - (1 << (b - 1));
      for (int64_t j = o * per; j < (o + 1) * per; ++j)
        c.code[size_t(j)] = static_cast<int16_t>(src.code[size_t(j)] + shift);
    }
  }
  return out;
}

}  // namespace lowbit::quant
