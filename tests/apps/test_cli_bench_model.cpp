// `lowbit bench-model` on a tiny trained model: it runs on the .lbm (runtime) and on the checkpoint (training
// graph), prints one table row per batch × threads, and --json holds the machine, settings and every row's
// statistics; a file that is no model is one clear error naming it (exit 1), a bad flag a usage error (exit 2).
// No speed is asserted: only that the numbers are there and ordered (min ≤ median ≤ p90 ≤ p99).
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../support/cli_runner.h"
#include "../support/tiny_data.h"
#include "../support/tiny_w1a1.h"

namespace fs = std::filesystem;

namespace {
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("cli: bench-model times a .lbm and a checkpoint, writes JSON, and refuses bad input") {
  const fs::path d = fs::temp_directory_path() / ("lowbit_test_cli_bench_model_" + std::to_string(::getpid()));
  fs::remove_all(d);
  const std::string data = lowbit::test::train_tiny_w1a1_lenet(d, 32, 8);
  const std::string ckpt = (d / "run" / "model.lbar").string(), lbm = (d / "m.lbm").string();
  auto r = lowbit::test::run_lowbit("export '" + ckpt + "' --out '" + lbm + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());

  const std::string quick = " --reps 3 --warmup 1 --min-time 0";
  const fs::path json = d / "bench.json";
  r = lowbit::test::run_lowbit("bench-model '" + lbm + "' --batch 1,16 --threads 1,2" + quick + " --json '" + json.string() + "'");
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK_MESSAGE(has(r.out, "median ms"), r.out);
  CHECK_MESSAGE(has(r.out, "MACs/image"), r.out);
  std::ifstream jf(json);
  const nlohmann::json j = nlohmann::json::parse(jf);
  for (const char* k : {"cpu_model", "isa", "arch", "lowbit_isa_env"}) CHECK_MESSAGE(j["machine"].contains(k), k);
  CHECK(j["lowbit"]["git_revision"].get<std::string>().size() > 0);
  CHECK(j["model"]["kind"] == "lbm");
  CHECK(j["model"]["name"] == "lenet5");
  CHECK(j["model"]["file_bytes"].get<uint64_t>() == fs::file_size(lbm));
  CHECK(j["model"]["macs_per_image"].get<uint64_t>() > 0);
  REQUIRE(j["results"].size() == 4);  // batch {1, 16} × threads {1, 2}
  int i = 0;
  for (int batch : {1, 16})
    for (int threads : {1, 2}) {
      const nlohmann::json& row = j["results"][i++];
      CHECK(row["batch"] == batch);
      CHECK(row["threads"] == threads);
      CHECK(row["runs"].get<int>() >= 3);
      CHECK(row["times_ms"].size() == row["runs"].get<size_t>());
      CHECK(row["arena_bytes"].get<uint64_t>() > 0);
      const double mn = row["min_ms"], med = row["median_ms"], p90 = row["p90_ms"], p99 = row["p99_ms"];
      CHECK(mn > 0);
      CHECK(mn <= med);
      CHECK(med <= p90);
      CHECK(p90 <= p99);
      CHECK(row["images_per_s"].get<double>() > 0);
      CHECK(row["cpu_ms_per_run"].get<double>() >= 0);
    }
  // The arena grows with the batch.
  CHECK(j["results"][2]["arena_bytes"].get<uint64_t>() > j["results"][0]["arena_bytes"].get<uint64_t>());

  // The checkpoint: the training graph in eval mode, on real images.
  r = lowbit::test::run_lowbit("bench-model '" + ckpt + "' --batch 2 --dataset mnist" + quick + data);
  REQUIRE_MESSAGE(r.status == 0, r.all());
  CHECK_MESSAGE(has(r.out, "training graph"), r.out);

  // Not a model: one line naming the file, exit 1.
  const fs::path bad = d / "bad.lbm";
  std::ofstream(bad) << "this is not a model";
  r = lowbit::test::run_lowbit("bench-model '" + bad.string() + "'" + quick);
  CHECK(r.status == 1);
  CHECK_MESSAGE(has(r.err, "lowbit: error:"), r.err);
  CHECK_MESSAGE(has(r.err, bad.string()), r.err);
  r = lowbit::test::run_lowbit("bench-model '" + (d / "missing.lbm").string() + "'" + quick);
  CHECK(r.status == 1);
  CHECK_MESSAGE(has(r.err, "missing.lbm"), r.err);
  // Bad flags: usage errors.
  r = lowbit::test::run_lowbit("bench-model '" + lbm + "' --batch 0");
  CHECK(r.status == 2);
  r = lowbit::test::run_lowbit("bench-model '" + lbm + "' --no-such-flag");
  CHECK(r.status == 2);
  fs::remove_all(d);
}
