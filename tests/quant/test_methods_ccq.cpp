// CCQ (quant/methods/ccq.h): the round logic on a tiny three-layer "model" with a scripted scorer (the right
// winner, roll-back and freeze, stop at the target, top-k and bandit choices), a search stopped between rounds
// that resumes to the same result (scripted and with the real QAT backend on synthetic images), and bad settings.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../support/tiny_data.h"
#include "nn/archive.h"
#include "nn/zoo/zoo.h"
#include "quant/methods/ccq.h"
#include "quant/methods/method.h"

using namespace lowbit;
using namespace lowbit::quant;
namespace fs = std::filesystem;

namespace {

// Three layers: a (1,000 weights), b (10,000), c (100).
std::vector<LayerGeometry> tiny_layers() {
  std::vector<LayerGeometry> g(3);
  const char* names[] = {"a", "b", "c"};
  const int64_t w[] = {1000, 10000, 100};
  for (int i = 0; i < 3; ++i) {
    g[i].name = names[i];
    g[i].type = "QLinear";
    g[i].weights = w[i];
    g[i].rows = 10;
    g[i].macs = w[i];
  }
  return g;
}

// Accuracy = 0.99 − Σ_l cost_l(bits_l): cost tables per layer and weight bits; fine-tuning recovers `recover`
// of it. The committed state is the precision list (saved as JSON).
struct ScriptedBackend : CcqBackend {
  std::map<std::string, std::map<int, double>> cost;  // layer -> wbits -> accuracy lost
  double recover = 0.5;
  std::vector<int> committed, previous;
  std::vector<std::string> names = {"a", "b", "c"};
  int fine_tunes = 0, warm_ups = 0;

  double acc(const std::vector<Precision>& p) const {
    double a = 0.99;
    for (size_t l = 0; l < p.size(); ++l) {
      auto it = cost.find(names[l]);
      if (it != cost.end() && it->second.count(p[l].wbits)) a -= it->second.at(p[l].wbits);
    }
    return a;
  }
  double fp32_accuracy() override { return 0.99; }
  double warm_up(const PrecisionConfig&, const std::vector<Precision>& p, int, size_t) override {
    ++warm_ups;
    return acc(p);
  }
  double fine_tune(const PrecisionConfig&, const std::vector<Precision>& p, int) override {
    ++fine_tunes;
    previous = committed;
    committed.clear();
    for (const auto& x : p) committed.push_back(x.wbits);
    return 0.99 - (0.99 - acc(p)) * (1.0 - recover);
  }
  void roll_back() override { committed = previous; }
  void save(const std::string& path) override { std::ofstream(path) << nlohmann::json(committed).dump(); }
  void load(const std::string& path) override {
    std::ifstream f(path);
    committed = nlohmann::json::parse(f).get<std::vector<int>>();
    previous = committed;
  }
};

fs::path temp_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_ccq_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

CcqSettings settings(const nlohmann::json& j) { return CcqSettings::from_json(j); }

PrecisionConfig base() { return PrecisionConfig::uniform(Scheme::dorefa, 8, 4, EdgePolicy::fp32); }

std::string slurp(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("ccq: ladders and settings") {
  const auto l = parse_ccq_ladder("8,6,4,3,2", "x");
  REQUIRE(l.size() == 5);
  CHECK(l.front().wbits == 8);
  CHECK(l.back().cost_bits() == 2);
  const auto t = parse_ccq_ladder("8>4>3>t>1", "x");
  CHECK(t[3].ternary);
  CHECK(parse_ccq_ladder("8\u21924", "x").size() == 2);
  CHECK_THROWS_WITH_AS(parse_ccq_ladder("8,8,4", "ccq.ladder"),
                       doctest::Contains("ccq.ladder must step down strictly (ternary counts as 2 bits): '8' after"),
                       Error);
  CHECK_THROWS_WITH_AS(parse_ccq_ladder("8,9", "ccq.ladder"),
                       doctest::Contains("ccq.ladder must list weight bits 1..8"), Error);
  CHECK_THROWS_WITH_AS(parse_ccq_ladder("8,2,t", "ccq.ladder"), doctest::Contains("'t' after '2'"), Error);
  CHECK_THROWS_WITH_AS(parse_ccq_ladder("8", "ccq.ladder"), doctest::Contains("at least two rungs"), Error);
  CHECK_THROWS_WITH_AS(parse_ccq_ladder("8,,4", "ccq.ladder"), doctest::Contains("got ''"), Error);

  const CcqSettings d = settings(nlohmann::json::object());
  CHECK(CcqSettings::from_json(d.to_json()).to_json() == d.to_json());
  CHECK_THROWS_WITH_AS(settings({{"targett", 2}}), doctest::Contains("ccq: unknown setting 'targett'"), Error);
  CHECK_THROWS_WITH_AS(settings({{"target", "size"}}),
                       doctest::Contains("ccq.target must be avg_wbits, size_bytes or bitops"), Error);
  CHECK_THROWS_WITH_AS(settings({{"target_value", 1.0}}),
                       doctest::Contains("ccq.target_value must be within the ladder's range [2, 8)"), Error);
  CHECK_THROWS_WITH_AS(settings({{"target_value", 0}}), doctest::Contains("ccq.target_value must be > 0"), Error);
  CHECK_THROWS_WITH_AS(settings({{"ladder", 8}}), doctest::Contains("ccq.ladder must be a string"), Error);
  CHECK_THROWS_WITH_AS(settings({{"top_k", 0}}), doctest::Contains("ccq.top_k must be >= 1"), Error);
  CHECK_THROWS_WITH_AS(settings({{"top_k", 1.5}}), doctest::Contains("ccq.top_k must be an integer"), Error);
  CHECK_THROWS_WITH_AS(settings({{"epsilon", 2}}), doctest::Contains("ccq.epsilon must be in [0, 1]"), Error);
  CHECK_THROWS_WITH_AS(settings({{"lr_scale", 0}}), doctest::Contains("ccq.lr_scale must be in (0, 1]"), Error);
  CHECK_THROWS_WITH_AS(settings({{"choice", "greedy"}}), doctest::Contains("ccq.choice must be best or bandit"), Error);
  CHECK_THROWS_WITH_AS(settings({{"weight_by", "flops"}}), doctest::Contains("ccq.weight_by must be params or bitops"),
                       Error);
  // A rung the run's scheme cannot hold.
  CHECK_THROWS_WITH_AS(CcqSearch(settings({{"ladder", "8,4,1"}}), tiny_layers(),
                                 PrecisionConfig::uniform(Scheme::lsq, 4, 4), "unused"),
                       doctest::Contains("rung 1 does not fit the run's scheme lsq"), Error);
  CHECK(make_method("ccq", nlohmann::json::object())->searches());
}

TEST_CASE("ccq: the config of a rung assignment quantizes first and last") {
  CcqSearch s(settings({{"ladder", "8,4,t,1"}, {"target_value", 3}}), tiny_layers(), base(), "unused");
  const auto p = s.precisions_for({0, 1, 2});
  CHECK(p[0].wbits == 8);
  CHECK(p[0].image_input);  // policy q: the first layer reads 8-bit image codes
  CHECK(p[1] == (Precision{4, 4, Scheme::dorefa}));
  CHECK(p[2].scheme == Scheme::twn);
  CHECK(p[2].abits == 4);
  // The config is an ordinary precision config that round-trips through JSON.
  const PrecisionConfig c = s.config_for({0, 1, 2});
  CHECK(PrecisionConfig::from_json(c.to_json(), "t") == c);
  CHECK(c.resolve("b", false, false) == p[1]);
}

TEST_CASE("ccq: the winner is the least accuracy lost per bit saved, weighted by parameters") {
  // Every step of every layer loses 0.2 pp: b saves the most bits (10,000 weights), so b wins round 1.
  ScriptedBackend be;
  for (const char* n : {"a", "b", "c"})
    for (int b : {6, 4, 3, 2}) be.cost[n][b] = 0.002 * (8 - b) / 2;
  const fs::path d = temp_dir("winner");
  CcqSearch s(settings({{"target_value", 6.5}, {"epsilon", 0.5}}), tiny_layers(), base(), d.string());
  const CcqResult r = s.run(be);
  REQUIRE(r.history.size() >= 2);
  const CcqRound& r1 = r.history[1];
  REQUIRE(r1.candidates.size() == 3);
  for (const auto& c : r1.candidates) CHECK(c.winner == (c.layer == 1));
  // saved = 2 bits · 10,000 / 11,100; lost 0.2 pp relative to the round-0 fine-tune (which lost 0 at 8 bits).
  CHECK(r1.candidates[1].saved == doctest::Approx(20000.0 / 11100.0));
  CHECK(r1.candidates[1].score == doctest::Approx(0.2 / (20000.0 / 11100.0)));
  // By BitOPs: MACs equal the weights here, so the same winner.
  CHECK(r.target_reached);
  CHECK(r.cost.avg_wbits() <= 6.5);
  CHECK(fs::exists(d / "rounds.csv"));
  CHECK(fs::exists(d / "precision.json"));
  fs::remove_all(d);
}

TEST_CASE("ccq: a free step wins over a lossy one, and a larger free saving over a smaller one") {
  ScriptedBackend be;
  be.cost["a"][6] = 0.0;
  be.cost["b"][6] = 0.01;
  be.cost["c"][6] = 0.0;
  const fs::path d = temp_dir("free");
  CcqSearch s(settings({{"target_value", 7.9}, {"epsilon", 0.5}, {"max_rounds", 1}}), tiny_layers(), base(),
              d.string());
  const CcqResult r = s.run(be);
  REQUIRE(r.history.size() == 2);
  for (const auto& c : r.history[1].candidates) CHECK(c.winner == (c.layer == 0));  // a: free, saves more than c
  fs::remove_all(d);
}

TEST_CASE("ccq: a step that loses more than epsilon against fp32 is rolled back and frozen") {
  ScriptedBackend be;
  be.recover = 0.0;
  // b: 8→6 free, 6→4 loses 5 pp (> epsilon 2 pp) though its score still wins (saves the most).
  be.cost["b"][6] = 0.0;
  be.cost["b"][4] = 0.05;
  be.cost["a"][6] = 0.001;
  be.cost["a"][4] = 0.002;
  be.cost["a"][3] = 0.1;  // a's step to 3 loses 10 pp: rolled back too
  be.cost["c"][6] = 0.001;
  be.cost["c"][4] = 0.002;
  be.cost["c"][3] = 0.003;
  be.cost["c"][2] = 0.004;
  const fs::path d = temp_dir("rollback");
  CcqSearch s(settings({{"target_value", 2}, {"epsilon", 0.02}}), tiny_layers(), base(), d.string());
  const CcqResult r = s.run(be);
  bool saw = false;
  for (const CcqRound& x : r.history)
    if (x.rolled_back) {
      saw = true;
      for (const auto& c : x.candidates)
        if (c.winner) CHECK(((c.layer == 1 && c.to_rung == 2) || (c.layer == 0 && c.to_rung == 3)));
    }
  CHECK(saw);
  CHECK(r.frozen[1]);
  CHECK(r.rungs[1] == 1);  // b stays at 6 bits
  CHECK(r.precisions[1].wbits == 6);
  CHECK(be.committed == std::vector<int>({4, 6, 2}));  // a frozen at 4, c at its floor
  CHECK_FALSE(r.target_reached);  // no layer can step down any more
  CHECK(r.finished);
  fs::remove_all(d);
}

TEST_CASE("ccq: the search stops as soon as the target is met") {
  ScriptedBackend be;
  const fs::path d = temp_dir("target");
  CcqSearch s(settings({{"target_value", 4.0}, {"epsilon", 0.5}}), tiny_layers(), base(), d.string());
  const CcqResult r = s.run(be);
  CHECK(r.target_reached);
  CHECK(r.cost.avg_wbits() <= 4.0);
  REQUIRE(r.history.size() >= 2);
  CHECK(r.history[r.history.size() - 2].avg_wbits > 4.0);  // one round earlier it was not met
  // By size: the model's bytes at the found config are at most the target.
  const fs::path d2 = temp_dir("target_size");
  ScriptedBackend be2;
  CcqSearch s2(settings({{"target", "size_bytes"}, {"target_value", 8000}, {"epsilon", 0.5}}), tiny_layers(), base(),
               d2.string());
  const CcqResult r2 = s2.run(be2);
  CHECK(r2.target_reached);
  CHECK(r2.cost.model_bytes() <= 8000);
  fs::remove_all(d);
  fs::remove_all(d2);
}

TEST_CASE("ccq: top-k and bandit choices") {
  ScriptedBackend be;
  for (const char* n : {"a", "b", "c"})
    for (int b : {6, 4, 3, 2}) be.cost[n][b] = 0.001 * (8 - b);
  const fs::path d = temp_dir("topk");
  CcqSearch s(settings({{"target_value", 2.5}, {"epsilon", 0.5}, {"top_k", 2}, {"max_rounds", 1}}), tiny_layers(),
              base(), d.string());
  const CcqResult r = s.run(be);
  int winners = 0;
  for (const auto& c : r.history[1].candidates) winners += c.winner ? 1 : 0;
  CHECK(winners == 2);
  CHECK_FALSE(r.history[1].candidates[2].winner);  // c saves the least
  fs::remove_all(d);
  // Bandit: seeded by the round, so two runs draw the same winners.
  std::vector<int> first;
  for (int rep = 0; rep < 2; ++rep) {
    ScriptedBackend b2 = be;
    const fs::path d2 = temp_dir("bandit" + std::to_string(rep));
    CcqSearch s2(settings({{"target_value", 3}, {"epsilon", 0.5}, {"choice", "bandit"}, {"bandit_eta", 0.5}}),
                 tiny_layers(), base(), d2.string());
    const CcqResult r2 = s2.run(b2);
    CHECK(r2.target_reached);
    if (rep == 0) first = r2.rungs;
    else CHECK(r2.rungs == first);
    fs::remove_all(d2);
  }
}

TEST_CASE("ccq: a search stopped between rounds resumes to the same result (scripted)") {
  auto make_backend = [] {
    ScriptedBackend be;
    be.cost["a"][6] = 0.003;
    be.cost["b"][6] = 0.001;
    be.cost["b"][4] = 0.004;
    be.cost["c"][6] = 0.0;
    be.cost["a"][4] = 0.03;
    return be;
  };
  const nlohmann::json j = {{"target_value", 3}, {"epsilon", 0.01}};
  const fs::path straight = temp_dir("straight"), resumed = temp_dir("resumed");
  ScriptedBackend b1 = make_backend();
  const CcqResult r1 = CcqSearch(settings(j), tiny_layers(), base(), straight.string()).run(b1);
  ScriptedBackend b2 = make_backend();
  const CcqResult part = CcqSearch(settings(j), tiny_layers(), base(), resumed.string()).run(b2, 2);
  CHECK_FALSE(part.finished);
  ScriptedBackend b3 = make_backend();  // a new process: nothing in memory
  const CcqResult r2 = CcqSearch(settings(j), tiny_layers(), base(), resumed.string()).run(b3);
  CHECK(r2.rungs == r1.rungs);
  CHECK(r2.frozen == r1.frozen);
  CHECK(b3.committed == b1.committed);
  CHECK(slurp(straight / "rounds.csv") == slurp(resumed / "rounds.csv"));
  CHECK(slurp(straight / "precision.json") == slurp(resumed / "precision.json"));
  // Other settings refuse the recorded search.
  ScriptedBackend b4 = make_backend();
  CHECK_THROWS_WITH_AS(CcqSearch(settings({{"target_value", 4}}), tiny_layers(), base(), resumed.string()).run(b4),
                       doctest::Contains("ccq: cannot resume from"), Error);
  fs::remove_all(straight);
  fs::remove_all(resumed);
}

TEST_CASE("ccq: a search started from another target's rounds ends as a search from scratch does") {
  auto make_backend = [] {
    ScriptedBackend be;
    be.cost["a"][6] = 0.002;
    be.cost["a"][4] = 0.004;
    be.cost["b"][6] = 0.001;
    be.cost["b"][4] = 0.003;
    be.cost["b"][3] = 0.006;
    be.cost["c"][6] = 0.0;
    return be;
  };
  auto at = [](double target) { return settings({{"target_value", target}, {"epsilon", 0.5}}); };
  const fs::path low = temp_dir("donor_low"), high = temp_dir("donor_high"), seeded_high = temp_dir("seeded_high"),
                 seeded_low = temp_dir("seeded_low"), other = temp_dir("seeded_other");
  ScriptedBackend bl = make_backend(), bh = make_backend();
  const CcqResult r_low = CcqSearch(at(3.0), tiny_layers(), base(), low.string()).run(bl);
  const CcqResult r_high = CcqSearch(at(5.0), tiny_layers(), base(), high.string()).run(bh);
  REQUIRE(r_low.history.size() > r_high.history.size());  // the lower target runs on past the higher one

  // Target 5 from the target-3 search: its rounds up to where 5 is met, then the stop; the same result.
  CcqSearch sh(at(5.0), tiny_layers(), base(), seeded_high.string());
  const auto [from_h, round_h] = sh.seed_from({other.string(), low.string()});  // a missing donor is skipped
  CHECK(from_h == low.string());
  CHECK(round_h == r_high.history.back().round);
  ScriptedBackend b1 = make_backend();
  const CcqResult r1 = sh.run(b1);
  CHECK(b1.warm_ups == 0);  // nothing left to search
  CHECK(r1.rungs == r_high.rungs);
  CHECK(r1.target_reached);
  CHECK(r1.warmup_steps == r_high.warmup_steps);  // the cost of the rounds it took counts
  CHECK(r1.seeded_round == round_h);
  CHECK(b1.committed == bh.committed);
  CHECK(slurp(seeded_high / "rounds.csv") == slurp(high / "rounds.csv"));
  CHECK(slurp(seeded_high / "precision.json") == slurp(high / "precision.json"));

  // Target 3 from the (shorter) target-5 search: its last round, then the search goes on; the same result.
  CcqSearch sl(at(3.0), tiny_layers(), base(), seeded_low.string());
  CHECK(sl.seed_from({high.string()}).second == r_high.history.back().round);
  ScriptedBackend b2 = make_backend();
  const CcqResult r2 = sl.run(b2);
  CHECK(b2.warm_ups > 0);
  CHECK(b2.warm_ups < bl.warm_ups);
  CHECK(r2.rungs == r_low.rungs);
  CHECK(b2.committed == bl.committed);
  CHECK(slurp(seeded_low / "rounds.csv") == slurp(low / "rounds.csv"));

  // Other settings (epsilon), or a donor that kept only its last round when an earlier one is needed: not used.
  CcqSearch se(settings({{"target_value", 5.0}, {"epsilon", 0.4}}), tiny_layers(), base(), other.string());
  CHECK(se.seed_from({low.string()}).second == -1);
  CHECK_FALSE(fs::exists(other / "state.json"));
  for (int k = 0; k < r_low.history.back().round; ++k) fs::remove(low / ("state_" + std::to_string(k) + ".json"));
  CHECK(CcqSearch(at(5.0), tiny_layers(), base(), other.string()).seed_from({low.string()}).second == -1);
  for (const fs::path& d : {low, high, seeded_high, seeded_low, other}) fs::remove_all(d);
}

TEST_CASE("ccq: a QAT search stopped between rounds resumes to the same weights") {
  const fs::path d = temp_dir("qat");
  fs::create_directories(d);
  const nn::ImageDataset train = test::synthetic_bars(96, 5, "bars-train");
  const nn::ImageDataset val = test::synthetic_bars(32, 6, "bars-val");
  nn::ModelOptions mo;
  mo.seed = 3;
  const std::string init = (d / "fp32.lbar").string();
  nn::save_module(init, *nn::make_model("lenet5", mo), {{"model", "lenet5"}});
  SearchContext ctx;
  ctx.config.model = "lenet5";
  ctx.config.dataset = "mnist";
  ctx.config.batch_size = 16;
  ctx.config.lr = 0.05f;
  ctx.config.seed = 7;
  ctx.model = "lenet5";
  ctx.options = mo;
  ctx.quant.precision = PrecisionConfig::uniform(Scheme::dorefa, 8, 4, EdgePolicy::q);
  ctx.init = init;
  ctx.train = &train;
  ctx.val = &val;
  ctx.val_is_holdout = true;
  const CcqSettings s = settings({{"target_value", 7}, {"warmup_steps", 2}, {"finetune_steps", 3}, {"epsilon", 1}});
  const BuiltModel probe = build_model("lenet5", mo, ctx.quant);
  const auto geo = layer_geometry(*probe.model, Shape{1, 28, 28});
  std::vector<std::string> names;
  for (const auto& g : geo) names.push_back(g.name);
  auto run = [&](const fs::path& dir, int stop) {
    auto be = make_qat_ccq_backend(ctx, s, names);
    CcqResult r = CcqSearch(s, geo, ctx.quant.precision, dir.string()).run(*be, stop);
    be->save((dir / "final.lbar").string());
    return r;
  };
  const CcqResult a = run(d / "straight", 0);
  run(d / "resumed", 2);
  const CcqResult b = run(d / "resumed", 0);
  CHECK(a.finished);
  CHECK(b.finished);
  CHECK(a.rungs == b.rungs);
  CHECK(slurp(d / "straight" / "rounds.csv") == slurp(d / "resumed" / "rounds.csv"));
  auto same_weights = [&](const fs::path& x_dir, const fs::path& y_dir) {
    const nn::Archive wa = nn::read_archive((x_dir / "final.lbar").string());
    const nn::Archive wb = nn::read_archive((y_dir / "final.lbar").string());
    REQUIRE(wa.tensors.size() == wb.tensors.size());
    for (size_t i = 0; i < wa.tensors.size(); ++i) {
      const Tensor& x = wa.tensors[i].second;
      const Tensor& y = wb.tensors[i].second;
      REQUIRE(x.numel() == y.numel());
      bool same = true;
      for (int64_t k = 0; k < x.numel(); ++k) same = same && x.data()[k] == y.data()[k];
      CHECK_MESSAGE(same, wa.tensors[i].first);
    }
  };
  same_weights(d / "straight", d / "resumed");
  // A search with a lower target runs the same rounds first: the target-7 search started from its rounds ends
  // with the same weights as the one that ran them itself.
  const CcqSettings lower = settings({{"target_value", 6}, {"warmup_steps", 2}, {"finetune_steps", 3}, {"epsilon", 1}});
  {
    auto be = make_qat_ccq_backend(ctx, lower, names);
    CHECK(CcqSearch(lower, geo, ctx.quant.precision, (d / "lower").string()).run(*be).history.size() >
          a.history.size());
  }
  CcqSearch seeded(s, geo, ctx.quant.precision, (d / "seeded").string());
  CHECK(seeded.seed_from({(d / "lower").string()}).second == a.history.back().round);
  run(d / "seeded", 0);
  same_weights(d / "straight", d / "seeded");
  // Without a hold-out or an fp32 start the search refuses.
  Ccq m(s);
  SearchContext bad = ctx;
  bad.val_is_holdout = false;
  CHECK_THROWS_WITH_AS(m.search(bad), doctest::Contains("never the test split"), Error);
  bad = ctx;
  bad.init = "";
  CHECK_THROWS_WITH_AS(m.search(bad), doctest::Contains("starts from an fp32 model"), Error);
  fs::remove_all(d);
}
