#include "nn/summary.h"

#include <algorithm>
#include <array>
#include <unordered_map>

#include "engine/error.h"

namespace lowbit::nn {

namespace {
struct Recorder final : ForwardObserver {
  struct Seen {
    Shape out;
    int64_t macs = 0;
    int calls = 0;
  };
  std::unordered_map<const Module*, Seen> seen;
  int64_t total_macs = 0;
  void on_forward(const Module& m, const Var& in, const Var& out) override {
    const int64_t macs = m.macs(in.shape(), out.shape());
    Seen& s = seen[&m];
    if (s.calls++ == 0) s.out = out.shape();
    s.macs += macs;
    total_macs += macs;
  }
};
}  // namespace

std::string with_thousands(int64_t v) {
  std::string digits = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return v < 0 ? "-" + out : out;
}

ModelSummary summarize(Module& model, const Shape& input) {
  LOWBIT_CHECK((input.rank() == 3) || (input.rank() == 4 && input[0] == 1),
               "summarize: input shape must be [C, H, W] or [1, C, H, W], got {}", input.str());
  const Shape batch1 = input.rank() == 4 ? input : Shape{1, input[0], input[1], input[2]};

  const auto modules = model.named_modules();
  std::vector<bool> modes;
  for (const auto& m : modules) modes.push_back(m.second->is_training());

  ModelSummary s;
  s.model_type = model.type_name();
  s.input = batch1;
  Recorder rec;
  {
    NoGradGuard no_grad;
    model.eval();
    ForwardObserverScope scope(rec);
    try {
      s.output = model(Var(Tensor::zeros(batch1))).shape();
    } catch (...) {
      for (size_t i = 0; i < modules.size(); ++i) modules[i].second->train(modes[i]);
      throw;
    }
  }
  // Pre-order restore: a parent's recursive train() is overridden by its children's own flags after it.
  for (size_t i = 0; i < modules.size(); ++i) modules[i].second->train(modes[i]);

  for (const auto& nm : modules) {
    const Module& m = *nm.second;
    if (!m.children().empty() && m.local_parameters().empty()) continue;
    LayerSummary row;
    row.name = nm.first.empty() ? "<root>" : nm.first;
    row.type = m.type_name();
    row.info = m.describe();
    for (const auto& p : m.local_parameters()) row.params += p.second.value().numel();
    auto it = rec.seen.find(&m);
    if (it != rec.seen.end()) {
      row.called = true;
      row.out_shape = it->second.out;
      row.macs = it->second.macs;
    }
    s.layers.push_back(std::move(row));
  }
  s.total_params = model.num_parameters();
  s.total_macs = rec.total_macs;
  return s;
}

std::string ModelSummary::table() const {
  const char* heads[6] = {"layer", "type", "output", "params", "MACs", "info"};
  std::vector<std::array<std::string, 6>> rows;
  for (const auto& l : layers)
    rows.push_back({l.name, l.type, l.called ? l.out_shape.str() : std::string("-"), with_thousands(l.params),
                    with_thousands(l.macs), l.info});
  size_t width[6];
  for (int c = 0; c < 6; ++c) {
    width[c] = std::string(heads[c]).size();
    for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::array<std::string, 6>& r) {
    std::string out;
    for (int c = 0; c < 6; ++c) {
      const bool right = c == 3 || c == 4;  // numbers right-aligned
      const std::string pad(width[c] - r[c].size(), ' ');
      out += right ? pad + r[c] : r[c] + (c == 5 ? "" : pad);
      if (c < 5) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = fmt::format("{}: input {} -> output {}\n", model_type, input.str(), output.str());
  out += line({heads[0], heads[1], heads[2], heads[3], heads[4], heads[5]});
  size_t total_w = 0;
  for (int c = 0; c < 6; ++c) total_w += width[c] + (c < 5 ? 2 : 0);
  out += std::string(total_w, '-') + "\n";
  for (const auto& r : rows) out += line(r);
  out += std::string(total_w, '-') + "\n";
  const double kib = double(param_bytes_fp32()) / 1024.0;
  const std::string size = kib < 1024.0 ? fmt::format("{:.1f} KiB", kib) : fmt::format("{:.2f} MiB", kib / 1024.0);
  out += fmt::format("total: {} parameters ({} as fp32), {} MACs per sample\n", with_thousands(total_params), size,
                     with_thousands(total_macs));
  return out;
}

}  // namespace lowbit::nn
