#include "nn/init_load.h"

#include <fmt/format.h>

#include <set>

#include "engine/error.h"
#include "nn/archive.h"

namespace lowbit::nn {

nlohmann::json InitRecord::to_json() const {
  return {{"path", path}, {"crc32", fmt::format("{:08x}", crc32)}, {"loaded", loaded}, {"fresh", fresh}};
}

InitRecord load_init(const std::string& path, Module& module, const InitOptions& options) {
  const Archive a = read_archive(path);
  // A training checkpoint holds the model under "model." (and the optimizer under "optim.").
  const std::vector<NamedTensor> model_state = a.with_prefix("model.");
  const bool checkpoint = !model_state.empty();
  const std::vector<NamedTensor>& given = checkpoint ? model_state : a.tensors;

  std::set<std::string> names;
  for (const auto& [name, t] : given) names.insert(name);
  InitRecord r;
  r.path = path;
  r.crc32 = a.crc32;
  std::vector<std::string> unloaded;
  for (const auto& [name, t] : module.state_dict()) {
    if (names.count(name)) {
      ++r.loaded;
    } else if (options.partial || (options.may_start_fresh && options.may_start_fresh(name))) {
      r.fresh.push_back(name);
    } else {
      unloaded.push_back(name);
    }
  }
  const std::string what = a.meta.contains("model") && a.meta["model"].is_string()
                               ? fmt::format("a '{}' {}", a.meta["model"].get<std::string>(),
                                             checkpoint ? "checkpoint" : "model")
                               : std::string(checkpoint ? "a checkpoint" : "an archive");
  LOWBIT_CHECK(r.loaded > 0, "init file '{}' ({}) holds none of this model's {} tensors (e.g. '{}'): it is not a "
               "model of this architecture", path, what, module.state_dict().size(),
               module.state_dict().empty() ? std::string() : module.state_dict().front().first);
  if (!unloaded.empty()) {
    std::string list;
    for (size_t i = 0; i < unloaded.size() && i < 4; ++i) list += (i ? ", " : "") + unloaded[i];
    if (unloaded.size() > 4) list += fmt::format(" and {} more", unloaded.size() - 4);
    LOWBIT_CHECK(false, "init file '{}' ({}) leaves {} of this model's tensors unloaded: {} (a partial init must be "
                 "asked for explicitly)", path, what, unloaded.size(), list);
  }
  try {
    module.load_state_dict(given, /*strict=*/false);
  } catch (const Error& e) {
    LOWBIT_CHECK(false, "init file '{}': {}", path, e.what());
  }
  return r;
}

}  // namespace lowbit::nn
