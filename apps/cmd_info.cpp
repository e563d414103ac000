// lowbit info: the layer summary (shapes, parameters, MACs) of a zoo model by name, or of a saved model or
// checkpoint together with what its metadata records (data set, epochs, accuracy, build). For a quantized model
// (quantization flags with a model name, or a file trained with --quant) also the per-layer precision (for a
// file: as its record says), packed size and MACs by precision (quant/report.h), and the size and cost
// accounting (quant/cost.h: bytes split into weights, scales and thresholds, average weight bits, BitOPs per
// layer and in total; print_cost below). For a packed .lbm file (lowbit export): its ops, bits, bytes, MACs by
// precision and arena size, read through the runtime (info_lbm.cpp).
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/lbm_file.h"
#include "engine/error.h"
#include "nn/data/registry.h"
#include "nn/summary.h"
#include "nn/train/trainer.h"
#include "nn/zoo/zoo.h"
#include "apps/quant_flags.h"
#include "quant/cost.h"
#include "quant/quantized_model.h"
#include "quant/report.h"
#include "quant/training.h"

namespace lowbit::app {

namespace {
// The size and cost accounting of a model (quantized or fp32) as its layers hold their precisions.
void print_cost(nn::Module& model, const Shape& input) {
  std::printf("size and cost (quant/cost.h):\n");
  std::fputs(quant::model_cost(model, input).table().c_str(), stdout);
}

struct InfoArgs {
  std::string target, dataset;
  QuantFlags quant;
};

int run_info(const InfoArgs& a) {
  if (a.target.empty()) {
    std::printf("models: %s\ndata sets: %s\nrun `lowbit info <model|file>` for a summary\n",
                fmt::format("{}", fmt::join(nn::model_names(), ", ")).c_str(),
                fmt::format("{}", fmt::join(nn::dataset_names(), ", ")).c_str());
    return 0;
  }
  if (is_lbm_file(a.target)) return run_info_lbm(a.target);
  std::error_code ec;
  std::shared_ptr<nn::Module> model;
  nn::ModelOptions mo;
  std::string name;
  if (std::filesystem::is_regular_file(a.target, ec)) {
    nn::LoadedModel lm = nn::load_trained_model(a.target, "", quant::build_model_from_meta);
    model = lm.model;
    mo = lm.model_options;
    name = lm.model_name;
    const nlohmann::json& m = lm.meta;
    std::printf("file: %s\nmodel: %s\n", a.target.c_str(), name.c_str());
    if (m.contains("config")) std::printf("config: %s\n", m["config"].dump().c_str());
    if (m.contains("epoch")) std::printf("checkpoint after epoch: %d\n", m["epoch"].get<int>());
    if (m.contains("epochs_trained")) std::printf("epochs trained: %d\n", m["epochs_trained"].get<int>());
    if (m.contains("history") && !m["history"].empty()) {
      const auto& last = m["history"].back();
      std::printf("last epoch: val acc %.2f%%, val loss %.4f\n", 100.0 * last.value("val_acc", 0.0),
                  last.value("val_loss", 0.0));
    }
    if (m.contains("final"))
      std::printf("final epoch: val acc %.2f%%, val loss %.4f\n", 100.0 * m["final"].value("val_acc", 0.0),
                  m["final"].value("val_loss", 0.0));
    if (m.contains("build")) std::printf("built by: %s\n", m["build"].dump().c_str());
    if (m.contains("extra") && m["extra"].contains("quant")) {
      const nlohmann::json& record = m["extra"]["quant"];
      const quant::QuantSpec spec = quant::spec_from_record(record, a.target);
      std::printf("quantization: %s\n", spec.to_json().dump().c_str());
      const bool old_form = !record.contains("format");
      if (old_form) std::printf("(recorded before per-layer records: %s)\n", record.dump().c_str());
      const quant::BuiltModel recorded = quant::build_model_from_record(name, mo, record, a.target);
      std::printf("per-layer precision (%s):\n%s", old_form ? "resolved from the recorded flags" : "as recorded",
                  quant::describe_layers(recorded.layers).c_str());
    }
  } else {
    const auto names = nn::model_names();
    const bool is_model = std::find(names.begin(), names.end(), a.target) != names.end() ||
                          a.target.rfind("resnet", 0) == 0;
    LOWBIT_CHECK(is_model, "'{}' is neither a file nor a model name (models: {})", a.target, fmt::join(names, ", "));
    const nn::DatasetInfo& info = nn::dataset_info(a.dataset);
    mo.in_channels = info.c;
    mo.height = info.h;
    mo.width = info.w;
    mo.num_classes = info.num_classes;
    std::vector<std::string> warnings;
    const quant::BuiltModel built = quant::build_model(a.target, mo, quant_spec_from_flags(a.quant), &warnings);
    model = built.model;
    if (!a.quant.init.empty()) quant::load_init(*model, a.quant.init);
    for (const std::string& w : warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    name = a.target;
    std::printf("model: %s (input %dx%dx%d as in %s)\n", name.c_str(), mo.in_channels, mo.height, mo.width,
                a.dataset.c_str());
  }
  const nn::ModelSummary s = nn::summarize(*model, Shape{mo.in_channels, mo.height, mo.width});
  std::fputs(s.table().c_str(), stdout);
  if (!quant::quantized_layers(*model).empty())
    std::fputs(quant::precision_report(*model, Shape{mo.in_channels, mo.height, mo.width}).table().c_str(), stdout);
  print_cost(*model, Shape{mo.in_channels, mo.height, mo.width});
  return 0;
}
}  // namespace

Command register_info(CLI::App& app) {
  auto a = std::make_shared<InfoArgs>();
  a->dataset = "fashion-mnist";
  CLI::App* s = app.add_subcommand("info", "Summarise a zoo model or a saved model/checkpoint");
  s->add_option("target", a->target, "Model name (e.g. lenet5, resnet20), a .lbar file, or a packed .lbm file");
  s->add_option("--dataset", a->dataset, "Input shape for a model name: that of this data set")
      ->check(CLI::IsMember(dataset_choices()))->capture_default_str();
  add_quant_flags(*s, a->quant);
  return {s, [a] { return run_info(*a); }};
}

}  // namespace lowbit::app
