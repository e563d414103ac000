// DCQ, Divide and Conquer Quantization (Elthakeb, Pilligundla, Mireshghallah, Cloninger, Esmaeilzadeh;
// arXiv 1906.06033): sectional distillation of a frozen fp32 teacher into a quantized student.
//
//   lowbit train --model lenet5 --quant dorefa --wbits 1 --abits 4 --method dcq --teacher T.lbar
//                --sections pool2 --dcq-phase1-epochs 3 --epochs 4
//
// Steps (READ = seen in the abstract, the algorithm figure or the released code AhmedTElthakeb/dcq.code, as the
// research notes ../shared/research/methods.md §2.1 record them; RECON = our reconstruction, §2.2):
//   1. SPLIT: the teacher T = T_m ∘ … ∘ T_1 is cut into sections at named module boundaries (READ: the figure;
//      the code cuts once, after a conv/ReLU/pool group). Which boundaries is RECON (§2.2 step 2): the defaults of
//      nn/sections.h — LeNet-5 conv part | fc part, a ResNet one section per stage + the head, VGG one per pool
//      group + the head; `sections` names other boundaries (top-level modules, e.g. "pool1,pool2").
//   2. Every student section S_i starts from the teacher's section T_i (prepare copies the teacher's weights
//      and BatchNorm statistics into the student, whatever --init said; READ: the student is a quantized copy
//      of the fp32 model) and is quantized as the run's precision says (the scheme is the run's: DoReFa,
//      TWN, LSQ, ... — "DCQ + another QAT method" is DCQ with that method's quantizer).
//   3. PHASE 1 (READ: the figure; the loss choice READ from the code): the frozen teacher runs on the batch once
//      (no gradients) and its taps capture h_i at every boundary. Section i runs on h_{i−1} (h_0 = the images)
//      and is trained on L_i = loss(S_i(h_{i−1}), h_i): MSE (the code's default), L1 or Huber (δ = 0.4, the
//      code's commented-out variant) — `loss`. The last section is trained on cross-entropy with the labels
//      (READ: the figure; the code's loop had MSE only), or KD on the teacher's logits (`last_loss` "kd":
//      (1 − α)·CE + α·T²·KL, quant/methods/kd.h; RECON). The step's loss is Σ_i L_i; since every section's
//      input is a teacher activation (no graph), one backward pass gives each section exactly the gradient of
//      its own L_i (partial backprop, READ), and the teacher gets none. The student's own full forward is not
//      run in phase 1 (nn::TrainHooks::forward); the training accuracy is the last section's, on h_{m−1}.
//   4. Sections train independently (READ: "in parallel"). Here they run one after another inside each step,
//      in one pass over the data, each layer's kernels multi-threaded over the batch/channels by the engine
//      (RECON: on 2 cores, threads inside a kernel keep both busy; running sections concurrently would split
//      the same 2 cores and add a second thread pool). The optimizer (the run's, SGD by default as in the
//      code) updates every section in the same step; its per-parameter update makes this equal to separate
//      runs with the same schedule. Cost: the sections together are one student forward + backward, plus the
//      teacher's no-grad forward. Measured (bench_methods_step BM_dcq, process CPU time, medians, same run,
//      bench/results/methods_step_dcq.json): phase-1 step / plain DoReFa W1A8 QAT step = 1.30 (LeNet-5),
//      1.32 (ResNet-20), 1.27 (VGG-small), batch 128, 2 threads.
//   5. MERGE (READ): the trained sections, stitched, are the student model itself — the trainer validates it
//      after every epoch (eval mode, the student's own forward), so "stitch and evaluate" is each epoch's
//      validation.
//   6. PHASE 2 (optional, RECON §2.2 step 5): epochs after `phase1_epochs` fine-tune the stitched student end to
//      end on CE (or KD, `last_loss`). phase1_epochs = 0: every epoch is phase 1 ("DCQ without phase 2").
//
// Boundaries and the activation quantizer. In lowbit the activation quantizer sits on the CONSUMER side of a
// boundary: the first weight layer of section i+1 (QConv2d/QLinear) quantizes its input. Section i therefore
// ends with the bounded fp activation (DoReFa: clip(0,1), then a max pool where the model has one), and the
// regression compares it with the teacher's activation at the same module; section i+1 receives the teacher's
// fp activation and quantizes it exactly as it will quantize section i's output once stitched. Why: (a) both
// sides of L_i are then the same kind of value, so L_i can reach 0 — a quantized output compared with an fp
// target (the released code compares Distiller's quantized ReLU output with the teacher's ReLU) has a floor
// no weight can remove; (b) the stitched model quantizes each boundary once, as phase 1 trained it.
// This needs a teacher whose hidden activation is the student's (methods.md §2.2 point 1): a DoReFa student
// outputs clip(0,1) values, which cannot match an unbounded ReLU teacher by MSE. The zoo's fp32 models use
// ReLU; `--quant dorefa` (and twn) builds the student with clip(0,1), LSQ keeps ReLU, and no command builds an
// fp32 model with clip(0,1) today (`--abits 32` falls back to ReLU). `teacher_activation` says what to do:
//   "same" (default): every activation module of the two models must be of the same kind, else an error
//          naming the module;
//   "bound": the teacher's output at each boundary is clipped to the bounds of the student's last activation
//          in that section (Clip(0,1): [0, 1]) — both as section i's target and as section i+1's input. For a
//          ReLU teacher and a clip(0,1) student this is exactly the teacher with the student's activation at
//          that module (clip01∘relu = clip01, and a max pool commutes with a monotone clip), so the target is
//          reachable and section i+1 sees what the stitched student feeds it; the activations inside a section
//          stay the teacher's (RECON: our answer to §2.2 point 1 for the ReLU teachers the zoo trains);
//   "any": no check, no clipping (the released code's behaviour; an ablation).
//
// Choices the sources leave open, taken here: the boundaries (above); equal weights for the section losses
// (their gradients do not mix, so the weights only scale each section's learning rate); BatchNorm of a section
// in training mode on the teacher's activations (batch statistics, running statistics updated); phase 1 and 2
// share the run's optimizer and learning-rate schedule; dropout in the student as configured; the teacher runs
// on the same (augmented) batch; in phase 2 with CE the teacher still runs (its output is unused).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/layers/sequential.h"
#include "nn/sections.h"
#include "quant/methods/kd.h"
#include "quant/methods/method.h"

namespace lowbit::quant {

struct DcqSettings {
  std::string sections = "auto";  // "auto" (the model's default) or boundary modules "pool1,pool2"
  std::string loss = "mse";       // mse | l1 | huber: the intermediate sections' regression loss
  float huber_delta = 0.4f;
  std::string last_loss = "ce";   // ce | kd: the last section's loss (and phase 2's)
  float kd_temperature = KnowledgeDistillation::kDefaultTemperature;
  float kd_alpha = KnowledgeDistillation::kDefaultAlpha;
  int phase1_epochs = 0;          // epochs of phase 1; later epochs fine-tune end to end; 0 = all phase 1
  std::string teacher_activation = "same";  // same | bound | any (see above)

  // Throws naming the field ("dcq.loss must be one of mse, l1, huber, got 'l3'").
  void validate() const;
  nlohmann::json to_json() const;
  // Missing fields keep their defaults; unknown or mistyped fields are refused, naming them.
  static DcqSettings from_json(const nlohmann::json& j);
};

class Dcq final : public Method {
 public:
  explicit Dcq(DcqSettings s);
  static std::unique_ptr<Method> from_json(const nlohmann::json& settings);

  std::string name() const override { return "dcq"; }
  // Checks the pair (both Sequential zoo models, the sections, the activations) and copies the teacher's
  // weights into the student.
  void prepare(nn::Module& student, nn::Module* teacher) override;
  std::vector<std::string> teacher_taps() const override;
  Var train_forward(const nn::Batch& batch, const Var& teacher_logits, const nn::FeatureTaps& teacher_taps) override;
  Var loss(const nn::StepInputs& step) override;
  void before_epoch(int epoch) override { phase1_ = s_.phase1_epochs == 0 || epoch < s_.phase1_epochs; }
  nlohmann::json to_json() const override { return s_.to_json(); }

  const DcqSettings& settings() const { return s_; }
  const std::vector<nn::Section>& sections() const { return sections_; }
  bool in_phase1() const { return phase1_; }
  // Phase 1: the section outputs of the last train_forward and their losses from the last loss() (one per
  // section, the last one the classification loss).
  const std::vector<Var>& section_outputs() const { return outputs_; }
  const std::vector<Var>& section_losses() const { return losses_; }

 private:
  Var regression(const Var& out, const Var& target) const;
  Var classification(const nn::StepInputs& step);

  // The teacher's activation at boundary i as the sections use it (clipped under "bound").
  Var boundary_value(const nn::FeatureTaps& teacher_taps, size_t i) const;

  DcqSettings s_;
  KnowledgeDistillation kd_;
  std::vector<std::pair<float, float>> bounds_;  // per boundary, "bound" mode: the clip range (lo > hi: none)
  nn::Sequential* student_ = nullptr;
  std::vector<nn::Section> sections_;
  bool phase1_ = true;
  std::vector<Var> outputs_, losses_;
};

}  // namespace lowbit::quant
