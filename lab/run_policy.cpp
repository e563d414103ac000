#include "lab/run_policy.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "engine/error.h"
#include "nn/train/config.h"
#include "quant/methods/method.h"

namespace lowbit::lab {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The recorded training config without what changes timing or length but not the recipe, with the data set's
// default augmentation (−1, as older runs and the grid's cells hold it) resolved as the trainer records it.
nlohmann::json comparable(nlohmann::json cfg) {
  if (cfg.is_object()) {
    try {
      nn::TrainConfig c = nn::TrainConfig::from_json(cfg);
      c.resolve_augmentation();
      cfg["crop_padding"] = c.crop_padding;
      cfg["hflip"] = c.hflip;
    } catch (const Error&) {  // not a whole config: compared as recorded, which refuses it
    }
    cfg.erase("threads");
    cfg.erase("epochs");
  }
  return cfg;
}

// Whether the method named in a {"name", "settings"} record searches the precision (quant/methods/method.h:
// Method::searches, e.g. CCQ): its run trains, and records as "quant", the precision it found.
bool searches_precision(const nlohmann::json& method) {
  if (!method.is_object() || !method.contains("name") || !method["name"].is_string()) return false;
  try {
    return quant::make_method(method["name"].get<std::string>(), nlohmann::json::object())->searches();
  } catch (const Error&) {
    return false;  // an unknown name: the method comparison refuses the run anyway
  }
}

nlohmann::json without_layer_overrides(nlohmann::json spec) {
  if (spec.is_object() && spec.contains("precision") && spec["precision"].is_object())
    spec["precision"].erase("layers");
  return spec;
}

// Something to continue: the Trainer's checkpoint, or the saved state of a precision search (CCQ writes
// <run>/<method>/state.json after every finished round; its weights sit next to it). A search is hours on the
// larger models, so an interrupted one is resumed, never cleared; the method checks that the state is its own
// (same settings and model) and stops with a clear error otherwise.
RunDecision start_or_continue(const fs::path& dir, const RunIdentity& want) {
  std::error_code ec;
  RunDecision d;
  bool saved = fs::exists(dir / "checkpoint.lbar", ec);
  if (!saved && searches_precision(want.method))
    saved = fs::exists(dir / want.method["name"].get<std::string>() / "state.json", ec);
  d.action = saved ? RunAction::resume : RunAction::train;
  return d;
}

}  // namespace

const char* run_action_name(RunAction a) {
  switch (a) {
    case RunAction::train: return "train";
    case RunAction::resume: return "resume";
    case RunAction::reuse: return "reuse";
    case RunAction::refuse: return "refuse";
  }
  return "?";
}

RunDecision decide_run(const std::string& run_dir, const RunIdentity& want) {
  const fs::path dir(run_dir);
  const fs::path rj = dir / "results.json";
  std::error_code ec;
  if (!fs::exists(rj, ec)) return start_or_continue(dir, want);

  RunDecision refuse;
  refuse.action = RunAction::refuse;
  nlohmann::json r;
  try {
    r = nlohmann::json::parse(slurp(rj));
  } catch (const nlohmann::json::exception& e) {
    refuse.reason = fmt::format("'{}' is not valid JSON ({}); delete the run directory '{}' to redo the run",
                                rj.string(), e.what(), run_dir);
    return refuse;
  }
  if (!r.is_object()) r = nlohmann::json::object();
  const nlohmann::json want_cfg = comparable(want.config), have_cfg = comparable(r.value("config", nlohmann::json()));
  // The recorded quantization in either record form (quant/quantized_model.h), as a spec.
  std::optional<quant::QuantSpec> have_quant;
  if (r.contains("quant") && !r["quant"].is_null()) {
    try {
      have_quant = quant::spec_from_record(r["quant"], rj.string());
    } catch (const Error& e) {
      refuse.reason = fmt::format("{}; delete the run directory '{}' to redo the run", e.what(), run_dir);
      return refuse;
    }
  }
  nlohmann::json want_quant = want.quant ? want.quant->to_json() : nlohmann::json();
  nlohmann::json have_precision = have_quant ? have_quant->to_json() : nlohmann::json();
  // A precision search (CCQ) records the precision it found; the cell names the one the search starts from, which
  // the run records as "requested_quant" (lab/train_run.cpp). A run of an older lowbit has no such record: its
  // per-layer overrides are the search's, so the rest of the precision is compared (scheme, default bits,
  // first/last, options; the method's settings, target included, are compared below).
  if (searches_precision(want.method)) {
    if (r.contains("requested_quant") && !r["requested_quant"].is_null()) {
      try {
        have_precision = quant::spec_from_record(r["requested_quant"], rj.string()).to_json();
      } catch (const Error& e) {
        refuse.reason = fmt::format("{}; delete the run directory '{}' to redo the run", e.what(), run_dir);
        return refuse;
      }
    } else {
      have_precision = without_layer_overrides(have_precision);
      want_quant = without_layer_overrides(want_quant);
    }
  }
  const nlohmann::json have_record = r.value("method", nlohmann::json());
  nlohmann::json have_method;
  std::string have_teacher;
  if (have_record.is_object()) {
    have_method = {{"name", have_record.value("name", nlohmann::json())},
                   {"settings", have_record.value("settings", nlohmann::json())}};
  }
  const nlohmann::json t = r.value("teacher", nlohmann::json());
  if (t.is_object() && t.contains("weights_crc32") && t["weights_crc32"].is_string())
    have_teacher = t["weights_crc32"].get<std::string>();
  nlohmann::json want_method;
  if (want.method.is_object())
    want_method = {{"name", want.method.value("name", nlohmann::json())},
                   {"settings", want.method.value("settings", nlohmann::json())}};
  const int64_t have_subset = r.value("train_subset", int64_t{0});
  if (!want.teacher_crc32.empty() && have_teacher != want.teacher_crc32) {
    refuse.reason = fmt::format(
        "run directory '{}' was trained with another teacher (CRC-32 {}, the grid's teacher now has {}); delete it or "
        "choose another output directory",
        run_dir, have_teacher.empty() ? "none" : have_teacher, want.teacher_crc32);
    return refuse;
  }
  if (want_cfg != have_cfg || want_quant != have_precision || want_method != have_method ||
      have_subset != want.train_subset) {
    refuse.reason = fmt::format(
        "run directory '{}' holds a different run (recorded config {}, quant {}, method {}, training subset {}; the "
        "grid wants {}, {}, {}, {}); delete it or choose another output directory",
        run_dir, have_cfg.dump(), have_precision.dump(), have_method.dump(), have_subset, want_cfg.dump(),
        want_quant.dump(), want_method.dump(), want.train_subset);
    return refuse;
  }
  const nlohmann::json& epochs = r.contains("epochs") ? r["epochs"] : nlohmann::json();
  const bool finished = r.contains("test") && r["test"].is_object() && r["test"].contains("acc") &&
                        r["test"]["acc"].is_number() && epochs.is_array() &&
                        static_cast<int>(epochs.size()) == want.epochs;
  if (!finished) return start_or_continue(dir, want);
  RunDecision d;
  d.action = RunAction::reuse;
  d.test_acc = r["test"]["acc"].get<double>();
  d.wall_seconds = r.value("wall_seconds", 0.0);
  return d;
}

}  // namespace lowbit::lab
