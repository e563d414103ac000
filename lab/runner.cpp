#include "lab/runner.h"

#include <fnmatch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "engine/error.h"
#include "engine/threading.h"
#include "lab/grid_report.h"
#include "lab/train_run.h"
#include "nn/archive.h"
#include "nn/data/registry.h"
#include "nn/train/progress.h"
#include "quant/methods/method.h"
#include "quant/methods/run.h"

namespace lowbit::lab {

namespace fs = std::filesystem;

namespace {

std::string quant_text(const GridCell& c) {
  if (!c.quant) return "fp32";
  const quant::PrecisionConfig& q = c.quant->precision;
  return fmt::format("{} w{} a{} first/last {}{}", quant::scheme_name(q.defaults.scheme), q.defaults.wbits,
                     q.defaults.abits, quant::edge_policy_name(q.first_last), q.overrides.empty() ? "" : " +layers");
}

std::string seeds_text(const std::vector<uint64_t>& seeds) {
  std::string s;
  for (uint64_t x : seeds) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

nlohmann::json read_json_file(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  try {
    return nlohmann::json::parse(s.str());
  } catch (const nlohmann::json::exception&) {
    return nlohmann::json();
  }
}

// <out>/grid.json names the grid (and shard) a directory holds; another grid, variant or shard in the same
// directory is refused (the quick and full baselines share cell ids but not epochs).
void claim_out_dir(const Grid& g, const fs::path& out, int shard, int count) {
  std::error_code ec;
  fs::create_directories(out / "runs", ec);
  LOWBIT_CHECK(!ec, "cannot create output directory '{}': {}", (out / "runs").string(), ec.message());
  const fs::path gj = out / "grid.json";
  nlohmann::json want = {{"grid", g.name}, {"variant", g.variant}};
  if (count > 0) want["shard"] = fmt::format("{}/{}", shard, count);
  if (fs::exists(gj, ec)) {
    nlohmann::json have = read_json_file(gj);
    if (!have.is_object()) have = nlohmann::json::object();
    LOWBIT_CHECK(have == want, "'{}' holds the {} grid ({}{}), not '{}' ({}{}); choose another output directory",
                 out.string(), have.value("grid", "?"), have.value("variant", "?"),
                 have.contains("shard") ? ", shard " + have.value("shard", "?") : "", g.name, g.variant,
                 count > 0 ? fmt::format(", shard {}/{}", shard, count) : "");
    return;
  }
  const std::string text = want.dump(2) + "\n";
  nn::write_file_atomic(gj.string(), text.data(), text.size());
}

// {"name", "settings"} as quant/methods/run.h records the cell's method (every setting, defaults included).
nlohmann::json method_record(const nlohmann::json& method) {
  if (method.is_null()) return nullptr;
  const std::string name = method.at("name").get<std::string>();
  nlohmann::json settings = method;
  settings.erase("name");
  settings.erase("teacher");
  return {{"name", name}, {"settings", quant::make_method(name, settings)->to_json()}};
}

int64_t images_per_epoch(int64_t available, int64_t subset, int64_t holdout) {
  int64_t n = subset > 0 && subset < available ? subset : available;
  if (holdout > 0) n -= holdout;
  return n > 0 ? n : 0;
}

// The "metrics" and "layer_bits" a finished run recorded in its results.json.
void read_run_metrics(const fs::path& dir, RunResult& rr) {
  const nlohmann::json r = read_json_file(dir / "results.json");
  if (!r.is_object()) return;
  if (r.contains("metrics") && r["metrics"].is_object()) rr.metrics = r["metrics"];
  if (r.contains("layer_bits") && r["layer_bits"].is_array()) rr.layer_bits = r["layer_bits"];
}

std::string relative_to(const fs::path& p, const fs::path& base) {
  std::error_code ec;
  const fs::path rel = fs::relative(p, base, ec);
  return ec || rel.empty() ? p.filename().string() : rel.generic_string();
}

}  // namespace

std::string weights_crc32(const std::string& model_file) {
  const nn::Archive a = nn::read_archive(model_file);
  const std::vector<uint8_t> bytes = nn::encode_archive(nlohmann::json::object(), a.tensors);
  return fmt::format("{:08x}", nn::decode_archive(bytes.data(), bytes.size(), model_file).crc32);
}

std::pair<int, int> parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  auto number = [&](const std::string& s) {
    LOWBIT_CHECK(!s.empty() && s.size() <= 6 && std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; }),
                 "'{}' is not a shard I/N (e.g. 2/4: the second of four parts)", text);
    return std::stoi(s);
  };
  LOWBIT_CHECK(slash != std::string::npos, "'{}' is not a shard I/N (e.g. 2/4: the second of four parts)", text);
  const int i = number(text.substr(0, slash)), n = number(text.substr(slash + 1));
  LOWBIT_CHECK(n >= 1 && i >= 1 && i <= n, "shard '{}': I must be between 1 and N (got {} of {})", text, i, n);
  return {i, n};
}

std::vector<PlannedRun> plan_runs(const Grid& g, int shard, int count) {
  LOWBIT_CHECK((shard == 0 && count == 0) || (count >= 1 && shard >= 1 && shard <= count),
               "shard {}/{}: I must be between 1 and N", shard, count);
  const int n = count == 0 ? 1 : count;
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < g.cells.size(); ++i) index[g.cells[i].id] = i;
  std::vector<PlannedRun> all;
  for (size_t s = 0; s < g.seeds.size(); ++s)
    for (size_t c = 0; c < g.cells.size(); ++c) {
      PlannedRun r;
      r.seed = g.seeds[s];
      r.cell = c;
      r.order = all.size();
      // A run that starts from an earlier cell's model goes with that run (same seed): the chain stays together.
      const std::string& from = g.cells[c].init_from;
      if (!from.empty() && from != kInitFromTeacher && index.count(from))
        r.shard = all[s * g.cells.size() + index.at(from)].shard;
      else
        r.shard = static_cast<int>(r.order % static_cast<size_t>(n)) + 1;
      all.push_back(r);
    }
  if (count == 0) return all;
  std::vector<PlannedRun> mine;
  for (const PlannedRun& r : all)
    if (r.shard == shard) mine.push_back(r);
  return mine;
}

RunIdentity run_identity(const Grid& g, const GridCell& c, uint64_t seed) {
  RunIdentity id;
  id.config = run_config(g, c, seed).to_json();
  id.quant = c.quant;
  id.method = method_record(c.method);
  id.train_subset = c.train_subset;
  id.epochs = c.epochs;
  return id;
}

RunIdentity teacher_identity(const Grid& g, const GridTeacher& t, uint64_t seed) {
  RunIdentity id;
  id.config = teacher_config(g, t, seed).to_json();
  id.train_subset = t.train_subset;
  id.epochs = t.epochs;
  return id;
}

std::string describe_grid(const Grid& g, int shard, int count, const std::vector<std::string>& cells) {
  auto picked = [&](const GridCell& c) {
    return cells.empty() || std::any_of(cells.begin(), cells.end(), [&](const std::string& glob) {
             return fnmatch(glob.c_str(), c.id.c_str(), 0) == 0;
           });
  };
  for (const std::string& glob : cells)
    LOWBIT_CHECK(std::any_of(g.cells.begin(), g.cells.end(),
                             [&](const GridCell& c) { return fnmatch(glob.c_str(), c.id.c_str(), 0) == 0; }),
                 "--cells: '{}' matches no cell of grid '{}'", glob, g.name);
  std::vector<PlannedRun> plan = plan_runs(g, shard, count);
  plan.erase(std::remove_if(plan.begin(), plan.end(), [&](const PlannedRun& r) { return !picked(g.cells[r.cell]); }),
             plan.end());
  std::string s = fmt::format("{} ({}): {} cells x {} seed{} ({}) = {} runs\n", g.name, g.variant, g.cells.size(),
                              g.seeds.size(), g.seeds.size() == 1 ? "" : "s", seeds_text(g.seeds),
                              g.cells.size() * g.seeds.size());
  s += fmt::format("recipe: {} lr {:g} momentum {:g} {} schedule, weight decay {:g}, batch {}\n", g.base.optimizer,
                   g.base.lr, g.base.momentum, g.base.schedule, g.base.weight_decay, g.base.batch_size);
  if (!g.teachers.empty()) {
    s += fmt::format("teachers (fp32, trained once per seed, shared):\n{:<24} {:<9} {:<14} {:>6} {:>8} {:>9}\n",
                     "teacher", "model", "dataset", "epochs", "train", "est/run");
    for (const GridTeacher& t : g.teachers)
      s += fmt::format("{:<24} {:<9} {:<14} {:>6} {:>8} {:>9}\n", t.id, t.model, t.dataset, t.epochs,
                       t.train_subset > 0 ? std::to_string(t.train_subset) : std::string("all"),
                       nn::format_duration(t.est_seconds));
  }
  s += fmt::format("{:<32} {:<9} {:<14} {:<36} {:<8} {:<18} {:>6} {:>8} {:<22} {:>9}\n", "cell", "model", "dataset",
                   "quantization", "method", "teacher", "epochs", "train", "init", "est/run");
  for (const GridCell& c : g.cells)
    if (picked(c))
      s += fmt::format("{:<32} {:<9} {:<14} {:<36} {:<8} {:<18} {:>6} {:>8} {:<22} {:>9}\n", c.id, c.model, c.dataset,
                     quant_text(c), c.method.is_null() ? "-" : c.method.value("name", "?"),
                     c.teacher.empty() ? "-" : c.teacher, c.epochs,
                     c.train_subset > 0 ? std::to_string(c.train_subset) : std::string("all"),
                     c.init_from.empty() ? "random" : c.init_from, nn::format_duration(c.est_seconds));
  if (!g.claims.empty()) {
    s += "claims:\n";
    for (const Claim& c : g.claims) s += fmt::format("  {} ({}): \"{}\"\n", c.id, claim_rule_name(c.rule), c.text);
  }
  if (count > 0 || !cells.empty()) {
    // The shard's (or the --cells selection's) runs and the teachers they need.
    double est = 0.0;
    std::set<std::pair<std::string, uint64_t>> teachers;
    for (const PlannedRun& r : plan) {
      const GridCell& c = g.cells[r.cell];
      est += c.est_seconds;
      if (!c.teacher.empty()) teachers.insert({c.teacher, r.seed});
    }
    for (const auto& [id, seed] : teachers) est += find_teacher(g, id)->est_seconds;
    const std::string what = count > 0 ? fmt::format("shard {}/{}", shard, count) : std::string("--cells");
    s += fmt::format("{}{}: {} of {} runs, {} teacher run{} (trained unless they finished earlier)\n", what,
                     count > 0 && !cells.empty() ? " and --cells" : "", plan.size(), g.cells.size() * g.seeds.size(),
                     teachers.size(), teachers.size() == 1 ? "" : "s");
    s += fmt::format("estimated selection total: {} on an idle 2-core machine, before reusing finished runs\n",
                     nn::format_duration(est));
  }
  s += fmt::format("estimated total: {} on an idle 2-core machine (longer when the machine is shared)\n",
                   nn::format_duration(estimated_seconds(g)));
  return s;
}

namespace {

// One grid invocation's state: data, report, teachers ready so far.
class GridRun {
 public:
  GridRun(const Grid& g, const RunnerOptions& o) : g_(g), o_(o), out_(o.out_dir) {}

  GridOutcome run();

 private:
  struct TeacherModel {
    std::string path;   // model.lbar
    std::string crc32;          // the archive's (what the method records), hex
    std::string weights_crc32;  // of the tensors only (what identifies the teacher across shards and re-runs)
  };
  const TeacherModel& teacher(const std::string& id, uint64_t seed);
  void run_cell(const PlannedRun& r);
  std::vector<std::string> search_donors(const GridCell& c, uint64_t seed) const;
  // The run's results.json records a test accuracy (decide_run still checks that it is this configuration's).
  bool finished_on_disk(const PlannedRun& r) const;
  void log_trained(const std::string& what, uint64_t seed, double metric, double took, double est);

  const Grid& g_;
  const RunnerOptions& o_;
  fs::path out_;
  std::map<std::string, std::pair<nn::ImageDataset, nn::ImageDataset>> data_;
  std::map<std::pair<std::string, uint64_t>, TeacherModel> teachers_;
  nlohmann::json teacher_models_ = nlohmann::json::array();
  std::unique_ptr<GridReport> report_;
  GridOutcome res_;
  std::chrono::steady_clock::time_point t_start_ = std::chrono::steady_clock::now();
  double est_left_ = 0.0, est_done_ = 0.0, actual_ = 0.0;
  size_t index_ = 0, total_ = 0;
};

void GridRun::log_trained(const std::string& what, uint64_t seed, double metric, double took, double est) {
  est_done_ += est;
  actual_ += took;
  if (!o_.log) return;
  // ETA: the estimate of the runs left, scaled by how this machine compares with the estimates so far.
  const double scale = est_done_ > 0 ? actual_ / est_done_ : 1.0;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start_).count();
  std::fprintf(o_.log, "[%zu/%zu] %s seed %llu: %.2f%% in %s | elapsed %s, ETA %s\n", index_, total_, what.c_str(),
               static_cast<unsigned long long>(seed), metric, nn::format_duration(took).c_str(),
               nn::format_duration(elapsed).c_str(), nn::format_duration(est_left_ * scale).c_str());
  std::fflush(o_.log);
}

const GridRun::TeacherModel& GridRun::teacher(const std::string& id, uint64_t seed) {
  const auto key = std::make_pair(id, seed);
  if (const auto it = teachers_.find(key); it != teachers_.end()) return it->second;
  const GridTeacher& t = *find_teacher(g_, id);
  const bool external = !o_.teachers_dir.empty();
  const fs::path dir = fs::path(external ? o_.teachers_dir : o_.out_dir) / "teachers" / run_name(t, seed);
  const nn::TrainConfig cfg = teacher_config(g_, t, seed);
  const RunDecision d = decide_run(dir.string(), teacher_identity(g_, t, seed));
  LOWBIT_CHECK(d.action != RunAction::refuse, "teacher '{}', seed {}: {}", id, seed, d.reason);
  LOWBIT_CHECK(!external || d.action == RunAction::reuse,
               "teacher '{}', seed {} is not finished in '{}' (train the teachers first: lowbit reproduce {} "
               "--teachers-only --out <that directory>)",
               id, seed, dir.string(), g_.name);
  const auto& split = data_.at(t.dataset);
  RunResult rr;
  rr.cell = kTeacherRowPrefix + id;
  rr.params = {{"model", t.model}, {"dataset", t.dataset}};
  rr.seed = seed;
  rr.epochs = t.epochs;
  rr.images = images_per_epoch(split.first.n, t.train_subset, cfg.val_holdout) * t.epochs;
  est_left_ -= t.est_seconds;
  if (d.action == RunAction::reuse) {
    rr.metric = 100.0 * d.test_acc;
    rr.wall_seconds = d.wall_seconds;
    ++res_.teachers_reused;
    if (o_.log)
      std::fprintf(o_.log, "teacher %s seed %llu: %.2f%% (finished earlier, reused)\n", id.c_str(),
                   static_cast<unsigned long long>(seed), rr.metric);
  } else {
    TrainRunSpec spec;
    spec.config = cfg;
    spec.config.threads = o_.threads;
    spec.out_dir = dir.string();
    spec.data_dir = o_.data_dir;
    spec.progress = nn::ProgressMode::quiet;
    spec.train_subset = t.train_subset;
    spec.train_data = &split.first;
    spec.test_data = &split.second;
    spec.extra_results = {{"grid", {{"name", g_.name}, {"variant", g_.variant}, {"teacher", id}}}};
    spec.resume = d.action == RunAction::resume;
    spec.force = !spec.resume;
    const auto t0 = std::chrono::steady_clock::now();
    TrainRunResult r;
    try {
      r = run_training(spec);
    } catch (const Error& e) {
      LOWBIT_CHECK(false, "teacher run {} (teacher '{}', seed {}) failed: {}", dir.string(), id, seed, e.what());
    }
    rr.metric = 100.0 * r.test_acc;
    rr.wall_seconds = r.wall_seconds;
    ++res_.teachers_trained;
    log_trained("teacher " + id, seed, rr.metric,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), t.est_seconds);
  }
  read_run_metrics(dir, rr);
  res_.teacher_runs.push_back(rr);
  TeacherModel m;
  m.path = (dir / "model.lbar").string();
  m.crc32 = fmt::format("{:08x}", quant::archive_crc32(m.path));
  m.weights_crc32 = weights_crc32(m.path);
  teacher_models_.push_back({{"teacher", id},
                             {"seed", seed},
                             {"path", relative_to(m.path, out_)},
                             {"crc32", m.crc32},
                             {"weights_crc32", m.weights_crc32},
                             {"test_acc", rr.metric}});
  report_->set_extra("teacher_models", teacher_models_);
  report_->write_tables(res_.runs, res_.teacher_runs, false);
  return teachers_.emplace(key, m).first->second;
}

bool GridRun::finished_on_disk(const PlannedRun& pr) const {
  const fs::path rj = out_ / "runs" / run_name(g_.cells[pr.cell], pr.seed) / "results.json";
  std::error_code ec;
  if (!fs::exists(rj, ec)) return false;
  std::ifstream f(rj);
  const nlohmann::json r = nlohmann::json::parse(f, nullptr, false);
  return r.is_object() && r.contains("test") && r["test"].is_object() && r["test"].contains("acc");
}

// CCQ_SHARED_ROUNDS (quant/methods/ccq.h): for a searching method, the same-seed cells of the same method with the
// same model, data, teacher, init, recipe, precision and subset offer their search directories. Which of the
// method's settings may differ (CCQ: only the target) is the method's to judge: it checks each donor's recorded
// settings and layers, and takes the latest round that is also its own.
std::vector<std::string> GridRun::search_donors(const GridCell& c, uint64_t seed) const {
  std::vector<std::string> out;
  if (!c.method.is_object() || !c.method.contains("name") || !c.method["name"].is_string()) return out;
  const std::string name = c.method["name"].get<std::string>();
  if (!quant::make_method(name, nlohmann::json::object())->searches()) return out;
  auto quant_json = [](const RunIdentity& id) { return id.quant ? id.quant->to_json() : nlohmann::json(); };
  const RunIdentity mine = run_identity(g_, c, seed);
  for (const GridCell& o : g_.cells) {
    if (o.id == c.id || !o.method.is_object() || o.method.value("name", nlohmann::json()) != name) continue;
    if (o.model != c.model || o.dataset != c.dataset || o.teacher != c.teacher || o.init_from != c.init_from) continue;
    const RunIdentity theirs = run_identity(g_, o, seed);
    if (theirs.config != mine.config || quant_json(theirs) != quant_json(mine) || theirs.train_subset != mine.train_subset)
      continue;
    out.push_back((out_ / "runs" / run_name(o, seed) / name).string());
  }
  return out;
}

void GridRun::run_cell(const PlannedRun& pr) {
  const GridCell& c = g_.cells[pr.cell];
  const uint64_t seed = pr.seed;
  ++index_;
  const TeacherModel* tm = c.teacher.empty() ? nullptr : &teacher(c.teacher, seed);
  nn::TrainConfig cfg = run_config(g_, c, seed);
  cfg.threads = o_.threads;
  const fs::path dir = out_ / "runs" / run_name(c, seed);
  const auto& split = data_.at(c.dataset);
  RunResult rr;
  rr.cell = c.label;
  rr.params = cell_params(c, split.first.n);
  rr.seed = seed;
  rr.epochs = c.epochs;
  rr.images = images_per_epoch(split.first.n, c.train_subset, cfg.val_holdout) * c.epochs;
  est_left_ -= c.est_seconds;

  RunIdentity id = run_identity(g_, c, seed);
  id.config = cfg.to_json();
  if (tm) id.teacher_crc32 = tm->weights_crc32;
  const RunDecision d = decide_run(dir.string(), id);
  LOWBIT_CHECK(d.action != RunAction::refuse, "cell '{}', seed {}: {}", c.id, seed, d.reason);
  if (d.action == RunAction::reuse) {
    rr.metric = 100.0 * d.test_acc;
    rr.wall_seconds = d.wall_seconds;
    ++res_.reused;
    if (o_.log)
      std::fprintf(o_.log, "[%zu/%zu] %s seed %llu: %.2f%% (finished earlier, reused)\n", index_, total_, c.id.c_str(),
                   static_cast<unsigned long long>(seed), rr.metric);
  } else {
    TrainRunSpec spec;
    spec.config = cfg;
    spec.quant = c.quant;
    spec.method = c.method;
    // The teacher goes to a method that distils from it; a cell whose teacher is only its starting point (CCQ,
    // DFQ: init_from "teacher") passes it as --init alone.
    if (tm && !spec.method.is_null() && quant::method_row(spec.method.at("name").get<std::string>()).needs_teacher)
      spec.method["teacher"] = tm->path;
    std::error_code ec;
    if (c.init_from == kInitFromTeacher) {
      spec.init = tm->path;
    } else if (!c.init_from.empty()) {
      const auto init = std::find_if(g_.cells.begin(), g_.cells.end(), [&](const GridCell& x) { return x.id == c.init_from; });
      spec.init = (out_ / "runs" / run_name(*init, seed) / "model.lbar").string();
      LOWBIT_CHECK(fs::exists(spec.init, ec), "cell '{}' starts from '{}', which does not exist", c.id, spec.init);
    }
    spec.out_dir = dir.string();
    spec.data_dir = o_.data_dir;
    spec.progress = nn::ProgressMode::quiet;
    spec.train_subset = c.train_subset;
    spec.train_data = &split.first;
    spec.test_data = &split.second;
    spec.extra_results = {{"grid", {{"name", g_.name}, {"variant", g_.variant}, {"cell", c.id}, {"label", c.label}}}};
    if (tm)
      spec.extra_results["teacher"] = {{"id", c.teacher},
                                       {"path", relative_to(tm->path, out_)},
                                       {"crc32", tm->crc32},
                                       {"weights_crc32", tm->weights_crc32}};
    spec.search_donors = search_donors(c, seed);
    // resume: continue from the checkpoint; train: start over (force clears a run that failed before
    // finishing its first epoch).
    spec.resume = d.action == RunAction::resume;
    spec.force = !spec.resume;
    const auto t0 = std::chrono::steady_clock::now();
    TrainRunResult r;
    try {
      r = run_training(spec);
    } catch (const Error& e) {
      LOWBIT_CHECK(false, "run {} (cell '{}', seed {}) failed: {}", dir.string(), c.id, seed, e.what());
    }
    rr.metric = 100.0 * r.test_acc;
    rr.wall_seconds = r.wall_seconds;
    ++res_.trained;
    log_trained(c.id, seed, rr.metric, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                c.est_seconds);
  }
  read_run_metrics(dir, rr);
  res_.runs.push_back(rr);
  report_->write_tables(res_.runs, res_.teacher_runs, false);
}

GridOutcome GridRun::run() {
  validate_grid(g_);
  LOWBIT_CHECK(!o_.out_dir.empty(), "reproduce: no output directory");
  LOWBIT_CHECK(!(o_.teachers_only && !o_.teachers_dir.empty()),
               "reproduce: training the teachers and reading them from another directory exclude each other");
  LOWBIT_CHECK(!(o_.teachers_only && o_.shard_count > 0), "reproduce: the teacher pass is not sharded");
  if (o_.threads > 0) set_num_threads(o_.threads);
  std::vector<PlannedRun> plan = o_.teachers_only ? std::vector<PlannedRun>{} : plan_runs(g_, o_.shard, o_.shard_count);

  // The teachers this invocation needs, per seed: those its runs name; the teachers no cell names (a claim's
  // reference) in shard 1 or the unsharded grid; every teacher in the teacher pass.
  std::map<uint64_t, std::vector<std::string>> extra_teachers;
  for (uint64_t seed : g_.seeds)
    for (const GridTeacher& t : g_.teachers) {
      const bool named = std::any_of(g_.cells.begin(), g_.cells.end(), [&](const GridCell& c) { return c.teacher == t.id; });
      if (o_.teachers_only || (!named && o_.shard <= 1)) extra_teachers[seed].push_back(t.id);
    }

  // Every data set first, so missing data fails before hours of training.
  std::set<std::string> datasets;
  for (const PlannedRun& r : plan) {
    datasets.insert(g_.cells[r.cell].dataset);
    if (!g_.cells[r.cell].teacher.empty()) datasets.insert(find_teacher(g_, g_.cells[r.cell].teacher)->dataset);
  }
  for (const auto& [seed, ids] : extra_teachers)
    for (const std::string& id : ids) datasets.insert(find_teacher(g_, id)->dataset);
  for (const std::string& name : datasets) {
    if (o_.load_data) {
      data_[name] = o_.load_data(name);
    } else {
      nn::ImageDataset train = nn::load_dataset(name, "train", o_.data_dir);  // train first: its error first
      data_[name] = {std::move(train), nn::load_dataset(name, "test", o_.data_dir)};
    }
  }

  claim_out_dir(g_, out_, o_.shard, o_.shard_count);
  nlohmann::json ds = nlohmann::json::object();
  for (const auto& [name, split] : data_)
    ds[name] = {{"train", {{"n", split.first.n}, {"crc32", fmt::format("{:08x}", split.first.checksum)}}},
                {"test", {{"n", split.second.n}, {"crc32", fmt::format("{:08x}", split.second.checksum)}}}};
  nlohmann::json prov = grid_provenance(g_, o_.command_line, ds);
  if (o_.shard_count > 0) prov["shard"] = fmt::format("{}/{}", o_.shard, o_.shard_count);
  if (!o_.teachers_dir.empty()) prov["teachers_from"] = fs::path(o_.teachers_dir).filename().string();
  if (o_.teachers_only) prov["teachers_only"] = true;
  std::vector<std::pair<std::string, uint64_t>> expected;
  for (const PlannedRun& r : plan) expected.emplace_back(g_.cells[r.cell].label, r.seed);
  // --cells: the other cells' runs enter only when they finished earlier (reuse); the table still expects them.
  if (!o_.cells.empty()) {
    for (const std::string& glob : o_.cells)
      LOWBIT_CHECK(std::any_of(g_.cells.begin(), g_.cells.end(),
                               [&](const GridCell& c) { return fnmatch(glob.c_str(), c.id.c_str(), 0) == 0; }),
                   "--cells: '{}' matches no cell of grid '{}'", glob, g_.name);
    std::vector<PlannedRun> chosen;
    for (const PlannedRun& r : plan) {
      const GridCell& c = g_.cells[r.cell];
      const bool picked = std::any_of(o_.cells.begin(), o_.cells.end(), [&](const std::string& glob) {
        return fnmatch(glob.c_str(), c.id.c_str(), 0) == 0;
      });
      std::error_code ec;
      if (picked || fs::exists(out_ / "runs" / run_name(c, r.seed) / "results.json", ec)) chosen.push_back(r);
    }
    plan = std::move(chosen);
  }
  total_ = plan.size();
  report_ = std::make_unique<GridReport>(g_, out_.string(), prov, expected, o_.plot);
  if (o_.shard_count > 0) report_->set_extra("shard", fmt::format("{}/{}", o_.shard, o_.shard_count));

  est_left_ = 0.0;
  std::set<std::pair<std::string, uint64_t>> teacher_runs;
  for (const PlannedRun& r : plan) {
    est_left_ += g_.cells[r.cell].est_seconds;
    if (!g_.cells[r.cell].teacher.empty()) teacher_runs.insert({g_.cells[r.cell].teacher, r.seed});
  }
  for (const auto& [seed, ids] : extra_teachers)
    for (const std::string& id : ids) teacher_runs.insert({id, seed});
  for (const auto& tr : teacher_runs) est_left_ += find_teacher(g_, tr.first)->est_seconds;
  // First every run that finished earlier (its recorded result, no training), so the table of an invocation that
  // stops part-way still holds every finished run of every seed, not only those of the seeds it reached.
  std::vector<bool> done(plan.size(), false);
  for (size_t k = 0; k < plan.size(); ++k)
    if (finished_on_disk(plan[k])) {
      run_cell(plan[k]);
      done[k] = true;
    }
  for (uint64_t seed : g_.seeds) {
    for (const std::string& id : extra_teachers[seed]) teacher(id, seed);
    bool any = false;
    for (size_t k = 0; k < plan.size(); ++k)
      if (plan[k].seed == seed) {
        if (!done[k]) run_cell(plan[k]);
        any = true;
      }
    if (any || !extra_teachers[seed].empty()) {
      report_->write_figures(res_.runs, res_.teacher_runs);  // after each seed: a partial grid has figures too
      res_.plotted = report_->plotted();
      res_.plot_error = report_->plot_error();
    }
  }
  // Runs in run order (the pre-pass took the finished ones first).
  std::map<std::pair<std::string, uint64_t>, size_t> order;
  for (size_t k = 0; k < plan.size(); ++k) order[{g_.cells[plan[k].cell].label, plan[k].seed}] = k;
  std::stable_sort(res_.runs.begin(), res_.runs.end(), [&](const RunResult& a, const RunResult& b) {
    return order.at({a.cell, a.seed}) < order.at({b.cell, b.seed});
  });
  res_.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start_).count();
  report_->write_tables(res_.runs, res_.teacher_runs, true);
  return res_;
}

}  // namespace

GridOutcome run_grid(const Grid& g, const RunnerOptions& o) { return GridRun(g, o).run(); }

}  // namespace lowbit::lab
