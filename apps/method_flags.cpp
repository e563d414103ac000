// The list of per-method flag files, and the flag -> settings plumbing they share (method_flags.h).
#include "apps/method_flags.h"

#include "engine/error.h"

namespace lowbit::app {

void add_method_flags(CLI::App& sub, MethodFlags& flags) {
  add_kd_flags(sub, flags);
  add_dcq_flags(sub, flags);
  add_br_flags(sub, flags);
  add_ccq_flags(sub, flags);
  add_dfq_flags(sub, flags);
}

CLI::Option* MethodFlags::add_switch(CLI::App& sub, const std::string& method, const std::string& flag,
                                     const std::string& key, const std::string& help) {
  CLI::Option* o = sub.add_flag(flag, help);
  flags_.push_back({method, flag, key, o, [] { return nlohmann::json(true); }});
  return o;
}

nlohmann::json MethodFlags::settings_for(const std::string& method) const {
  const bool plain = method.empty() || method == "none";
  nlohmann::json settings = nlohmann::json::object();
  for (const Flag& f : flags_) {
    if (f.option->count() == 0) continue;
    LOWBIT_CHECK(!plain, "{} needs --method {}", f.flag, f.method);
    LOWBIT_CHECK(f.method == method, "{} needs --method {}, not '{}'", f.flag, f.method, method);
    settings[f.key] = f.value();
  }
  return settings;
}

std::string MethodFlags::with_flag_names(std::string msg) const {
  for (const Flag& f : flags_) {
    const std::string field = f.method + "." + f.key;
    if (msg.rfind(field + " ", 0) == 0) return f.flag + msg.substr(field.size());
  }
  return msg;
}

}  // namespace lowbit::app
