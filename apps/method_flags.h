// Flags of the training methods (`lowbit train --method NAME ...`). Each method registers its own flags in its
// own file, apps/method_flags_<name>.cpp, through MethodFlags::add, and is listed once in method_flags.cpp.
// A flag maps to one key of the method's settings object (quant/methods/method.h): only the flags the user
// gave are set, so every other setting takes the method's own default (which its from_json applies and its
// to_json records). A flag of another method than the chosen one is an error that names both.
//
//   void add_kd_flags(CLI::App& s, MethodFlags& f) {
//     f.add<float>(s, "kd", "--kd-alpha", "alpha", "KD weight A: loss = (1-A)*CE + A*T^2*KL", "0.9");
//   }
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace lowbit::app {

class MethodFlags {
 public:
  // Registers `flag` on the train subcommand; when given, settings[key] of `method` = its value.
  // default_text is shown in --help (the method's default; the value itself comes from the method).
  template <class T>
  CLI::Option* add(CLI::App& sub, const std::string& method, const std::string& flag, const std::string& key,
                   const std::string& help, const std::string& default_text = "") {
    auto value = std::make_shared<T>();
    CLI::Option* o = sub.add_option(flag, *value, help);
    if (!default_text.empty()) o->default_str(default_text);
    flags_.push_back({method, flag, key, o, [value] { return nlohmann::json(*value); }});
    return o;
  }
  // A switch (no value): settings[key] = true when given.
  CLI::Option* add_switch(CLI::App& sub, const std::string& method, const std::string& flag, const std::string& key,
                          const std::string& help);

  // The settings the user gave for `method` ("" or "none": plain training, and then no method flag may be
  // given). Throws "--kd-alpha needs --method kd" (or "..., not 'dcq'") for a flag of another method.
  nlohmann::json settings_for(const std::string& method) const;
  // "kd.alpha must be in [0, 1], got 2" -> "--kd-alpha must be in [0, 1], got 2"; other messages unchanged.
  std::string with_flag_names(std::string msg) const;

 private:
  struct Flag {
    std::string method, flag, key;
    CLI::Option* option;
    std::function<nlohmann::json()> value;
  };
  std::vector<Flag> flags_;
};

// Registers the flags of every method (the list is in method_flags.cpp).
void add_method_flags(CLI::App& sub, MethodFlags& flags);

// One per method, each in apps/method_flags_<name>.cpp.
void add_kd_flags(CLI::App& sub, MethodFlags& flags);
void add_dcq_flags(CLI::App& sub, MethodFlags& flags);
void add_br_flags(CLI::App& sub, MethodFlags& flags);
void add_ccq_flags(CLI::App& sub, MethodFlags& flags);
void add_dfq_flags(CLI::App& sub, MethodFlags& flags);

}  // namespace lowbit::app
