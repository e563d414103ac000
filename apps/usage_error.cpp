#include "apps/usage_error.h"

#include <fmt/format.h>

namespace lowbit::app {

namespace {
// The option named `name` ("--epochs") on app or its parsed subcommands; null when unknown.
const CLI::Option* find_option(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands())
    if (const CLI::Option* o = find_option(*sub, name)) return o;
  for (const CLI::Option* o : app.get_options())
    if (o->check_name(name)) return o;
  return nullptr;
}

std::string what_type(const CLI::Option* o) {
  const std::string t = o ? o->get_type_name() : "";
  if (t == "INT" || t == "UINT") return "a whole number";
  if (t == "FLOAT") return "a number";
  return "a valid value";
}

// "Could not convert: --epochs = abc" -> "--epochs: 'abc' is not a whole number".
std::string plain_conversion(const CLI::App& app, const std::string& msg) {
  const std::string head = "Could not convert: ";
  const size_t eq = msg.find(" = ");
  if (msg.rfind(head, 0) != 0 || eq == std::string::npos) return msg;
  const std::string flag = msg.substr(head.size(), eq - head.size()), value = msg.substr(eq + 3);
  return fmt::format("{}: '{}' is not {}", flag, value, what_type(find_option(app, flag)));
}

// The deepest parsed subcommand's name path ("train", "reproduce merge"), for the --help hint.
std::string command_path(const CLI::App& app) {
  for (const CLI::App* sub : app.get_subcommands()) {
    const std::string rest = command_path(*sub);
    return sub->get_name() + (rest.empty() ? "" : " " + rest);
  }
  return "";
}
}  // namespace

std::string usage_error_message(const CLI::App& app, const CLI::ParseError& e) {
  std::string msg = plain_conversion(app, e.what());
  // CLI11 prints ranges of huge bounds in full; anything else it says is kept as one line.
  for (char& c : msg)
    if (c == '\n') c = ' ';
  const std::string cmd = command_path(app);
  return fmt::format("{} (see lowbit {}--help)", msg, cmd.empty() ? "" : cmd + " ");
}

}  // namespace lowbit::app
