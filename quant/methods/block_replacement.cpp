#include "quant/methods/block_replacement.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/error.h"
#include "engine/ops.h"
#include "nn/layers/conv2d.h"
#include "nn/layers/linear.h"
#include "quant/layers/quantized_layer.h"

namespace lowbit::quant {

namespace {

const char* replacement_name(BlockReplacement::Replacement r) {
  return r == BlockReplacement::Replacement::prefix ? "prefix" : "single";
}

// Through the decimal form, so 0.9f is recorded as 0.9, not 0.8999999761581421.
double decimal(float v) { return std::stod(fmt::format("{}", v)); }

bool is_weight_layer(const nn::Module& m) {
  return dynamic_cast<const nn::Conv2d*>(&m) != nullptr || dynamic_cast<const nn::Linear*>(&m) != nullptr;
}

nn::Sequential& as_sequential(nn::Module& m, const std::string& what) {
  auto* s = dynamic_cast<nn::Sequential*>(&m);
  LOWBIT_CHECK(s != nullptr, "br: {} is a {}, not a sequential container, so it cannot be cut into blocks", what,
               m.type_name());
  return *s;
}

// The default block ends of a zoo model (see the header, step 2).
std::vector<std::string> default_block_ends(nn::Sequential& root, const std::string& blocks) {
  std::vector<std::pair<std::string, nn::Sequential*>> stages;
  for (const auto& [name, child] : root.children()) {
    auto* seq = dynamic_cast<nn::Sequential*>(child.get());
    if (seq && name.rfind("layer", 0) == 0) stages.emplace_back(name, seq);
  }
  std::vector<std::string> ends;
  if (blocks == "basic") {
    LOWBIT_CHECK(!stages.empty(), "br.blocks \"basic\" needs a ResNet (stages layer1, layer2, ... of BasicBlocks); "
                 "this {} has none", root.type_name());
    for (const auto& [name, seq] : stages)
      for (const auto& c : seq->children()) ends.push_back(name + "." + c.first);
    ends.pop_back();
    return ends;
  }
  if (stages.size() >= 2) {
    for (size_t i = 0; i + 1 < stages.size(); ++i) ends.push_back(stages[i].first);
    return ends;
  }
  const auto& ch = root.children();
  for (size_t i = 0; i < ch.size(); ++i)
    if (ch[i].first.rfind("pool", 0) == 0) ends.push_back(ch[i].first);
  if (!ends.empty()) {
    // A last pool followed by a single weight layer (VGG's flatten + fc) joins the head's block.
    const size_t last = root.index_of(ends.back());
    int weight_layers = 0;
    for (size_t i = last + 1; i < ch.size(); ++i) weight_layers += is_weight_layer(*ch[i].second);
    if (weight_layers <= 1) ends.pop_back();
  }
  LOWBIT_CHECK(!ends.empty(), "br: cannot find the blocks of this {} (no stages layer1, layer2, ..., no pool layers "
               "between weight layers); give br.blocks as a list of the module names that end blocks",
               root.type_name());
  return ends;
}

}  // namespace

BlockReplacement::BlockReplacement(Settings s) : s_(std::move(s)) {
  LOWBIT_CHECK(!s_.lambda.empty(), "br.lambda must be a number or a non-empty list of numbers");
  for (float l : s_.lambda) LOWBIT_CHECK(std::isfinite(l) && l >= 0.0f, "br.lambda must be >= 0, got {}", l);
  for (size_t i = 0; i < s_.mixed.size(); ++i) {
    LOWBIT_CHECK(s_.mixed[i] >= 1, "br.mixed must list k >= 1 (block counts start at 1), got {}", s_.mixed[i]);
    LOWBIT_CHECK(i == 0 || s_.mixed[i] > s_.mixed[i - 1], "br.mixed must list distinct k in increasing order, got {}",
                 fmt::join(s_.mixed, ", "));
  }
  LOWBIT_CHECK(s_.mixed.empty() || s_.lambda.size() == 1 || s_.lambda.size() == s_.mixed.size(),
               "br.lambda has {} values, but br.mixed lists {} mixed models (give one lambda, or one per k)",
               s_.lambda.size(), s_.mixed.size());
  LOWBIT_CHECK(s_.blocks == "stages" || s_.blocks == "basic" || (s_.blocks.empty() && !s_.block_ends.empty()),
               "br.blocks must be \"stages\", \"basic\" or a non-empty list of module names, got \"{}\"", s_.blocks);
  for (const std::string& e : s_.block_ends) LOWBIT_CHECK(!e.empty(), "br.blocks has an empty module name");
  LOWBIT_CHECK(s_.base == "lsq" || s_.base == "dorefa" || s_.base == "any",
               "br.base must be \"lsq\", \"dorefa\" or \"any\", got \"{}\"", s_.base);
  LOWBIT_CHECK(s_.kd_alpha >= 0.0f && s_.kd_alpha <= 1.0f, "br.kd_alpha must be in [0, 1], got {}", s_.kd_alpha);
  LOWBIT_CHECK(std::isfinite(s_.kd_temperature) && s_.kd_temperature > 0.0f, "br.kd_temperature must be > 0, got {}",
               s_.kd_temperature);
}

std::unique_ptr<Method> BlockReplacement::from_json(const nlohmann::json& j) {
  Settings s;
  auto number = [](const std::string& key, const nlohmann::json& v) {
    LOWBIT_CHECK(v.is_number(), "br.{} must be a number, got {}", key, v.dump());
    return v.get<float>();
  };
  auto word = [](const std::string& key, const nlohmann::json& v) {
    LOWBIT_CHECK(v.is_string(), "br.{} must be a string, got {}", key, v.dump());
    return v.get<std::string>();
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    if (key == "lambda") {
      s.lambda.clear();
      if (v.is_array()) {
        LOWBIT_CHECK(!v.empty(), "br.lambda must be a number or a non-empty list of numbers, got []");
        for (const auto& x : v) s.lambda.push_back(number("lambda", x));
      } else {
        s.lambda.push_back(number("lambda", v));
      }
    } else if (key == "mixed") {
      if (v.is_string()) {
        LOWBIT_CHECK(v.get<std::string>() == "all", "br.mixed must be \"all\" or a list of block counts k, got {}",
                     v.dump());
      } else {
        LOWBIT_CHECK(v.is_array() && !v.empty(), "br.mixed must be \"all\" or a list of block counts k, got {}",
                     v.dump());
        for (const auto& x : v) {
          LOWBIT_CHECK(x.is_number_integer(), "br.mixed must list integers, got {}", x.dump());
          s.mixed.push_back(x.get<int>());
        }
      }
    } else if (key == "replacement") {
      const std::string r = word(key, v);
      LOWBIT_CHECK(r == "prefix" || r == "single", "br.replacement must be \"prefix\" or \"single\", got \"{}\"", r);
      s.replacement = r == "prefix" ? Replacement::prefix : Replacement::single;
    } else if (key == "blocks") {
      if (v.is_array()) {
        LOWBIT_CHECK(!v.empty(), "br.blocks must be \"stages\", \"basic\" or a non-empty list of module names, got []");
        s.blocks.clear();
        for (const auto& x : v) s.block_ends.push_back(word("blocks", x));
      } else {
        // "stages", "basic", or the names as one comma-separated string (the command line's form).
        s.blocks = word(key, v);
        if (s.blocks != "stages" && s.blocks != "basic" && !s.blocks.empty()) {
          for (size_t at = 0;;) {
            const size_t comma = s.blocks.find(',', at);
            s.block_ends.push_back(s.blocks.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
            if (comma == std::string::npos) break;
            at = comma + 1;
          }
          s.blocks.clear();
        }
      }
    } else if (key == "base") {
      s.base = word(key, v);
    } else if (key == "kd_alpha") {
      s.kd_alpha = number(key, v);
    } else if (key == "kd_temperature") {
      s.kd_temperature = number(key, v);
    } else {
      LOWBIT_CHECK(false, "br: unknown setting '{}' (settings: lambda, mixed, replacement, blocks, base, kd_alpha, "
                   "kd_temperature)", key);
    }
  }
  return std::make_unique<BlockReplacement>(std::move(s));
}

nlohmann::json BlockReplacement::to_json() const {
  nlohmann::json j;
  if (s_.lambda.size() == 1) {
    j["lambda"] = decimal(s_.lambda[0]);
  } else {
    j["lambda"] = nlohmann::json::array();
    for (float l : s_.lambda) j["lambda"].push_back(decimal(l));
  }
  j["mixed"] = s_.mixed.empty() ? nlohmann::json("all") : nlohmann::json(s_.mixed);
  j["replacement"] = replacement_name(s_.replacement);
  j["blocks"] = s_.blocks.empty() ? nlohmann::json(s_.block_ends) : nlohmann::json(s_.blocks);
  j["base"] = s_.base;
  j["kd_alpha"] = decimal(s_.kd_alpha);
  j["kd_temperature"] = decimal(s_.kd_temperature);
  return j;
}

namespace {
// The leaves of the block structure: the root's children, with every Sequential on the way to a block end
// expanded into its own children (recursively).
void flatten(nn::Sequential& seq, const std::string& prefix, const std::set<std::string>& expand,
             std::vector<std::pair<nn::Sequential*, std::pair<size_t, std::string>>>& out) {
  const auto& ch = seq.children();
  for (size_t i = 0; i < ch.size(); ++i) {
    const std::string name = prefix + ch[i].first;
    if (expand.count(name)) {
      flatten(as_sequential(*ch[i].second, "'" + name + "' (on the way to a block end)"), name + ".", expand, out);
    } else {
      out.push_back({&seq, {i, name}});
    }
  }
}
}  // namespace

void BlockReplacement::prepare(nn::Module& student, nn::Module* teacher) {
  LOWBIT_CHECK(teacher != nullptr, "br: block-replacement QAT needs a full-precision teacher model");
  LOWBIT_CHECK(teacher != &student, "br: the teacher is the student itself");

  // The base quantizer: every quantized layer of the student must use it.
  int quantized = 0;
  for (const auto& [name, m] : student.named_modules()) {
    const auto* q = dynamic_cast<const QuantizedLayer*>(m);
    if (!q || q->precision().is_fp32()) continue;
    ++quantized;
    const std::string scheme = scheme_name(q->precision().scheme);
    LOWBIT_CHECK(s_.base == "any" || scheme == s_.base,
                 "br.base is \"{}\", but the student's layer '{}' is quantized with {} (train with that quantizer, "
                 "or set br.base to \"{}\")", s_.base, name, q->precision().str(), scheme);
  }
  LOWBIT_CHECK(quantized > 0, "br: the student has no quantized layer; block replacement trains a quantized "
               "student (give the run a quantizer, e.g. {})", s_.base == "any" ? "lsq" : s_.base);
  for (const auto& [name, m] : teacher->named_modules()) {
    const auto* q = dynamic_cast<const QuantizedLayer*>(m);
    LOWBIT_CHECK(!q || q->precision().is_fp32(),
                 "br: the teacher must be full precision, but its layer '{}' is quantized ({})", name,
                 q->precision().str());
  }

  nn::Sequential& sroot = as_sequential(student, "the student model");
  nn::Sequential& troot = as_sequential(*teacher, "the teacher model");
  ends_ = s_.blocks.empty() ? s_.block_ends : default_block_ends(sroot, s_.blocks);
  std::set<std::string> expand;
  for (const std::string& e : ends_)
    for (size_t dot = e.find('.'); dot != std::string::npos; dot = e.find('.', dot + 1)) expand.insert(e.substr(0, dot));

  auto units_of = [&](nn::Sequential& root) {
    std::vector<std::pair<nn::Sequential*, std::pair<size_t, std::string>>> flat;
    flatten(root, "", expand, flat);
    std::vector<Unit> units;
    for (auto& [parent, where] : flat) units.push_back(Unit{parent, where.first, where.second});
    return units;
  };
  student_units_ = units_of(sroot);
  teacher_units_ = units_of(troot);
  LOWBIT_CHECK(student_units_.size() == teacher_units_.size(),
               "br: the teacher's block structure differs from the student's ({} modules in the teacher, {} in "
               "the student)", teacher_units_.size(), student_units_.size());
  for (size_t i = 0; i < student_units_.size(); ++i)
    LOWBIT_CHECK(student_units_[i].name == teacher_units_[i].name,
                 "br: the teacher's block structure differs from the student's: module {} is '{}' in the student, "
                 "'{}' in the teacher", i, student_units_[i].name, teacher_units_[i].name);

  block_begin_ = {0};
  for (const std::string& e : ends_) {
    size_t at = student_units_.size();
    for (size_t i = 0; i < student_units_.size(); ++i)
      if (student_units_[i].name == e) at = i;
    std::string names;
    for (const Unit& u : student_units_) names += (names.empty() ? "" : ", ") + u.name;
    LOWBIT_CHECK(at < student_units_.size(), "br.blocks names '{}', which is not a module a block can end at (candidates: {})",
                 e, names);
    LOWBIT_CHECK(at + 1 > block_begin_.back(), "br.blocks names '{}' out of order (block ends must follow the "
                 "model's order)", e);
    LOWBIT_CHECK(at + 1 < student_units_.size(), "br.blocks names '{}', the model's last module, so the last block "
                 "would be empty", e);
    block_begin_.push_back(at + 1);
  }
  block_begin_.push_back(student_units_.size());
  const int n = num_blocks();
  LOWBIT_CHECK(n >= 2, "br: the model must be cut into at least 2 blocks");

  const int kmax = s_.replacement == Replacement::prefix ? n - 1 : n;
  k_.clear();
  if (s_.mixed.empty()) {
    for (int k = 1; k < n; ++k) k_.push_back(k);
  } else {
    for (int k : s_.mixed)
      LOWBIT_CHECK(k <= kmax, "br.mixed lists k = {}, out of range: the model has {} blocks, so k "
                   "must be in 1..{} ({} replacement)", k, n, kmax, replacement_name(s_.replacement));
    k_ = s_.mixed;
  }
  LOWBIT_CHECK(s_.lambda.size() == 1 || s_.lambda.size() == k_.size(),
               "br.lambda has {} values, but there are {} mixed models (k = {})", s_.lambda.size(), k_.size(),
               fmt::join(k_, ", "));

  teacher_ = teacher;
  teacher_->eval();
  teacher_->set_requires_grad(false);
}

float BlockReplacement::lambda_of(size_t i) const { return s_.lambda.size() == 1 ? s_.lambda[0] : s_.lambda[i]; }

std::vector<int> BlockReplacement::trained_k() const {
  std::vector<int> out;
  for (size_t i = 0; i < k_.size(); ++i)
    if (lambda_of(i) > 0.0f) out.push_back(k_[i]);
  return out;
}

std::vector<std::string> BlockReplacement::student_taps() const {
  if (s_.replacement != Replacement::prefix) return {};
  std::vector<std::string> taps;
  for (int k : trained_k()) taps.push_back(ends_[k - 1]);
  return taps;
}

Var BlockReplacement::run_units(const std::vector<Unit>& units, size_t begin, size_t end, const Var& x) {
  Var y = x;
  size_t i = begin;
  while (i < end) {
    size_t j = i + 1;
    while (j < end && units[j].parent == units[i].parent && units[j].index == units[j - 1].index + 1) ++j;
    y = units[i].parent->forward_range(y, units[i].index, units[j - 1].index + 1);
    i = j;
  }
  return y;
}

std::vector<Var> BlockReplacement::mixed_logits(const nn::StepInputs& step) {
  LOWBIT_CHECK(teacher_ != nullptr, "br: the method was not prepared (no teacher)");
  const std::vector<int> ks = trained_k();
  const size_t end = teacher_units_.size();
  std::vector<Var> out;
  if (s_.replacement == Replacement::prefix) {
    // The student's block outputs h_k from its own forward (taps), each continued by the teacher's suffix.
    std::vector<Var> h;
    for (int k : ks) h.push_back(step.taps.get(ends_[k - 1]));
    for (size_t i = 0; i < ks.size(); ++i) out.push_back(run_units(teacher_units_, block_begin_[ks[i]], end, h[i]));
    return out;
  }
  // Single block: the teacher's prefix outputs t_j (no gradients), then q_k on t_{k-1}, then the teacher's suffix.
  const int kmax = ks.empty() ? 0 : ks.back();
  std::vector<Var> t{Var(step.batch.images)};
  {
    NoGradGuard no_grad;
    for (int j = 1; j < kmax; ++j) t.push_back(run_units(teacher_units_, block_begin_[j - 1], block_begin_[j], t.back()));
  }
  for (int k : ks) {
    // q_k runs a second time in training mode: keep its BatchNorm running statistics as Q's pass left them.
    std::vector<Tensor> live, saved;
    for (size_t u = block_begin_[k - 1]; u < block_begin_[k]; ++u)
      for (const auto& nb : student_units_[u].parent->at(student_units_[u].index).named_buffers()) {
        live.push_back(nb.second);
        saved.push_back(nb.second.clone());
      }
    const Var q = run_units(student_units_, block_begin_[k - 1], block_begin_[k], t[k - 1]);
    for (size_t b = 0; b < live.size(); ++b) live[b].copy_from(saved[b]);
    out.push_back(run_units(teacher_units_, block_begin_[k], end, q));
  }
  return out;
}

Var BlockReplacement::loss(const nn::StepInputs& step) {
  Var teacher_logits;
  if (s_.kd_alpha > 0.0f) {
    NoGradGuard no_grad;
    teacher_logits = (*teacher_)(Var(step.batch.images));
  }
  auto term = [&](const Var& logits) {
    const Var ce = cross_entropy(logits, step.batch.labels, step.label_smoothing);
    if (s_.kd_alpha == 0.0f) return ce;
    const Var kl = kl_div_with_temperature(logits, teacher_logits, s_.kd_temperature);
    return add(mul(ce, 1.0f - s_.kd_alpha), mul(kl, s_.kd_alpha));
  };
  Var total = term(step.logits);
  const std::vector<Var> mixed = mixed_logits(step);
  size_t m = 0;
  for (size_t i = 0; i < k_.size(); ++i)
    if (lambda_of(i) > 0.0f) total = add(total, mul(term(mixed[m++]), lambda_of(i)));
  return total;
}

}  // namespace lowbit::quant
