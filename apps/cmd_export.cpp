// lowbit export: a trained model (model.lbar or checkpoint.lbar) as a packed .lbm file for the runtime, or as a
// C header holding that file for a firmware build (--format c-header: a const, 64-byte aligned array and the
// arena size as a macro). The folding and the refusals are quant/export's (lower.h, write_lbm.h).
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "engine/error.h"
#include "nn/archive.h"
#include "nn/data/registry.h"
#include "nn/train/trainer.h"
#include "quant/export/lower.h"
#include "quant/export/write_lbm.h"
#include "quant/quantized_model.h"
#include "runtime/lbm_writer.h"

namespace lowbit::app {

namespace {
struct ExportArgs {
  std::string checkpoint, out, format = "lbm", symbol, dataset;
  bool print_ops = false;
};

// A C identifier from the output file's stem ("lenet5-w1a1.h" → "lenet5_w1a1").
std::string symbol_from(const std::string& path) {
  std::string s = std::filesystem::path(path).stem().string();
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "lbm_" + s;
  return s;
}

bool valid_symbol(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

int run_export(const ExportArgs& a) {
  const nn::LoadedModel lm = nn::load_trained_model(a.checkpoint, "", quant::build_model_from_meta);
  std::string dataset = a.dataset;
  if (dataset.empty() && lm.meta.contains("config") && lm.meta["config"].contains("dataset"))
    dataset = lm.meta["config"]["dataset"].get<std::string>();
  std::vector<float> mean, std;
  if (!dataset.empty()) {
    const nn::DatasetInfo& info = nn::dataset_info(dataset);
    mean = info.mean, std = info.std;
  }
  const quant::deploy::DeployGraph g = quant::deploy::lower_model(*lm.model, lm.model_name, lm.model_options);
  const std::vector<uint8_t> lbm = quant::deploy::write_lbm(g, mean, std);
  const uint64_t arena = quant::deploy::lbm_arena_bytes(lbm);
  // Atomic writes (temp file, fsync, rename): an interrupted export leaves the old file or none, never half of one.
  if (a.format == "c-header") {
    const std::string sym = a.symbol.empty() ? symbol_from(a.out) : a.symbol;
    LOWBIT_CHECK(valid_symbol(sym), "--symbol '{}' is not a C identifier", sym);
    const std::string text = runtime::lbm_c_header(lbm, sym, arena);
    nn::write_file_atomic(a.out, text.data(), text.size());
  } else {
    nn::write_file_atomic(a.out, lbm.data(), lbm.size());
  }
  if (a.print_ops) std::fputs(g.describe().c_str(), stdout);
  const auto ckpt_bytes = std::filesystem::file_size(a.checkpoint);
  std::printf("%s -> %s (%s): %s, %zu ops, %zu bytes (the checkpoint: %llu bytes, %.1fx larger), arena %llu bytes "
              "at batch 1\n",
              a.checkpoint.c_str(), a.out.c_str(), a.format.c_str(), lm.model_name.c_str(), g.ops.size(), lbm.size(),
              static_cast<unsigned long long>(ckpt_bytes), double(ckpt_bytes) / double(lbm.size()),
              static_cast<unsigned long long>(arena));
  return 0;
}
}  // namespace

Command register_export(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* s = app.add_subcommand("export", "Write a trained model as a packed .lbm file (or a C header) for the runtime");
  s->add_option("checkpoint", a->checkpoint, "model.lbar or checkpoint.lbar written by `lowbit train`")
      ->required()->check(CLI::ExistingFile);
  s->add_option("--out", a->out, "Output file (.lbm, or .h with --format c-header)")->required();
  s->add_option("--format", a->format, "lbm | c-header")->check(CLI::IsMember({"lbm", "c-header"}))->capture_default_str();
  s->add_option("--symbol", a->symbol, "C array name for --format c-header (default: from the output file name)");
  s->add_option("--dataset", a->dataset, "Data set whose normalisation the file records (default: the model's)")
      ->check(CLI::IsMember(dataset_choices()));
  s->add_flag("--print-ops", a->print_ops, "Print the exported op list");
  return {s, [a] { return run_export(*a); }};
}

}  // namespace lowbit::app
