// Block-replacement guided QAT (Yu, Yang, Zhang, Ma, Wang, Li, arXiv 2412.15846, 2024): a frozen
// full-precision teacher F and the low-precision student Q share one block structure; mixed models made of
// quantized blocks followed by teacher blocks are trained together with Q, so each quantized block sees fp
// representations downstream (forward) and gets gradients through the exact fp suffix (backward).
//
//   F = f_N ∘ … ∘ f_1 (teacher, frozen, eval mode)      Q = q_N ∘ … ∘ q_1 (student, quantized)
//   prefix chain (default):  M_k = f_N ∘ … ∘ f_{k+1} ∘ q_k ∘ … ∘ q_1,          k in K ⊆ {1 … N−1}
//   single block (ablation): M^(k) = f_N ∘ … ∘ f_{k+1} ∘ q_k ∘ f_{k−1} ∘ … ∘ f_1, k in K ⊆ {1 … N}
//   loss = ℓ(Q) + Σ_{k∈K} λ_k · ℓ(M_k),   ℓ(z) = (1 − α)·CE(z, y) + α·T²·KL(softmax(F(x)/T) ‖ softmax(z/T))
//
// Steps, each marked READ (the paper's abstract, the only part of the paper that could be read: research notes
// ../shared/research/methods.md §3.1) or RECONSTRUCTED (§3.2, our choice):
//   1. The LP network is guided by its FP partner in forward and backward; intermediate mixed-precision models
//      are built by block-by-block replacement on the FP model and trained simultaneously with the LP
//      backbone; only the LP network is deployed. READ (abstract).
//   2. Blocks (RECONSTRUCTED): ResNets: the stages — block 1 = stem + layer1, block 2 = layer2, …, the last
//      stage takes the pooling + fc head ("basic": one block per BasicBlock instead); VGG: one block per
//      conv+pool group, the last group takes the classifier; LeNet-5: conv1 group | conv2 group | fc part. In
//      general: the children named pool* (a last pool followed by a single weight layer joins the head), or an
//      explicit list of module names, each ending a block (`blocks`: [names]).
//   3. Each step runs Q once; the outputs h_k of its blocks are captured by feature taps (nn/taps.h) in that
//      forward and reused by every M_k, so a mixed model costs only its teacher suffix (forward + the input
//      gradient backward; frozen parameters get no weight gradient). RECONSTRUCTED (§3.2 step 3). Expected
//      step cost with equal-cost blocks and K = {1 … N−1}: 1 + 0.5·(N − 1) plain QAT steps.
//   4. The teacher is frozen and in eval mode (BatchNorm uses its running statistics, no dropout); gradients
//      reach q_k through the student's own chain (straight-through estimators) and through every fp suffix
//      (exact gradients). RECONSTRUCTED (§3.2 step 4); a trainable F (§3.2 step 7) is not implemented.
//   5. λ_k = 1 by default (RECONSTRUCTED): `lambda` is one number for every k or one per k in K; λ = 0 skips the
//      mixed model, so BR with λ = 0 is plain QAT bit for bit.
//   6. The optional KD term (RECONSTRUCTED, §3.2 step 3): every model of the chain (Q and each M_k) is
//      distilled from F's logits with the mix of quant/methods/kd.h, weight α = `kd_alpha` (default 0 = off),
//      temperature `kd_temperature`. F(x) is computed on the same augmented batch, without gradients.
//   7. The base quantizer is the run's quantization scheme (`lowbit train --quant lsq|dorefa`, a grid cell's
//      "precision"); `base` says which one the run is meant to use and prepare() checks every quantized layer
//      of the student against it (LSQ default, DoReFa the option, "any" skips the check). A student with no
//      quantized layer is refused. RECONSTRUCTED: the abstract calls BR an extension "for most QAT methods".
//   8. Initialisation: Q should start as a copy of F (§3.2 step 1); the run does that (`--init TEACHER`, a
//      grid's init cell); the method does not touch the student's weights. Inference uses Q only.
// Choices the paper (as far as it was read) leaves open, taken here:
//   - Boundaries: h_k is the student block's output before the next layer's activation quantizer (which
//     sits at the input of the next QConv2d/QLinear), so the teacher's fp block k+1 gets the student's
//     un-quantized activation (after the student's own activation function: ReLU for LSQ, clip(0, 1) for
//     DoReFa, whatever the teacher was trained with).
//   - Single-block replacement: q_k runs a second time (training mode, on F's prefix output, computed once per
//     step without gradients); its BatchNorm running statistics are restored afterwards, so only Q's own pass
//     updates them. The prefix chain never runs a student block twice.
//   - The CE terms use the run's label smoothing; the teacher logits for KD come from the teacher's forward on
//     the whole batch.
// The trainer does not run the teacher on its own (trainer_runs_teacher() is false): the method calls the
// teacher's blocks itself, and the full teacher only when the KD term is on.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/layers/sequential.h"
#include "quant/methods/method.h"

namespace lowbit::quant {

class BlockReplacement final : public Method {
 public:
  enum class Replacement { prefix, single };

  struct Settings {
    std::vector<float> lambda{1.0f};    // one value (every k) or one per k in `mixed`
    std::vector<int> mixed;             // empty = all: k = 1 … N−1
    Replacement replacement = Replacement::prefix;
    std::string blocks = "stages";      // "stages" | "basic" | "" (then block_ends)
    std::vector<std::string> block_ends;  // explicit: the module ending each block but the last
    std::string base = "lsq";           // lsq | dorefa | any
    float kd_alpha = 0.0f, kd_temperature = 4.0f;
  };

  explicit BlockReplacement(Settings s);
  // {"lambda": 1 | [..], "mixed": "all" | [k..], "replacement": "prefix" | "single",
  //  "blocks": "stages" | "basic" | [names] | "name,name,...", "base": "lsq" | "dorefa" | "any", "kd_alpha": 0,
  //  "kd_temperature": 4}
  // Missing fields take the defaults; unknown ones and bad values are refused naming the field ("br.lambda ...").
  static std::unique_ptr<Method> from_json(const nlohmann::json& settings);

  std::string name() const override { return "br"; }
  void prepare(nn::Module& student, nn::Module* teacher) override;
  std::vector<std::string> student_taps() const override;
  bool trainer_runs_teacher() const override { return false; }
  Var loss(const nn::StepInputs& step) override;
  nlohmann::json to_json() const override;

  // After prepare(): the names of the modules that end blocks 1 … N−1, the number of blocks N, the k of the
  // mixed models that are trained (λ_k > 0).
  const std::vector<std::string>& block_ends() const { return ends_; }
  int num_blocks() const { return static_cast<int>(ends_.size()) + 1; }
  std::vector<int> trained_k() const;
  // The logits of the mixed models for this step (prefix: from the student's taps; single: the student's
  // block k on the teacher's prefix), in the order of trained_k(); what loss() uses.
  std::vector<Var> mixed_logits(const nn::StepInputs& step);

  static constexpr float kDefaultTemperature = 4.0f;

 private:
  // A leaf of the block structure: child `index` of the Sequential `parent`, named `name` (dotted).
  struct Unit {
    nn::Sequential* parent;
    size_t index;
    std::string name;
  };
  // Runs units [begin, end) on x, grouping consecutive children of one Sequential into forward_range calls
  // (so BatchNorm + activation stay fused as in the model's own forward).
  static Var run_units(const std::vector<Unit>& units, size_t begin, size_t end, const Var& x);
  float lambda_of(size_t i) const;

  Settings s_;
  nn::Module* teacher_ = nullptr;
  std::vector<Unit> student_units_, teacher_units_;
  std::vector<size_t> block_begin_;  // unit index where block k (0-based) starts; size N + 1 (last = #units)
  std::vector<std::string> ends_;
  std::vector<int> k_;  // the mixed models (1-based k), resolved against N
};

}  // namespace lowbit::quant
