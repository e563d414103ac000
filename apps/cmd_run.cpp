// lowbit run model.lbm --dataset NAME: the accuracy of a packed model on a data set's split, computed by the
// runtime through its C API (runtime/include/lowbit.h), exactly as an embedding program would run it: the pixels
// normalised by lowbit_normalize_u8 with the normalisation the file records, batches of --batch images through
// one arena. --logits FILE writes every image's logits (one line per image, %.9g: the floats round-trip
// exactly), --predictions FILE the predicted class per line, so runs on other machines (aarch64, firmware) can
// be compared with this one bit for bit.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/lbm_file.h"
#include "engine/error.h"
#include "kernels/isa.h"
#include "nn/archive.h"
#include "nn/data/registry.h"
#include "runtime/include/lowbit.h"

namespace lowbit::app {

namespace {
struct RunArgs {
  std::string model, dataset, split = "test", data_dir, logits, predictions;
  int64_t limit = 0;
  int batch = 64, threads = 0;
};

int run_model(const RunArgs& a) {
  LoadedLbm lbm(a.model);
  lowbit_model& m = lbm.model;
  const nn::ImageDataset data = nn::load_dataset(a.dataset, a.split, resolve_data_dir(a.data_dir));
  LOWBIT_CHECK(data.c == m.in_c && data.h == m.in_h && data.w == m.in_w,
               "'{}' takes {}x{}x{} images, {} has {}x{}x{}", a.model, m.in_c, m.in_h, m.in_w, data.name, data.c, data.h,
               data.w);
  LOWBIT_CHECK(m.classes >= 1, "'{}': no classes", a.model);
  const int64_t n = a.limit > 0 ? std::min<int64_t>(a.limit, data.n) : data.n;
  const uint32_t batch = static_cast<uint32_t>(std::min<int64_t>(a.batch, std::max<int64_t>(n, 1)));
  m.threads = a.threads;
  lbm.check(lowbit_model_set_batch(&m, batch), "lowbit_model_set_batch");
  lbm.allocate_arena();
  const int64_t per = int64_t(m.in_c) * m.in_h * m.in_w;
  std::vector<float> x(static_cast<size_t>(batch * per)), logits(static_cast<size_t>(n) * m.classes);
  int64_t correct = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t b0 = 0; b0 < n; b0 += batch) {
    const int32_t nb = static_cast<int32_t>(std::min<int64_t>(batch, n - b0));
    lbm.check(lowbit_normalize_u8(&m, data.pixels.data() + b0 * per, static_cast<size_t>(nb), x.data()),
              "lowbit_normalize_u8");
    const lowbit_input in{x.data(), nb, m.in_c, m.in_h, m.in_w};
    lowbit_output out{logits.data() + b0 * m.classes, static_cast<size_t>(nb) * m.classes, 0, 0};
    lbm.check(lowbit_run(&m, &lbm.arena, &in, &out), "lowbit_run");
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string logit_text, pred_text;
  for (int64_t i = 0; i < n; ++i) {
    const float* l = logits.data() + i * m.classes;
    const int64_t pred = std::max_element(l, l + m.classes) - l;
    correct += pred == data.labels[i];
    if (!a.predictions.empty()) pred_text += fmt::format("{}\n", pred);
    if (!a.logits.empty()) {
      for (int c = 0; c < m.classes; ++c) logit_text += fmt::format(c ? " {:.9g}" : "{:.9g}", l[c]);
      logit_text += '\n';
    }
  }
  if (!a.logits.empty()) nn::write_file_atomic(a.logits, logit_text.data(), logit_text.size());
  if (!a.predictions.empty()) nn::write_file_atomic(a.predictions, pred_text.data(), pred_text.size());
  std::printf("%s on %s (%lld images): accuracy %.2f%% | %.1f images/s, batch %u, threads %d, ISA %s, arena %llu bytes\n",
              a.model.c_str(), data.name.c_str(), static_cast<long long>(n), n ? 100.0 * double(correct) / double(n) : 0.0,
              secs > 0 ? double(n) / secs : 0.0, batch, a.threads, kernels::isa_name(kernels::active_isa()),
              static_cast<unsigned long long>(lbm.arena.bytes));
  return 0;
}
}  // namespace

Command register_run(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* s = app.add_subcommand("run", "Accuracy of a packed .lbm model on a data set, computed by the runtime");
  s->add_option("model", a->model, "A .lbm file written by `lowbit export`")->required();
  s->add_option("--dataset", a->dataset, "Data set to classify")->required()->check(CLI::IsMember(dataset_choices()));
  s->add_option("--split", a->split, "train | test")->check(CLI::IsMember({"train", "test"}))->capture_default_str();
  s->add_option("--data-dir", a->data_dir, "Data directory (default $LOWBIT_DATA or <repo>/data)");
  s->add_option("--limit", a->limit, "Only the first N images (0 = all)")->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  s->add_option("--batch", a->batch, "Images per lowbit_run")->check(CLI::Range(1, 65536))->capture_default_str();
  s->add_option("--threads", a->threads, "Threads (0 = all cores)")->check(CLI::Range(0, 1024))->capture_default_str();
  s->add_option("--logits", a->logits, "Write every image's logits to this file (one line per image, %.9g)");
  s->add_option("--predictions", a->predictions, "Write the predicted class of every image to this file");
  return {s, [a] { return run_model(*a); }};
}

}  // namespace lowbit::app
