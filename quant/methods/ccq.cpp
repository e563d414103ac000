// CCQ's settings, ladder and round logic (see ccq.h); the QAT backend and search() are in ccq_qat.cpp.
#include "quant/methods/ccq.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <fmt/format.h>

#include "engine/error.h"
#include "engine/ops.h"
#include "nn/archive.h"

namespace lowbit::quant {

namespace fs = std::filesystem;

std::string CcqRung::str() const { return ternary ? "t" : std::to_string(wbits); }

std::vector<CcqRung> parse_ccq_ladder(const std::string& text, const std::string& field) {
  std::string t;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 3, "\u2192") == 0) {  // →
      t += ',';
      i += 2;
    } else {
      t += text[i] == '>' ? ',' : text[i];
    }
  }
  std::vector<CcqRung> out;
  size_t pos = 0;
  while (pos <= t.size()) {
    const size_t end = std::min(t.find(',', pos), t.size());
    std::string tok = t.substr(pos, end - pos);
    tok.erase(std::remove(tok.begin(), tok.end(), ' '), tok.end());
    CcqRung r;
    if (tok == "t" || tok == "T") {
      r.ternary = true;
      r.wbits = 2;
    } else {
      LOWBIT_CHECK(tok.size() == 1 && tok[0] >= '1' && tok[0] <= '8',
                   "{} must list weight bits 1..8 or t (ternary), e.g. \"8,6,4,3,2\"; got '{}' in \"{}\"", field,
                   tok, text);
      r.wbits = tok[0] - '0';
    }
    LOWBIT_CHECK(out.empty() || r.cost_bits() < out.back().cost_bits(),
                 "{} must step down strictly (ternary counts as 2 bits): '{}' after '{}' in \"{}\"", field, r.str(),
                 out.empty() ? "" : out.back().str(), text);
    out.push_back(r);
    pos = end + 1;
  }
  LOWBIT_CHECK(out.size() >= 2, "{} needs at least two rungs, got \"{}\"", field, text);
  return out;
}

CcqSettings CcqSettings::from_json(const nlohmann::json& j) {
  LOWBIT_CHECK(j.is_object(), "ccq: settings must be a JSON object, got {}", j.dump());
  CcqSettings s;
  static const std::set<std::string> known = {
      "ladder", "target", "target_value", "warmup_steps", "finetune_steps", "weight_by", "top_k",
      "choice", "bandit_eta", "epsilon", "lr_scale", "max_rounds", "val_images"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const nlohmann::json& v = it.value();
    LOWBIT_CHECK(known.count(k), "ccq: unknown setting '{}' (settings: {})", k, fmt::join(known, ", "));
    const bool str = k == "ladder" || k == "target" || k == "weight_by" || k == "choice";
    if (str) {
      LOWBIT_CHECK(v.is_string(), "ccq.{} must be a string, got {}", k, v.dump());
    } else {
      LOWBIT_CHECK(v.is_number(), "ccq.{} must be a number, got {}", k, v.dump());
    }
    const bool integer = k == "warmup_steps" || k == "finetune_steps" || k == "top_k" || k == "max_rounds" ||
                         k == "val_images";
    if (integer)
      LOWBIT_CHECK(v.is_number_integer(), "ccq.{} must be an integer, got {}", k, v.dump());
    if (k == "ladder") s.ladder = v.get<std::string>();
    if (k == "target") s.target = v.get<std::string>();
    if (k == "target_value") s.target_value = v.get<double>();
    if (k == "warmup_steps") s.warmup_steps = v.get<int>();
    if (k == "finetune_steps") s.finetune_steps = v.get<int>();
    if (k == "weight_by") s.weight_by = v.get<std::string>();
    if (k == "top_k") s.top_k = v.get<int>();
    if (k == "choice") s.choice = v.get<std::string>();
    if (k == "bandit_eta") s.bandit_eta = v.get<double>();
    if (k == "epsilon") s.epsilon = v.get<double>();
    if (k == "lr_scale") s.lr_scale = v.get<double>();
    if (k == "max_rounds") s.max_rounds = v.get<int>();
    if (k == "val_images") s.val_images = v.get<int64_t>();
  }
  const std::vector<CcqRung> rungs = s.rungs();
  LOWBIT_CHECK(s.target == "avg_wbits" || s.target == "size_bytes" || s.target == "bitops",
               "ccq.target must be avg_wbits, size_bytes or bitops, got '{}'", s.target);
  LOWBIT_CHECK(std::isfinite(s.target_value) && s.target_value > 0, "ccq.target_value must be > 0, got {}",
               s.target_value);
  if (s.target == "avg_wbits")
    LOWBIT_CHECK(s.target_value >= rungs.back().cost_bits() && s.target_value < rungs.front().cost_bits(),
                 "ccq.target_value must be within the ladder's range [{}, {}) of average weight bits, got {} "
                 "(ladder \"{}\")",
                 rungs.back().cost_bits(), rungs.front().cost_bits(), s.target_value, s.ladder);
  LOWBIT_CHECK(s.warmup_steps >= 0, "ccq.warmup_steps must be >= 0, got {}", s.warmup_steps);
  LOWBIT_CHECK(s.finetune_steps >= 0, "ccq.finetune_steps must be >= 0, got {}", s.finetune_steps);
  LOWBIT_CHECK(s.weight_by == "params" || s.weight_by == "bitops", "ccq.weight_by must be params or bitops, got '{}'",
               s.weight_by);
  LOWBIT_CHECK(s.top_k >= 1, "ccq.top_k must be >= 1, got {}", s.top_k);
  LOWBIT_CHECK(s.choice == "best" || s.choice == "bandit", "ccq.choice must be best or bandit, got '{}'", s.choice);
  LOWBIT_CHECK(std::isfinite(s.bandit_eta) && s.bandit_eta > 0, "ccq.bandit_eta must be > 0, got {}", s.bandit_eta);
  LOWBIT_CHECK(std::isfinite(s.epsilon) && s.epsilon >= 0 && s.epsilon <= 1,
               "ccq.epsilon must be in [0, 1] (an accuracy fraction), got {}", s.epsilon);
  LOWBIT_CHECK(std::isfinite(s.lr_scale) && s.lr_scale > 0 && s.lr_scale <= 1,
               "ccq.lr_scale must be in (0, 1], got {}", s.lr_scale);
  LOWBIT_CHECK(s.max_rounds >= 0, "ccq.max_rounds must be >= 0, got {}", s.max_rounds);
  LOWBIT_CHECK(s.val_images >= 0, "ccq.val_images must be >= 0, got {}", s.val_images);
  return s;
}

nlohmann::json CcqSettings::to_json() const {
  auto dec = [](double x) { return std::stod(fmt::format("{}", x)); };
  return {{"ladder", ladder},         {"target", target},         {"target_value", dec(target_value)},
          {"warmup_steps", warmup_steps}, {"finetune_steps", finetune_steps}, {"weight_by", weight_by},
          {"top_k", top_k},           {"choice", choice},         {"bandit_eta", dec(bandit_eta)},
          {"epsilon", dec(epsilon)},  {"lr_scale", dec(lr_scale)}, {"max_rounds", max_rounds},
          {"val_images", val_images}};
}

nlohmann::json CcqRound::to_json() const {
  nlohmann::json c = nlohmann::json::array();
  for (const CcqCandidate& k : candidates)
    c.push_back({{"layer", k.layer}, {"from", k.from_rung}, {"to", k.to_rung}, {"acc", k.acc}, {"saved", k.saved},
                 {"score", k.score}, {"winner", k.winner}});
  return {{"round", round}, {"ref_acc", ref_acc}, {"candidates", c}, {"acc_after", acc_after},
          {"rolled_back", rolled_back}, {"avg_wbits", avg_wbits}, {"size_bytes", size_bytes}, {"bitops", bitops}};
}

CcqRound CcqRound::from_json(const nlohmann::json& j) {
  CcqRound r;
  r.round = j.at("round").get<int>();
  r.ref_acc = j.at("ref_acc").get<double>();
  for (const auto& c : j.at("candidates"))
    r.candidates.push_back({c.at("layer").get<size_t>(), c.at("from").get<int>(), c.at("to").get<int>(),
                            c.at("acc").get<double>(), c.at("saved").get<double>(), c.at("score").get<double>(),
                            c.at("winner").get<bool>()});
  r.acc_after = j.at("acc_after").get<double>();
  r.rolled_back = j.at("rolled_back").get<bool>();
  r.avg_wbits = j.at("avg_wbits").get<double>();
  r.size_bytes = j.at("size_bytes").get<double>();
  r.bitops = j.at("bitops").get<double>();
  return r;
}

CcqSearch::CcqSearch(CcqSettings settings, std::vector<LayerGeometry> layers, PrecisionConfig base, std::string dir)
    : s_(std::move(settings)), ladder_(s_.rungs()), layers_(std::move(layers)), base_(std::move(base)),
      dir_(std::move(dir)) {
  LOWBIT_CHECK(!layers_.empty(), "ccq: the model has no weight layers");
  base_.first_last = EdgePolicy::q;
  base_.overrides.clear();
  // Every rung must be a valid precision of the run's scheme (e.g. LSQ has no 1-bit weights).
  for (const CcqRung& r : ladder_) {
    if (r.ternary) continue;
    Precision p = base_.defaults;
    p.wbits = r.wbits;
    try {
      validate(p, "ccq");
    } catch (const Error& e) {
      LOWBIT_CHECK(false, "ccq.ladder \"{}\": rung {} does not fit the run's scheme {}: {}", s_.ladder, r.str(),
                   scheme_name(base_.defaults.scheme), e.what());
    }
  }
  LOWBIT_CHECK(base_.defaults.quantizes_weights(), "ccq: the run must be quantized (a scheme other than fp32), got {}",
               base_.defaults.str());
}

PrecisionConfig CcqSearch::config_for(const std::vector<int>& rungs) const {
  PrecisionConfig c = base_;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const CcqRung& r = ladder_.at(static_cast<size_t>(rungs[l]));
    LayerOverride o;
    o.match = layers_[l].name;
    o.has_wbits = true;
    o.wbits = r.wbits;
    if (r.ternary) {
      o.has_scheme = true;
      o.scheme = Scheme::twn;
      o.has_abits = true;
      o.abits = base_.defaults.abits;
    }
    c.overrides.push_back(o);
  }
  return c;
}

std::vector<Precision> CcqSearch::precisions_for(const std::vector<int>& rungs) const {
  const PrecisionConfig c = config_for(rungs);
  std::vector<Precision> p;
  for (size_t l = 0; l < layers_.size(); ++l) p.push_back(c.resolve(layers_[l].name, l == 0, l + 1 == layers_.size()));
  return p;
}

bool CcqSearch::target_met(const ModelCost& c) const {
  return target_met(c.avg_wbits(), static_cast<double>(c.model_bytes()), c.bitops);
}

bool CcqSearch::target_met(double avg_wbits, double size_bytes, double bitops) const {
  const double eps = 1e-9;
  if (s_.target == "avg_wbits") return avg_wbits <= s_.target_value + eps;
  if (s_.target == "size_bytes") return size_bytes <= s_.target_value + eps;
  return bitops <= s_.target_value + eps;
}

namespace {
std::string state_path(const std::string& dir) { return (fs::path(dir) / "state.json").string(); }
std::string round_state_path(const std::string& dir, int round) {
  return (fs::path(dir) / fmt::format("state_{}.json", round)).string();
}
std::string weights_path(const std::string& dir, int round) {
  return (fs::path(dir) / fmt::format("weights_{}.lbar", round)).string();
}
void write_text_atomic(const std::string& path, const std::string& text) {
  nn::write_file_atomic(path, text.data(), text.size());
}
// A uniform double in [0, 1) from a seeded 64-bit generator (the same on every platform).
double uniform01(std::mt19937_64& g) { return static_cast<double>(g() >> 11) * (1.0 / 9007199254740992.0); }
}  // namespace

void CcqSearch::write_csv(const std::vector<CcqRound>& history) const {
  std::string t = "round,layer,name,from_bits,to_bits,val_acc,ref_acc,acc_lost_pp,saved,score,winner,acc_after,"
                  "rolled_back,avg_wbits,size_bytes,bitops\n";
  for (const CcqRound& r : history) {
    if (r.candidates.empty())
      t += fmt::format("{},,,,,,{:.6f},,,,,{:.6f},{},{:.6f},{:.0f},{:.6g}\n", r.round, r.ref_acc, r.acc_after,
                       r.rolled_back ? 1 : 0, r.avg_wbits, r.size_bytes, r.bitops);
    for (const CcqCandidate& c : r.candidates)
      t += fmt::format("{},{},{},{},{},{:.6f},{:.6f},{:.4f},{:.6g},{:.6g},{},{:.6f},{},{:.6f},{:.0f},{:.6g}\n", r.round,
                       c.layer, layers_[c.layer].name, ladder_[static_cast<size_t>(c.from_rung)].str(),
                       ladder_[static_cast<size_t>(c.to_rung)].str(), c.acc, r.ref_acc, 100.0 * (r.ref_acc - c.acc),
                       c.saved, c.score, c.winner ? 1 : 0, r.acc_after, r.rolled_back ? 1 : 0, r.avg_wbits,
                       r.size_bytes, r.bitops);
  }
  write_text_atomic((fs::path(dir_) / "rounds.csv").string(), t);
}

void CcqSearch::write_state(const CcqResult& r, int round) const {
  nlohmann::json h = nlohmann::json::array();
  for (const CcqRound& x : r.history) h.push_back(x.to_json());
  std::vector<int> frozen(r.frozen.begin(), r.frozen.end());
  const nlohmann::json j = {{"settings", s_.to_json()},
                            {"layers", [&] {
                               nlohmann::json a = nlohmann::json::array();
                               for (const auto& g : layers_) a.push_back(g.name);
                               return a;
                             }()},
                            {"round", round},
                            {"rungs", r.rungs},
                            {"frozen", frozen},
                            {"fp32_acc", r.fp32_acc},
                            {"final_acc", r.final_acc},
                            {"finished", r.finished},
                            {"target_reached", r.target_reached},
                            {"warmup_steps_done", r.warmup_steps},
                            {"finetune_steps_done", r.finetune_steps},
                            {"seconds", r.seconds},
                            {"seeded_from", r.seeded_from},
                            {"seeded_round", r.seeded_round},
                            {"weights", fs::path(weights_path(dir_, round)).filename().string()},
                            {"history", h}};
  const std::string text = j.dump(1);
  write_text_atomic(state_path(dir_), text);
  // Every round's state stays next to its weights: a search of the same inputs with another target starts from
  // the round where its own search would be (CcqSearch::seed_from).
  write_text_atomic(round_state_path(dir_, round), text);
  write_csv(r.history);
}

namespace {
// The settings that decide the rounds: all but when to stop.
nlohmann::json without_target(nlohmann::json s) {
  if (s.is_object()) {
    s.erase("target");
    s.erase("target_value");
  }
  return s;
}
// A state file as JSON, or null when it is missing or unreadable (a donor that is not usable).
nlohmann::json read_state(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return nullptr;
  std::ifstream in(path);
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    return j.is_object() ? j : nlohmann::json();
  } catch (const std::exception&) {
    return nullptr;
  }
}
}  // namespace

std::pair<std::string, int> CcqSearch::seed_from(const std::vector<std::string>& donor_dirs) const {
  std::error_code ec;
  nlohmann::json names = nlohmann::json::array();
  for (const auto& g : layers_) names.push_back(g.name);
  const nlohmann::json mine = without_target(s_.to_json());
  std::string best_dir;
  int best_round = -1;
  nlohmann::json best;
  for (const std::string& d : donor_dirs) {
    if (fs::equivalent(d, dir_, ec)) continue;
    const nlohmann::json last = read_state(state_path(d));
    if (last.is_null() || without_target(last.value("settings", nlohmann::json())) != mine ||
        last.value("layers", nlohmann::json()) != names || !last.contains("history") || !last.contains("round"))
      continue;
    int n = last.at("round").get<int>();
    for (const auto& x : last.at("history")) {
      const CcqRound rec = CcqRound::from_json(x);
      if (target_met(rec.avg_wbits, rec.size_bytes, rec.bitops)) {
        n = std::min(n, rec.round);
        break;
      }
    }
    if (n <= best_round) continue;
    nlohmann::json st = read_state(round_state_path(d, n));
    if (st.is_null() && last.at("round").get<int>() == n) st = last;  // a donor that kept only its last round
    if (st.is_null() || st.value("round", -1) != n || !st.contains("weights")) continue;
    if (!fs::exists(fs::path(d) / st.at("weights").get<std::string>(), ec)) continue;
    best_dir = d;
    best_round = n;
    best = std::move(st);
  }
  if (best_round < 0) return {"", -1};
  fs::create_directories(dir_, ec);
  LOWBIT_CHECK(!ec, "ccq: cannot create '{}': {}", dir_, ec.message());
  // The weights first (copied, then renamed into place), then the state that names them.
  const std::string w = best.at("weights").get<std::string>();
  const fs::path tmp = fs::path(dir_) / (w + ".tmp");
  fs::copy_file(fs::path(best_dir) / w, tmp, fs::copy_options::overwrite_existing, ec);
  LOWBIT_CHECK(!ec, "ccq: cannot copy '{}' to '{}': {}", (fs::path(best_dir) / w).string(), tmp.string(),
               ec.message());
  fs::rename(tmp, fs::path(dir_) / w, ec);
  LOWBIT_CHECK(!ec, "ccq: cannot rename '{}': {}", tmp.string(), ec.message());
  best["settings"] = s_.to_json();
  best["finished"] = false;
  best["target_reached"] = false;
  best["seeded_from"] = best_dir;
  best["seeded_round"] = best_round;
  const std::string text = best.dump(1);
  write_text_atomic(round_state_path(dir_, best_round), text);
  write_text_atomic(state_path(dir_), text);
  std::vector<CcqRound> history;
  for (const auto& x : best.at("history")) history.push_back(CcqRound::from_json(x));
  write_csv(history);
  return {best_dir, best_round};
}

CcqResult CcqSearch::run(CcqBackend& backend, int stop_after_rounds) {
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  fs::create_directories(dir_, ec);
  LOWBIT_CHECK(!ec, "ccq: cannot create '{}': {}", dir_, ec.message());
  const size_t L = layers_.size();
  CcqResult r;
  r.rungs.assign(L, 0);
  r.frozen.assign(L, false);
  int next_round = 0;
  double seconds_before = 0.0;
  if (fs::exists(state_path(dir_), ec)) {
    std::ifstream in(state_path(dir_));
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const std::exception& e) {
      LOWBIT_CHECK(false, "ccq: cannot read '{}': {}", state_path(dir_), e.what());
    }
    LOWBIT_CHECK(j.value("settings", nlohmann::json()) == s_.to_json(),
                 "ccq: cannot resume from '{}': it was searched with settings {}, this run has {}", state_path(dir_),
                 j.value("settings", nlohmann::json()).dump(), s_.to_json().dump());
    std::vector<std::string> names;
    for (const auto& g : layers_) names.push_back(g.name);
    LOWBIT_CHECK(j.at("layers").get<std::vector<std::string>>() == names,
                 "ccq: cannot resume from '{}': it holds another model's layers", state_path(dir_));
    const int done = j.at("round").get<int>();
    r.rungs = j.at("rungs").get<std::vector<int>>();
    for (size_t l = 0; l < L; ++l) r.frozen[l] = j.at("frozen").at(l).get<int>() != 0;
    r.fp32_acc = j.at("fp32_acc").get<double>();
    r.final_acc = j.at("final_acc").get<double>();
    r.finished = j.at("finished").get<bool>();
    r.target_reached = j.at("target_reached").get<bool>();
    r.warmup_steps = j.at("warmup_steps_done").get<int64_t>();
    r.finetune_steps = j.at("finetune_steps_done").get<int64_t>();
    seconds_before = j.at("seconds").get<double>();
    r.seeded_from = j.value("seeded_from", std::string());
    r.seeded_round = j.value("seeded_round", -1);
    for (const auto& x : j.at("history")) r.history.push_back(CcqRound::from_json(x));
    backend.load((fs::path(dir_) / j.at("weights").get<std::string>()).string());
    next_round = done + 1;
  } else {
    r.fp32_acc = backend.fp32_accuracy();
  }
  auto elapsed = [&] {
    return seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  auto finish_round = [&](CcqRound& rec) {
    const ModelCost c = model_cost(layers_, precisions_for(r.rungs));
    rec.avg_wbits = c.avg_wbits();
    rec.size_bytes = static_cast<double>(c.model_bytes());
    rec.bitops = c.bitops;
    r.history.push_back(rec);
    r.seconds = elapsed();
    backend.save(weights_path(dir_, rec.round));
    write_state(r, rec.round);
  };
  int rounds_this_call = 0;
  const double ctotal = [&] {
    double m = 0;
    for (const auto& g : layers_) m += static_cast<double>(g.macs);
    return m;
  }();
  const double ntotal = [&] {
    double n = 0;
    for (const auto& g : layers_) n += static_cast<double>(g.weights);
    return n;
  }();
  while (!r.finished) {
    if (stop_after_rounds > 0 && rounds_this_call >= stop_after_rounds) break;
    const int round = next_round++;
    CcqRound rec;
    rec.round = round;
    if (round == 0) {
      // Start: every layer at the top rung, fine-tuned once.
      rec.ref_acc = r.fp32_acc;
      rec.acc_after = backend.fine_tune(config_for(r.rungs), precisions_for(r.rungs), 0);
      r.finetune_steps += s_.finetune_steps;
      r.final_acc = rec.acc_after;
      finish_round(rec);
      ++rounds_this_call;
      continue;
    }
    const ModelCost now = model_cost(layers_, precisions_for(r.rungs));
    const bool out_of_rounds = s_.max_rounds > 0 && round > s_.max_rounds;
    std::vector<size_t> open;
    for (size_t l = 0; l < L; ++l)
      if (!r.frozen[l] && static_cast<size_t>(r.rungs[l]) + 1 < ladder_.size()) open.push_back(l);
    if (target_met(now) || open.empty() || out_of_rounds) {
      r.finished = true;
      r.target_reached = target_met(now);
      r.seconds = elapsed();
      write_state(r, round - 1);
      break;
    }
    // Competition.
    rec.ref_acc = r.final_acc;
    for (size_t l : open) {
      std::vector<int> cand = r.rungs;
      ++cand[l];
      const std::vector<Precision> cp = precisions_for(cand);
      CcqCandidate c;
      c.layer = l;
      c.from_rung = r.rungs[l];
      c.to_rung = cand[l];
      c.acc = backend.warm_up(config_for(cand), cp, round, l);
      r.warmup_steps += s_.warmup_steps;
      const ModelCost cc = model_cost(layers_, cp);
      c.saved = s_.weight_by == "params" ? (now.weight_bits - cc.weight_bits) / ntotal
                                         : (now.bitops - cc.bitops) / ctotal;
      // Loss per bit saved; a candidate that loses nothing scores −saved, so free steps come first, the largest
      // saving first (a gain is not divided by a small saving into a huge negative score).
      const double lost_pp = 100.0 * (rec.ref_acc - c.acc);
      c.score = lost_pp > 0 ? lost_pp / c.saved : -c.saved;
      rec.candidates.push_back(c);
    }
    // The winners: the k lowest scores, or k draws by exponential weights without replacement.
    std::vector<size_t> order(rec.candidates.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    const size_t k = std::min(order.size(), static_cast<size_t>(s_.top_k));
    std::vector<size_t> winners;
    if (s_.choice == "best") {
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t a, size_t b) { return rec.candidates[a].score < rec.candidates[b].score; });
      winners.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
    } else {
      std::mt19937_64 g(0x9E3779B97F4A7C15ull ^ static_cast<uint64_t>(round));
      std::vector<size_t> pool = order;
      while (winners.size() < k) {
        double best = 1e300;
        for (size_t i : pool) best = std::min(best, rec.candidates[i].score);
        std::vector<double> w;
        double sum = 0;
        for (size_t i : pool) sum += w.emplace_back(std::exp(-s_.bandit_eta * (rec.candidates[i].score - best)));
        double u = uniform01(g) * sum;
        size_t pick = pool.size() - 1;
        for (size_t i = 0; i < pool.size(); ++i) {
          if (u < w[i]) {
            pick = i;
            break;
          }
          u -= w[i];
        }
        winners.push_back(pool[pick]);
        pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(pick));
      }
    }
    std::vector<int> next = r.rungs;
    for (size_t w : winners) {
      rec.candidates[w].winner = true;
      ++next[rec.candidates[w].layer];
    }
    // Collaboration, then roll-back when the step cost more than epsilon against fp32.
    rec.acc_after = backend.fine_tune(config_for(next), precisions_for(next), round);
    r.finetune_steps += s_.finetune_steps;
    // The reference: the fp32 model, or the start model (every layer at the top rung) when that is already below
    // it, since the activation bits are not the search's to allocate.
    const double reference = std::min(r.fp32_acc, r.history.front().acc_after);
    if (rec.acc_after < reference - s_.epsilon) {
      backend.roll_back();
      rec.rolled_back = true;
      for (size_t w : winners) r.frozen[rec.candidates[w].layer] = true;
    } else {
      r.rungs = next;
      r.final_acc = rec.acc_after;
    }
    finish_round(rec);
    ++rounds_this_call;
  }
  r.precisions = precisions_for(r.rungs);
  r.config = config_for(r.rungs);
  r.cost = model_cost(layers_, r.precisions);
  if (r.finished)
    write_text_atomic((fs::path(dir_) / "precision.json").string(), r.config.to_json().dump(2) + "\n");
  return r;
}

std::unique_ptr<Method> Ccq::from_json(const nlohmann::json& settings) {
  return std::make_unique<Ccq>(CcqSettings::from_json(settings));
}

void Ccq::prepare(nn::Module&, nn::Module*) {}

Var Ccq::loss(const nn::StepInputs& step) {
  return cross_entropy(step.logits, step.batch.labels, step.label_smoothing);
}

nlohmann::json Ccq::state() const { return {{"metrics", metrics_}}; }

}  // namespace lowbit::quant
