// The README says what is built: its "Use it as a library" program is tests/install_consumer/classify.cpp (built
// and run against an installed lowbit by the ctest "install: consumer"), and its "Training flags" table lists every
// flag of `lowbit train --help`, and no flag that command does not have.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "../support/cli_runner.h"

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  REQUIRE_MESSAGE(f.good(), "cannot read " << path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The text of the README section "## <title>" up to the next "## " heading; empty if there is none.
std::string section(const std::string& readme, const std::string& title) {
  const std::string head = "\n## " + title + "\n";
  const size_t begin = readme.find(head);
  if (begin == std::string::npos) return "";
  const size_t end = readme.find("\n## ", begin + head.size());
  return readme.substr(begin + head.size(), end == std::string::npos ? std::string::npos : end - begin - head.size());
}

// Long option names ("--epochs") at the start of each option line of a CLI11 help text.
std::set<std::string> help_flags(const std::string& help) {
  std::set<std::string> flags;
  const std::regex option(R"(^\s+(?:-\w,)?(--[a-z0-9][a-z0-9-]*))");
  std::istringstream in(help);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, option) && m[1] != "--help" && m[1] != "--help-all") flags.insert(m[1]);
  }
  return flags;
}

// The flags a markdown table names in its first column: rows "| `--flag ...` |" (several flags may share a row:
// "| `--wbits`, `--abits` |").
std::set<std::string> table_flags(const std::string& text) {
  std::set<std::string> flags;
  std::istringstream in(text);
  std::string line;
  const std::regex flag(R"(`(--[a-z0-9][a-z0-9-]*))");
  while (std::getline(in, line)) {
    if (line.rfind("| `--", 0) != 0) continue;
    const std::string first = line.substr(0, line.find('|', 1));
    for (std::sregex_iterator it(first.begin(), first.end(), flag), end; it != end; ++it) flags.insert((*it)[1]);
  }
  return flags;
}

}  // namespace

TEST_CASE("README: the library example is tests/install_consumer/classify.cpp, verbatim") {
  const std::string readme = slurp(std::string(LOWBIT_SOURCE_DIR) + "/README.md");
  const std::string lib = section(readme, "Use it as a library");
  REQUIRE_MESSAGE(!lib.empty(), "README.md has no section '## Use it as a library'");
  const std::string open = "```cpp\n";
  const size_t begin = lib.find(open);
  REQUIRE_MESSAGE(begin != std::string::npos, "the section quotes no ```cpp block");
  const size_t end = lib.find("```", begin + open.size());
  REQUIRE(end != std::string::npos);
  const std::string quoted = lib.substr(begin + open.size(), end - begin - open.size());
  CHECK(quoted == slurp(std::string(LOWBIT_SOURCE_DIR) + "/tests/install_consumer/classify.cpp"));
  CHECK(lib.find("find_package(lowbit") != std::string::npos);
}

TEST_CASE("README: the training-flags table lists every flag of lowbit train --help, and only those") {
  const lowbit::test::CliRun help = lowbit::test::run_lowbit("train --help");
  REQUIRE(help.status == 0);
  const std::set<std::string> flags = help_flags(help.out);
  REQUIRE_MESSAGE(flags.size() > 40, "parsed only " << flags.size() << " flags from:\n" << help.out);
  CHECK(flags.count("--epochs") == 1);
  CHECK(flags.count("--dfq-bmax") == 1);
  const std::string readme = slurp(std::string(LOWBIT_SOURCE_DIR) + "/README.md");
  const std::string table = section(readme, "Training flags");
  REQUIRE_MESSAGE(!table.empty(), "README.md has no section '## Training flags'");
  const std::set<std::string> documented = table_flags(table);
  for (const std::string& f : flags) CHECK_MESSAGE(documented.count(f) == 1, f << " is missing from the README's table");
  for (const std::string& f : documented) CHECK_MESSAGE(flags.count(f) == 1, f << " is in the README's table but not in lowbit train --help");
}
