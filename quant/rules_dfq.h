// DFQ's relaxed weight quantizer (Differentiable Fine-grained Quantization, research notes methods.md §5.2,
// RECONSTRUCTED there from the abstract): a layer's bit width is a continuous β ∈ [b_min, b_max], optionally one
// per group of output channels, and its weight is the interpolation of the two neighbouring integer
// quantizations,
//
//   lo = ⌊β⌋ (lo = b_max − 1 at β = b_max),  f = β − lo,  W̃ = (1 − f)·Q_lo(W) + f·Q_lo+1(W),
//   ∂L/∂β = ⟨g_W̃, Q_lo+1(W) − Q_lo(W)⟩   (summed over the group's elements),
//   ∂L/∂W = (1 − f)·Q_lo'(W)ᵀg + f·Q_lo+1'(W)ᵀg   (each candidate's own surrogate gradient).
//
// The candidate quantizer Q_b is DoReFa's weight rule (rules.h dorefa_weight: b ≥ 2 the tanh-normalised symmetric
// uniform quantizer over the layer's max, b = 1 sign·E|w|), so at an integer β the interpolation IS the plain
// quantizer and a found bit allocation is an ordinary dorefa precision config (§5.2 names TF-style symmetric
// min/max fake-quant; DoReFa's is the same shape — symmetric, uniform, min/max-scaled — on tanh(W)).
//
// Both relaxations are a mixture W̃_i = Σ_k p[g(i), k]·Q_k(W)_i of candidates with weights p [G, K]:
//   interpolation: p = dfq_interp_weights(β) (two non-zero entries per group, 1 − f and f);
//   DNAS-style:    p = softmax(logits) over the candidate bits (logits [G, K]).
//
// Groups: group g of a weight with O output channels (axis 0) and `group_channels` c holds the channels
// [g·c, min((g+1)·c, O)), so G = ⌈O/c⌉; group_channels = 0 means one group (the whole layer).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/var.h"
#include "quant/rules.h"

namespace lowbit::quant {

// Number of groups of `out_channels` channels in groups of `group_channels` (0 = the whole layer: 1).
int64_t dfq_num_groups(int64_t out_channels, int64_t group_channels);

// W̃_i = Σ_k p[g(i), k]·candidates[k]_i. candidates: K Vars of one shape (axis 0 = output channels); p: [G, K].
// Backward: g_cand_k,i = p[g(i), k]·g_i;  g_p[g, k] = Σ_{i ∈ group g} g_i·candidates[k]_i.
Var dfq_mix(const std::vector<Var>& candidates, const Var& p, int64_t group_channels);

// The interpolation weights of β [G] over the candidate bits `bits` (ascending, consecutive where used):
// lo_g = min(⌊β_g⌋, bits.back() − 1), f_g = β_g − lo_g, p[g, idx(lo_g)] = 1 − f_g, p[g, idx(lo_g + 1)] = f_g.
// Backward: g_β_g = g_p[g, idx(lo_g + 1)] − g_p[g, idx(lo_g)] (so through dfq_mix ∂L/∂β = ⟨g, Q_lo+1 − Q_lo⟩).
// Throws when a β is outside [bits.front(), bits.back()] or a needed width is not in `bits`.
Var dfq_interp_weights(const Var& beta, const std::vector<int>& bits);

// The widths the interpolation of these β needs: every lo_g and lo_g + 1, ascending (b_max ≥ b_min + 1).
std::vector<int> dfq_needed_bits(const Tensor& beta, int b_min, int b_max);

// The search-phase weight (interpolation): candidates dorefa_weight(w, b) for the widths β needs, mixed by
// dfq_interp_weights(β). beta: [G] with G = dfq_num_groups(w.dim(0), group_channels), in [b_min, b_max].
Var dfq_interpolated_weight(const Var& w, const Var& beta, int b_min, int b_max, int64_t group_channels);
// The DNAS-style weight: candidates dorefa_weight(w, b) for b = b_min..b_max mixed by softmax(logits),
// logits [G, b_max − b_min + 1].
Var dfq_softmax_weight(const Var& w, const Var& logits, int b_min, int b_max, int64_t group_channels);

// The weight at fixed bits per group (the fine-tune after discretisation): group g's values are
// dorefa_weight(w, bits[g]) with that rule's surrogate gradient. One group: exactly dorefa_weight(w, bits[0]).
// Several groups: the codes share one container of B = max bits — unsigned B-bit codes, zero point (2^B − 1)/2,
// one scale per output channel — which represents every group exactly:
//   b ≥ 2: DoReFa's code c ∈ [0, 2^b − 1] (scale 2/(2^b − 1), zero point (2^b − 1)/2) becomes
//          c' = c + 2^(B−1) − 2^(b−1) with scale 2/(2^b − 1);
//   b = 1: ±E becomes c' = 2^(B−1) (for +E) or 2^(B−1) − 1 (for −E) with scale 2E;
// so the kernels run the group at B bits while the group's values (and its deployed size) are b-bit.
Quantized dfq_group_weight(const Var& w, const std::vector<int>& bits, int64_t group_channels);

}  // namespace lowbit::quant
