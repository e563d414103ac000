// The table of training methods: one row each (add a method here and in its own file; README.md).
#include "engine/error.h"
#include "quant/methods/block_replacement.h"
#include "quant/methods/ccq.h"
#include "quant/methods/dcq.h"
#include "quant/methods/dfq.h"
#include "quant/methods/kd.h"
#include "quant/methods/method.h"

namespace lowbit::quant {

const std::vector<MethodRow>& method_table() {
  static const std::vector<MethodRow> rows = {
      {"kd", "knowledge distillation: (1-alpha)*CE + alpha*T^2*KL(teacher/T || student/T)", true, true,
       &KnowledgeDistillation::from_json},
      {"dcq", "sectional distillation (DCQ): each quantized section regresses the teacher's section output on the "
              "teacher's input, then optional end-to-end fine-tuning", true, true, &Dcq::from_json},
      {"br", "block-replacement guided QAT: CE(Q) + sum_k lambda_k*CE(M_k), M_k = teacher blocks after k quantized blocks",
       true, true, &BlockReplacement::from_json},
      {"ccq", "competitive-collaborative bit allocation: per-layer bits stepped down a ladder by rounds of "
              "candidate warm-ups, then a fine-tune", false, false, &Ccq::from_json},
      {"dfq", "differentiable bit-width search (beta per layer/group, interpolated DoReFa weights), then a fine-tune",
       false, false, &Dfq::from_json},
  };
  return rows;
}

SearchResult Method::search(const SearchContext&) {
  LOWBIT_CHECK(false, "method '{}' does not search", name());
  return {};
}

const MethodRow& method_row(const std::string& name) {
  std::string known;
  for (const MethodRow& r : method_table()) {
    if (name == r.name) return r;
    known += (known.empty() ? "" : ", ") + std::string(r.name);
  }
  LOWBIT_CHECK(false, "unknown training method '{}' (known: {})", name, known);
  return method_table().front();
}

std::unique_ptr<Method> make_method(const std::string& name, const nlohmann::json& settings) {
  const MethodRow& row = method_row(name);
  LOWBIT_CHECK(settings.is_object(), "method '{}': settings must be a JSON object, got {}", name, settings.dump());
  return row.from_json(settings);
}

}  // namespace lowbit::quant
