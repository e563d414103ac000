#include "quant/methods/run.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "engine/error.h"

namespace lowbit::quant {

namespace fs = std::filesystem;

uint32_t archive_crc32(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  LOWBIT_CHECK(f.good(), "cannot read '{}'", path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  LOWBIT_CHECK(!f.bad(), "error while reading '{}'", path);
  LOWBIT_CHECK(bytes.size() >= 4, "'{}' is too short ({} bytes) to be a lowbit archive", path, bytes.size());
  uLong crc = crc32(0L, Z_NULL, 0);
  const size_t n = bytes.size() - 4, chunk = size_t{1} << 30;  // zlib takes uInt lengths
  for (size_t off = 0; off < n; off += chunk)
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + off), static_cast<uInt>(std::min(chunk, n - off)));
  return static_cast<uint32_t>(crc);
}

PreparedMethod prepare_method(const MethodSpec& spec, nn::Module& student, const std::string& student_model,
                              const nn::ModelOptions& student_options, const nn::ModelBuilder& builder) {
  LOWBIT_CHECK(spec.active(), "prepare_method: no method named");
  const MethodRow& row = method_row(spec.name);
  PreparedMethod pm;
  pm.method = make_method(spec.name, spec.settings);
  pm.record = {{"name", spec.name}, {"settings", pm.method->to_json()}};
  if (row.needs_teacher) {
    LOWBIT_CHECK(!spec.teacher.empty(), "method '{}' needs a teacher model file", spec.name);
    std::error_code ec;
    LOWBIT_CHECK(fs::is_regular_file(spec.teacher, ec), "teacher model '{}' does not exist (method '{}')",
                 spec.teacher, spec.name);
    const uint32_t crc = archive_crc32(spec.teacher);
    const nn::LoadedModel lm = nn::load_trained_model(spec.teacher, "", builder);
    LOWBIT_CHECK(!row.same_architecture || lm.model_name == student_model,
                 "teacher model '{}' is a '{}', but method '{}' needs a teacher of the student's architecture '{}'",
                 spec.teacher, lm.model_name, spec.name, student_model);
    const nn::ModelOptions& t = lm.model_options;
    const nn::ModelOptions& s = student_options;
    LOWBIT_CHECK(t.num_classes == s.num_classes, "teacher model '{}' has {} classes, the student {}", spec.teacher,
                 t.num_classes, s.num_classes);
    LOWBIT_CHECK(t.in_channels == s.in_channels && t.height == s.height && t.width == s.width,
                 "teacher model '{}' takes {}x{}x{} inputs, the student {}x{}x{}", spec.teacher, t.in_channels,
                 t.height, t.width, s.in_channels, s.height, s.width);
    pm.teacher = lm.model;
    pm.record["teacher"] = {{"path", spec.teacher}, {"crc32", fmt::format("{:08x}", crc)}, {"model", lm.model_name}};
  } else {
    LOWBIT_CHECK(spec.teacher.empty(), "method '{}' takes no teacher, but teacher '{}' was given", spec.name,
                 spec.teacher);
  }
  pm.method->prepare(student, pm.teacher.get());
  return pm;
}

namespace {
// The resume check: same method and settings, a teacher with the recorded checksum.
void check_resume(const nlohmann::json& now, const nlohmann::json& meta) {
  const nlohmann::json saved = meta.value("method", nlohmann::json::object());
  const std::string name = now.at("name").get<std::string>();
  LOWBIT_CHECK(!saved.empty(), "cannot resume: the checkpoint was trained without a method, this run uses '{}'",
               name);
  const std::string saved_name = saved.value("name", "");
  LOWBIT_CHECK(saved_name == name, "cannot resume: the checkpoint was trained with method '{}', this run uses '{}'",
               saved_name, name);
  const nlohmann::json saved_settings = saved.value("settings", nlohmann::json::object());
  LOWBIT_CHECK(saved_settings == now.at("settings"),
               "cannot resume: method '{}' settings differ (checkpoint {}, now {})", name, saved_settings.dump(),
               now.at("settings").dump());
  if (now.contains("teacher")) {
    const nlohmann::json st = saved.value("teacher", nlohmann::json::object());
    const nlohmann::json& nt = now.at("teacher");
    LOWBIT_CHECK(st.value("crc32", "") == nt.at("crc32").get<std::string>(),
                 "cannot resume: the teacher differs from the one the checkpoint was trained with: checkpoint teacher "
                 "'{}' CRC-32 {}, now '{}' CRC-32 {}",
                 st.value("path", "?"), st.value("crc32", "none"), nt.at("path").get<std::string>(),
                 nt.at("crc32").get<std::string>());
  }
}
}  // namespace

void attach_method(PreparedMethod& pm, nn::TrainerOptions& to) {
  LOWBIT_CHECK(pm.method != nullptr, "attach_method: no method prepared");
  Method* m = pm.method.get();
  to.method = pm.record;
  to.taps = m->student_taps();
  const bool run_teacher = pm.teacher && m->trainer_runs_teacher();
  to.teacher = run_teacher ? pm.teacher.get() : nullptr;
  to.teacher_taps = run_teacher ? m->teacher_taps() : std::vector<std::string>{};
  to.hooks.forward = [m](const nn::Batch& b, const Var& teacher_logits, const nn::FeatureTaps& teacher_taps) {
    return m->train_forward(b, teacher_logits, teacher_taps);
  };
  to.hooks.loss = [m](const nn::StepInputs& step) { return m->loss(step); };
  auto before = to.hooks.after_step;
  to.hooks.after_step = [m, before](int64_t global_step) {
    if (before) before(global_step);
    m->after_step(global_step);
  };
  auto before_epoch = to.hooks.before_epoch;
  to.hooks.before_epoch = [m, before_epoch](int epoch) {
    if (before_epoch) before_epoch(epoch);
    m->before_epoch(epoch);
  };
  auto after_epoch = to.hooks.after_epoch;
  to.hooks.after_epoch = [m, after_epoch](const nn::EpochMetrics& e) {
    if (after_epoch) after_epoch(e);
    m->after_epoch(e);
  };
  to.hooks.checkpoint_state = [m] { return m->state(); };
  m->attach_run(MethodRun{to.out_dir, to.extra_meta});
  auto model_meta = to.hooks.model_meta;
  to.hooks.model_meta = [m, model_meta](nlohmann::json& meta) {
    if (model_meta) model_meta(meta);
    m->finish_model_meta(meta);
  };
  const nlohmann::json record = pm.record;
  to.hooks.on_resume = [m, record](const nlohmann::json& meta) {
    check_resume(record, meta);
    m->load_state(meta.value("method_state", nlohmann::json::object()));
  };
}

}  // namespace lowbit::quant
