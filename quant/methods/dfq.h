// DFQ — Differentiable Fine-grained Quantization (Cheng, Huang, Guo, Huang, Yan, Li, Chen; arXiv 1810.10351,
// NIPS 2018 CDNNRIA workshop): a differentiable search of per-layer (optionally per channel group) weight bit
// widths, then a fine-tune at the found bits. Only the abstract could be read (research notes, methods.md §5.1);
// the algorithm is the notes' reconstruction (§5.2). Steps:
//
//   0. prepare: every quantized weight layer of the model (a QConv2d / QLinear with DoReFa weights; layers the
//      config keeps in fp32 stay fp32 and are not searched) is replaced by its DFQ twin (quant/methods/dfq_layers.h,
//      same state dict). Each gets a continuous width β ∈ [b_min, b_max] per group of `group_channels` output
//      channels (0 = one per layer), initialised to init_bits. RECONSTRUCTED (§5.2: "one β_l per layer,
//      optionally per output channel or group").                         READ (§5.1): weights only, mixed precision
//      found by gradient descent on a continuous relaxation of the bit widths.
//   1. search (epochs 0 .. search_epochs − 1): the weight is the interpolation of the DoReFa quantizations at ⌊β⌋
//      and ⌊β⌋ + 1, W̃ = (1 − f)·Q_⌊β⌋(W) + f·Q_⌊β⌋+1(W), f = β − ⌊β⌋, with ∂L/∂β = ⟨g_W̃, Q_⌊β⌋+1 − Q_⌊β⌋⟩
//      (quant/rules_dfq.h). RECONSTRUCTED (§5.2).
//      Option relaxation = "softmax" (DNAS style, §5.2's alternative, RECONSTRUCTED): per group, logits over the
//      candidate widths b_min..b_max, W̃ = Σ_b softmax_b·Q_b(W), expected width Σ_b softmax_b·b; argmax at the end.
//   2. loss = CE + λ·avgbits (target_bits = 0), or CE + λ·max(0, avgbits − target_bits) (the hinge to a target
//      size), with avgbits = Σ_l Σ_g N_lg·β_lg / Σ N_lg over the searched layers (parameter-weighted; for the
//      softmax relaxation the expected widths). RECONSTRUCTED (§5.2's objective).
//      The network weights follow the run's optimizer on the same loss; the search variables have their own
//      optimizer (beta_optimizer: "sgd" = plain gradient descent, the default, or "adam"; beta_lr, no weight
//      decay; RECONSTRUCTED) stepped after every optimizer step, and β is clipped to [b_min, b_max] after each
//      step. Plain descent is the default because Adam's per-variable normalisation moves every β at the same
//      speed whatever its gradient (seen on LeNet-5: all layers fell in lockstep), which erases the point of the
//      search: under gradient descent the penalty pushes a layer in proportion to its share of the weights and the
//      loss holds back the layers whose lower bits cost accuracy.
//   3. discretise at the start of epoch search_epochs: b = ceil(β) (or round(β), `discretize`), in [b_min, b_max];
//      softmax: argmax. RECONSTRUCTED (§5.2: "b_l = ceil(β_l) (or round)").
//   4. fine-tune (the remaining epochs of the run) with the bits fixed, plain cross-entropy, on the kernels: a
//      layer with one width is an ordinary QConv2d / QLinear at those bits. Per-group widths run on the kernels in
//      the container of the layer's maximum width (exact codes, a scale per output channel: rules_dfq.h
//      dfq_group_weight); the precision config and the layer's precision() say that maximum, the size accounting
//      (state "metrics", results.json) counts every group's real bits.
//   Activations stay at the fixed precision of the run's config (READ §5.1: the abstract concerns weights).
//
// allocation = "random" (the baseline "a random per-layer allocation at the same average bits", issue 12; not
// DFQ): no search; at prepare every group gets a width drawn uniformly from [b_min, b_max], and of 20000 such
// draws the one whose average (weighted as above) is closest to target_bits is kept (the first on a tie); the
// whole run is the fine-tune at those widths. The draws are seeded by a hash of the model's weights at prepare
// (the run's seed, or the init model's weights), so seeds differ and a rerun repeats; a resume takes the widths
// from the checkpoint.
//
// Open choices taken here (none is the paper's): the candidate quantizer is DoReFa's weight rule (§5.2 names
// TF-style symmetric min/max fake-quant; DoReFa's is symmetric uniform min/max-scaled on tanh(W), and makes the
// found config an ordinary dorefa precision config); widths 1..8 (1 = DoReFa's sign·E|w|; no ternary); lo =
// b_max − 1 at β = b_max (the β gradient there is one-sided); β starts at init_bits = b_max (from high precision
// down); avgbits over the searched layers only (fp32 first/last layers are not part of the budget); the hinge is
// on average bits (a size target in bytes is that times the searched weights / 8 plus the fixed layers);
// defaults λ = 1 (hinge) / 0.05 (no target), beta_lr = 0.05, search_epochs = 1, discretize = ceil.
//
// Files in the run directory: beta.csv (the trajectory: step, epoch, avg bits and each layer's mean β, every
// log_every steps of the search and at its end), beta.{dat,gp,svg,png} (its plot, gnuplot when installed),
// dfq_precision.json (the discretised bits as an ordinary precision config: `lowbit train --precision-config`,
// `lowbit info`). model.lbar records the discretised layers, so eval/info/export load the found model.
// The method state (checkpoints; a resume continues bit-identically): phase, β / logits, the search Adam's
// state, the trajectory, the discretised bits, and "metrics" {search_seconds, search_epochs, size_bytes,
// avg_wbits, bitops} once discretised (lab's results.json takes these over its own per-layer figures).
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/optim.h"
#include "quant/methods/dfq_layers.h"
#include "quant/methods/method.h"

namespace lowbit::quant {

struct DfqSettings {
  int b_min = 2, b_max = 8;
  float init_bits = 0.0f;      // 0 = b_max
  DfqRelaxation relaxation = DfqRelaxation::interpolate;
  int64_t group_channels = 0;  // 0 = one width per layer
  float lambda = -1.0f;        // < 0 = the default for the penalty (1 with a target, 0.05 without)
  float target_bits = 0.0f;    // > 0: hinge max(0, avgbits − target); 0: λ·avgbits
  int search_epochs = 1;
  float beta_lr = 0.05f;
  bool adam = false;           // the search variables' optimizer: plain gradient descent (default) or Adam
  bool round = false;          // discretise by round instead of ceil
  int log_every = 50;          // steps between trajectory rows during the search
  bool random = false;         // allocation "random": no search, random widths at target_bits (a baseline)

  float effective_lambda() const { return lambda >= 0.0f ? lambda : (target_bits > 0.0f ? 1.0f : 0.05f); }
  float effective_init() const { return init_bits > 0.0f ? init_bits : float(b_max); }
  // Throws naming the field ("dfq.b_max must be ...").
  void validate() const;
  nlohmann::json to_json() const;
  static DfqSettings from_json(const nlohmann::json& j);
};

// ceil or round of β, clamped to [b_min, b_max] (exposed for tests).
int dfq_discretize(float beta, const DfqSettings& s);

class Dfq final : public Method {
 public:
  explicit Dfq(DfqSettings s);
  static std::unique_ptr<Method> from_json(const nlohmann::json& settings);

  std::string name() const override { return "dfq"; }
  void prepare(nn::Module& student, nn::Module* teacher) override;
  void attach_run(const MethodRun& run) override;
  Var loss(const nn::StepInputs& step) override;
  void after_step(int64_t global_step) override;
  void before_epoch(int epoch) override;
  void after_epoch(const nn::EpochMetrics& metrics) override;
  nlohmann::json to_json() const override { return settings_.to_json(); }
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state) override;
  void finish_model_meta(nlohmann::json& meta) override;

  const DfqSettings& settings() const { return settings_; }
  bool searching() const { return searching_; }
  // Each searched layer's name and search variable (β [G], or logits [G, K]); its current widths (β, or the
  // expected widths) and, once discretised, its bits.
  struct Layer {
    std::string name;
    DfqLayer* layer = nullptr;
    Var var;
    int64_t groups = 1;
    std::vector<int64_t> group_weights;  // N_g
  };
  const std::vector<Layer>& layers() const { return layers_; }
  std::vector<float> widths(const Layer& l) const;  // current continuous widths per group
  double average_bits() const;                     // Σ N·width / Σ N over the searched layers
  // Discretises now (the phase switch; also called when a run ends inside the search).
  void discretize();
  // The discretised bits as a precision config: base (a PrecisionConfig JSON) plus one exact-name override per
  // searched layer with its (maximum) width.
  nlohmann::json precision_config(const nlohmann::json& base) const;

 private:
  Var expected_bits(const Layer& l) const;  // [G] Var: β or softmax·b
  void log_trajectory();                     // a row at last_step_ (replacing one already there)
  void write_files() const;
  nlohmann::json metrics() const;            // computed (needs the discretised model)
  nlohmann::json fixed_metrics() const;      // metrics_, computed once the input shape is known
  double searched_bits() const;              // Σ N·b / Σ N over the searched layers, discretised
  double search_seconds_now() const;         // the search's wall time so far (the epoch in progress included)

  DfqSettings settings_;
  std::vector<Layer> layers_;
  nn::Module* model_ = nullptr;
  std::unique_ptr<Optimizer> opt_;
  bool searching_ = true;
  int epoch_ = 0;
  std::vector<std::vector<double>> trajectory_;  // step, epoch, avg bits, per-layer mean width
  std::vector<int64_t> input_shape_;             // C, H, W of the first batch seen (for the accounting)
  int64_t last_step_ = 0;
  double search_seconds_ = 0.0;  // finished search epochs (training + validation)
  std::chrono::steady_clock::time_point epoch_start_;
  bool in_epoch_ = false;
  mutable nlohmann::json metrics_ = nlohmann::json::object();  // fixed at the discretisation
  void choose_random_bits();
  MethodRun run_;
  mutable bool plot_warned_ = false;
};

}  // namespace lowbit::quant
