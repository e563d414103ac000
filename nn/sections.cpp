#include "nn/sections.h"

#include <cctype>

#include "engine/error.h"

namespace lowbit::nn {

namespace {
std::string child_names(const Sequential& m) {
  std::string s;
  for (const auto& c : m.children()) s += (s.empty() ? "" : ", ") + c.first;
  return s;
}

bool is_numbered(const std::string& name, const std::string& prefix) {
  if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) return false;
  for (size_t i = prefix.size(); i < name.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
  return true;
}

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
}  // namespace

std::vector<std::string> default_section_boundaries(const Sequential& model) {
  const std::string& type = model.type_name();
  std::vector<std::string> out;
  if (type == "LeNet5") return {"pool2"};
  if (type == "MobileNetV1") return {"block1", "block3", "block5", "block11", "block13"};
  const char* numbered = starts_with(type, "ResNet") ? "layer"
                         : (starts_with(type, "VGG") || type == "AlexNet") ? "pool"
                                                                           : nullptr;
  LOWBIT_CHECK(numbered != nullptr, "sections: model '{}' has no default sections; name the boundary modules ({})",
               type, child_names(model));
  for (const auto& c : model.children())
    if (is_numbered(c.first, numbered)) out.push_back(c.first);
  LOWBIT_CHECK(!out.empty(), "sections: model '{}' has no '{}<k>' stages to cut after", type, numbered);
  return out;
}

std::vector<std::string> parse_section_spec(const std::string& spec) {
  std::vector<std::string> out;
  auto trim = [](std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t b = 0;
    while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    return s.substr(b);
  };
  const std::string all = trim(spec);
  if (all.empty() || all == "auto") return out;
  size_t start = 0;
  while (true) {
    const size_t comma = all.find(',', start);
    const std::string name = trim(all.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    LOWBIT_CHECK(!name.empty(), "sections '{}': empty boundary name (expected names separated by commas, e.g. "
                 "'pool1,pool2', or 'auto')", spec);
    out.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::vector<Section> make_sections(const Sequential& model, const std::vector<std::string>& boundaries) {
  LOWBIT_CHECK(!boundaries.empty(), "sections: no boundary given for model '{}': one section would be the whole "
               "model (boundaries are top-level modules: {})", model.type_name(), child_names(model));
  std::vector<Section> out;
  size_t begin = 0;
  for (size_t k = 0; k < boundaries.size(); ++k) {
    const std::string& name = boundaries[k];
    size_t idx = model.size();
    for (size_t i = 0; i < model.size(); ++i)
      if (model.children()[i].first == name) idx = i;
    LOWBIT_CHECK(idx < model.size(), "sections: '{}' is not a top-level module of model '{}' (boundaries are: {})",
                 name, model.type_name(), child_names(model));
    for (size_t j = 0; j < k; ++j)
      LOWBIT_CHECK(boundaries[j] != name, "sections: boundary '{}' is named twice", name);
    LOWBIT_CHECK(idx >= begin, "sections: boundary '{}' comes before '{}' in model '{}'; list boundaries in model "
                 "order", name, boundaries[k - 1], model.type_name());
    LOWBIT_CHECK(idx + 1 < model.size(), "sections: boundary '{}' is the last module of model '{}', which would leave "
                 "an empty last section", name, model.type_name());
    out.push_back({begin, idx + 1, name});
    begin = idx + 1;
  }
  out.push_back({begin, model.size(), ""});
  return out;
}

Var run_sections(Sequential& model, const Var& x, const std::vector<Section>& sections) {
  Var y = x;
  for (const Section& s : sections) y = model.forward_range(y, s.begin, s.end);
  return y;
}

}  // namespace lowbit::nn
