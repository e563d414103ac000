// CCQ: competitive-collaborative bit allocation (Khan, Kamani, Mahdavi, Narayanan, "Learning to Quantize Deep
// Neural Networks: A Competitive-Collaborative Approach", DAC 2020). Research notes §4
// (../shared/research/methods.md); only the abstract was read, so the algorithm is a reconstruction.
//
// Steps (READ = from the abstract, S4; RECONSTRUCTED = our choice, from §4.2 of the notes and the issue):
//   0. Start from the fp32 model (the run's init) with every weight layer, FIRST AND LAST INCLUDED, at the top
//      rung of a bit ladder (default 8→6→4→3→2; 1 or ternary "t" may be added). Fine-tune once (round 0).
//      READ: iterative and accuracy-driven; first and last layers are quantized too. RECONSTRUCTED: the ladder.
//   1. Competition: every layer not at its floor (the ladder's last rung) and not frozen proposes to step one
//      rung down. Each candidate (that one change, everything else as committed) gets a short QAT warm-up
//      (warmup_steps) from the committed weights and is scored on the validation hold-out by
//         score = (acc_ref − acc_candidate) [percentage points] / saved   when that loss is > 0, else −saved
//      saved = (b_old − b_new)·N_l / ΣN (the change of the parameter-weighted average weight bits; weight_by
//      "params") or ΔBitOPs_l / ΣMACs (weight_by "bitops"); acc_ref is the committed model's validation accuracy.
//      The lowest score wins (least accuracy lost per bit saved; steps that lose nothing first, the largest
//      saving first); top_k > 1 lets the k best win; choice "bandit"
//      draws the winner(s) with probability ∝ exp(−bandit_eta·score) (exponential weights) instead.
//      READ: layer-wise competition. RECONSTRUCTED: everything about the score and the bandit (the references
//      hint at online learning; not verified).
//   2. Collaboration: apply the winners' steps and fine-tune all layers together for finetune_steps.
//      READ: holistic fine-tuning recovers accuracy. RECONSTRUCTED: the budget in steps.
//   3. Roll-back: when the fine-tuned validation accuracy is more than epsilon below the fp32 model's, the
//      round's winners go back to their rung and are frozen (the weights of before the round come back).
//      RECONSTRUCTED (from §4.2), with one choice: the reference is min(fp32 accuracy, the start model's accuracy
//      after round 0), because low activation bits (fixed by the run, not allocated by CCQ) can put even the
//      top rung below fp32, and every step would then be rolled back.
//   4. Stop when the target is met (average weight bits ≤ target, model size in bytes ≤ target, or BitOPs ≤
//      target; quant/cost.h counts them), or when no layer can step down (then "target_reached" is false).
//      The final fine-tune is the run's ordinary training (its epochs) from the searched weights, at the found
//      per-layer precision, written as an ordinary precision-config JSON (ccq/precision.json).
// Choices left open and taken here: validation is a hold-out of the training set (the run's val_holdout), never
// the test split; activation bits stay those of the run's precision config (the first layer reads 8-bit image
// codes, policy "q"); the weight quantizer is the run's scheme (DoReFa or LSQ; LSQ's learned parameters of a
// layer whose bits change start afresh); each warm-up and fine-tune uses a fresh optimizer of the run's recipe at
// its base learning rate times lr_scale, and data in an order seeded by (seed, round, layer); with top_k > 1 a
// roll-back freezes every winner of the round.
//
// Files (the search's directory, <out>/ccq/): rounds.csv (one line per candidate: its score, whether it won,
// and the round's outcome), state.json (the finished rounds), weights_<round>.lbar (the committed weights after
// that round), precision.json (the final per-layer config). A resumed run restarts the round after the last
// finished one; a round is finished once its state is written, so a kill inside a round repeats that round.
// state_<round>.json and weights_<round>.lbar are kept for every round.
//
// CCQ_SHARED_ROUNDS. Nothing in a round depends on the target: it only decides when the loop stops. Two searches
// of the same inputs (model, init, data, seed, recipe, precision, and settings other than the target) therefore
// run the same rounds until the one with the higher target stops. seed_from() lets a search start from another's
// round instead of repeating it; the rounds are bit-identical to the ones it would have run (a resume from the
// donor's files), so its result is the one a search from scratch gives. A grid (lab/runner.h) offers the
// same-seed cells of one method that differ only in the target as donors.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "quant/cost.h"
#include "quant/methods/method.h"
#include "quant/precision.h"

namespace lowbit::quant {

struct CcqRung {
  int wbits = 8;
  bool ternary = false;
  std::string str() const;  // "8", "t"
  int cost_bits() const { return ternary ? 2 : wbits; }
};
// "8,6,4,3,2" (also "8>6>4", "8→6→4"): bits 1..8 or "t", strictly decreasing in stored bits (ternary = 2), at
// least two rungs. Throws naming `field`.
std::vector<CcqRung> parse_ccq_ladder(const std::string& text, const std::string& field);

struct CcqSettings {
  std::string ladder = "8,6,4,3,2";
  std::string target = "avg_wbits";  // avg_wbits | size_bytes | bitops
  double target_value = 2.0;
  int warmup_steps = 50;
  int finetune_steps = 200;
  std::string weight_by = "params";  // params | bitops
  int top_k = 1;
  std::string choice = "best";  // best | bandit
  double bandit_eta = 1.0;
  double epsilon = 0.02;        // accuracy (fraction) below the reference (step 3) that rolls a step back
  double lr_scale = 0.1;        // search learning rate = the run's lr × lr_scale (it fine-tunes a trained model)
  int max_rounds = 0;           // 0 = until the target or no candidate is left
  int64_t val_images = 0;       // 0 = the whole hold-out
  // Every field validated, unknown ones refused ("ccq.<field> must be ...").
  static CcqSettings from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
  std::vector<CcqRung> rungs() const { return parse_ccq_ladder(ladder, "ccq.ladder"); }
};

// What the round logic asks of the world: a QAT backend in a run (quant/methods/ccq_qat.h), a script in tests.
class CcqBackend {
 public:
  virtual ~CcqBackend() = default;
  virtual double fp32_accuracy() = 0;
  // The candidate: committed weights at `config` (per layer: `layers`), warmed up; its validation accuracy.
  // Commits nothing.
  virtual double warm_up(const PrecisionConfig& config, const std::vector<Precision>& layers, int round,
                         size_t layer) = 0;
  // The committed weights at `config`, all layers fine-tuned; they become the committed weights. Val accuracy.
  virtual double fine_tune(const PrecisionConfig& config, const std::vector<Precision>& layers, int round) = 0;
  virtual void roll_back() = 0;  // the committed weights of before the last fine_tune
  virtual void save(const std::string& path) = 0;  // the committed weights
  virtual void load(const std::string& path) = 0;
  // Training images processed per step (for the search's QAT-epoch equivalents).
  virtual int64_t images_per_step() const { return 0; }
};

struct CcqCandidate {
  size_t layer = 0;
  int from_rung = 0, to_rung = 0;
  double acc = 0.0, saved = 0.0, score = 0.0;
  bool winner = false;
};
struct CcqRound {
  int round = 0;
  double ref_acc = 0.0;  // the committed model's val accuracy before the round
  std::vector<CcqCandidate> candidates;
  double acc_after = 0.0;  // after the collaboration fine-tune
  bool rolled_back = false;
  double avg_wbits = 0.0, size_bytes = 0.0, bitops = 0.0;  // of the committed config after the round
  nlohmann::json to_json() const;
  static CcqRound from_json(const nlohmann::json& j);
};

struct CcqResult {
  std::vector<int> rungs;
  std::vector<bool> frozen;
  std::vector<Precision> precisions;
  PrecisionConfig config;
  std::vector<CcqRound> history;  // round 0 (the start) first
  double fp32_acc = 0.0, final_acc = 0.0;
  bool target_reached = false, finished = false;
  // seed_from: the donor search's directory and round this search started from ("" / −1: it ran every round).
  std::string seeded_from;
  int seeded_round = -1;
  int64_t warmup_steps = 0, finetune_steps = 0;  // done by the search, over all its resumed parts
  double seconds = 0.0;
  ModelCost cost;
};

// The round logic. layers: the model's weight layers (quant/cost.h, model order); base: the run's precision
// config (scheme, activation bits, options; its first/last policy becomes "q": CCQ quantizes both).
class CcqSearch {
 public:
  CcqSearch(CcqSettings settings, std::vector<LayerGeometry> layers, PrecisionConfig base, std::string dir);
  // Runs (or resumes, when dir holds a state) to the end, or for at most stop_after_rounds more rounds when > 0
  // (a test's stand-in for a kill; the result then has finished = false). Writes the files of the header.
  CcqResult run(CcqBackend& backend, int stop_after_rounds = 0);
  // The config with every layer at its rung (exact-name overrides on `base`), and its per-layer precisions.
  PrecisionConfig config_for(const std::vector<int>& rungs) const;
  std::vector<Precision> precisions_for(const std::vector<int>& rungs) const;
  bool target_met(const ModelCost& c) const;
  // The target test on a round's recorded cost (CcqRound: the committed config after the round).
  bool target_met(double avg_wbits, double size_bytes, double bitops) const;

  // Starts a search that has no state of its own from the rounds of another search of the same inputs with
  // another target (CCQ_SHARED_ROUNDS below): among `donor_dirs` (other searches' directories; missing ones, ones
  // searched with other settings than this one's up to the target, or of another model's layers are skipped), the
  // donor giving the latest usable round n is taken: the first round after which this search's target is met (this
  // search would stop right after it), else the donor's last finished round. Its state_<n>.json and
  // weights_<n>.lbar become this search's state (settings replaced by this one's, "seeded_from" recorded; the
  // search time and steps of rounds 0..n are the donor's, so this search's cost still counts them), and run()
  // resumes from there. Returns {donor directory, n}, or {"", -1} when no donor fits (nothing is written then).
  std::pair<std::string, int> seed_from(const std::vector<std::string>& donor_dirs) const;

 private:
  void write_state(const CcqResult& r, int round) const;
  void write_csv(const std::vector<CcqRound>& history) const;
  CcqSettings s_;
  std::vector<CcqRung> ladder_;
  std::vector<LayerGeometry> layers_;
  PrecisionConfig base_;
  std::string dir_;
};

// The backend a run uses (ccq_qat.cpp): QAT warm-ups and fine-tunes on ctx's data; ctx must outlive it.
std::unique_ptr<CcqBackend> make_qat_ccq_backend(const SearchContext& ctx, const CcqSettings& s,
                                                 std::vector<std::string> layer_names);

// The Method: plain cross-entropy for the final fine-tune; search() runs CcqSearch with the QAT backend.
class Ccq final : public Method {
 public:
  explicit Ccq(CcqSettings s) : s_(std::move(s)) {}
  static std::unique_ptr<Method> from_json(const nlohmann::json& settings);
  std::string name() const override { return "ccq"; }
  void prepare(nn::Module& student, nn::Module* teacher) override;
  Var loss(const nn::StepInputs& step) override;
  nlohmann::json to_json() const override { return s_.to_json(); }
  nlohmann::json state() const override;
  bool searches() const override { return true; }
  SearchResult search(const SearchContext& context) override;
  const CcqSettings& settings() const { return s_; }

 private:
  CcqSettings s_;
  nlohmann::json metrics_ = nlohmann::json::object();
};

}  // namespace lowbit::quant
