// BatchNorm folding for export: a weight layer's integer accumulator acc (quant/export/deploy_graph.h) goes
// through its own rescale, a BatchNorm in eval mode, the activation and the next layer's quantizer; all of that
// is folded into per-channel integer thresholds on acc (or, where the output must stay fp32, one scale and bias).
//
// Derivation (real arithmetic). The layer computes y = s·acc + t with s = wscale·sx > 0 and t the bias; the
// BatchNorm gives z = γ·(y − μ)/σ + β, σ = √(var + ε); the activation h = act(z) is monotone non-decreasing
// (ReLU, hardtanh, clip); the next quantizer q is monotone non-decreasing and piecewise constant, with level j
// reached when its argument is ≥ θ_j (sign: θ_1 = 0, since sign(0) = +1; DoReFa k-bit: θ_j = (j − ½)/n with
// n = 2^k − 1, the tie at a half going to the even code; PACT and LSQ likewise at (j − ½)·step). So
//   level(acc) ≥ j  ⇔  act(z) ≥ θ_j  ⇔  z ≥ θ'_j   (θ'_j = θ_j, or −∞ / +∞ where act clamps past it)
//                   ⇔  γ·(s·acc + t − μ)/σ ≥ θ'_j − β.
//   γ > 0:  acc ≥ (μ − t + σ·(θ'_j − β)/γ)/s =: τ_j   →  T_j = ⌈τ_j⌉, dir = +1: level = #{j : acc ≥ T_j}.
//   γ < 0:  dividing by γ flips the inequality:  acc ≤ τ_j  →  T_j = ⌊τ_j⌋, dir = −1: level = #{j : acc ≤ T_j}.
//   γ = 0:  z = β for every acc: a constant level (thresholds at ±∞).
// For a binary next layer (one level, θ = 0) this is the familiar sign flip: the bit is set where acc lies on the
// wrong side of τ, and which side is wrong depends on the sign of γ. A max pool between the activation and the
// quantizer commutes with both (max of monotone non-decreasing functions), so it runs on the codes.
//
// Exactness. The training graph evaluates that chain in float (y rounded once, BatchNorm as y·a + b with
// a = γ·(1/σ), b = β − μ·a, then the activation and the quantizer's rounding), so near τ_j a float result can
// differ from the real one. search_thresholds therefore does not round τ_j: it evaluates the training graph's
// own float chain (a callback) on integer accumulators and finds each level's first (dir +1) or last (dir −1)
// integer by bisection over [−bound, bound]. The float chain is monotone (every correctly rounded float op is
// monotone), so the thresholds reproduce the training graph's codes for every possible acc; verify_thresholds
// re-checks that on a sample. real_thresholds computes the τ_j formula above; a test checks both agree within
// one integer (they differ only where float rounding decides a tie).
//
// Multi-bit outputs that must stay fp32 (a residual stream, a classifier) fold into one scale and bias per
// channel instead: z = acc·(s·a) + (t·a + b) (folded_affine; the executor may also apply the two steps as the
// training graph does, which deploy_graph.h records as well).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace lowbit::quant::deploy {

// Codes of candidate accumulators: acc is [rows][channels] row-major, codes the same shape (code values, e.g.
// −1/+1 or 0..2^k − 1). Must be monotone in acc per channel.
using CodeChain = std::function<void(const std::vector<int64_t>& acc, int64_t rows, std::vector<int32_t>& codes)>;

struct Thresholds {
  std::vector<int8_t> dir;   // [channels]: +1 or −1
  std::vector<int32_t> t;    // [channels][levels − 1]
};

constexpr int32_t kThresholdNever = INT32_MAX;   // dir +1: never reached (acc ≥ T false for every acc)
constexpr int32_t kThresholdAlways = INT32_MIN;  // dir +1: always reached

// Level of acc under the thresholds of one channel (row of levels − 1 values).
int32_t threshold_level(int64_t acc, int8_t dir, const int32_t* t, int levels);

// Exact thresholds of chain over acc ∈ [−bound, bound] (bound < 2^31 − 1). code_lo: the code of level 0: −1 for
// binary codes (−1, +1 are levels 0, 1), 0 for unsigned codes (the code is the level).
// Throws lowbit::Error naming `where` when the chain is not monotone in acc for some channel.
Thresholds search_thresholds(int channels, int64_t bound, int32_t code_lo, int levels, const CodeChain& chain,
                             const char* where);

// Checks thresholds against chain on every acc in [−bound, bound] when that is at most `dense` values, else on
// `samples` values spread over the range plus every threshold ±1. Throws naming `where` on a mismatch.
void verify_thresholds(const Thresholds& th, int channels, int64_t bound, int32_t code_lo, int levels,
                       const CodeChain& chain, const char* where, int64_t dense = 1 << 14, int64_t samples = 4096);

// The engine's eval-mode BatchNorm coefficients (engine/ops/norm.cpp): a = γ·(1/√(var + ε)), b = β − μ·a, in
// float exactly as the engine rounds them.
void batchnorm_coefficients(const float* gamma, const float* beta, const float* mean, const float* var, float eps,
                            int channels, std::vector<float>& a, std::vector<float>& b);

// The real-arithmetic τ_j of the header for one channel: s = wscale·sx, t = bias, BN (γ, β, μ, var, ε), and the
// activation-domain level boundaries theta[0..levels − 2] (already mapped through the activation's clamp).
// Returns dir (+1, −1, 0 for γ = 0) and the rounded thresholds (⌈τ⌉ for +1, ⌊τ⌋ for −1).
int8_t real_thresholds(double s, double t, double gamma, double beta, double mean, double var, double eps,
                       const std::vector<double>& theta, std::vector<int64_t>& out);

// One-step fp32 affine of a rescale followed by a BatchNorm: S = s·a, T = t·a + b.
void folded_affine(const std::vector<float>& s, const std::vector<float>& t, const std::vector<float>& a,
                   const std::vector<float>& b, std::vector<float>& S, std::vector<float>& T);

}  // namespace lowbit::quant::deploy
