// The one way tests run the built `lowbit` binary: run_lowbit("train --epochs 1 ...") runs it as a child process
// (with CI=1, so no progress bar) and returns its exit status, its stdout and its stderr. Header-only
// (tests/support/).
#pragma once
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace lowbit::test {

// The binary the build made (LOWBIT_BINARY_DIR is defined for every test executable).
inline std::string lowbit_binary() { return std::string(LOWBIT_BINARY_DIR) + "/apps/lowbit"; }

struct CliRun {
  int status = -1;  // exit status; -1 if the process was killed by a signal
  std::string out;  // stdout
  std::string err;  // stderr
  std::string all() const { return out + err; }
};

// Runs `lowbit <args>` through the shell (args is shell text: quote paths). env: "VAR=value ..." set for the
// child only. REQUIREs that the binary exists.
inline CliRun run_lowbit(const std::string& args, const std::string& env = "") {
  const std::string bin = lowbit_binary();
  REQUIRE_MESSAGE(std::filesystem::exists(bin), "build the CLI first: " << bin);
  static int calls = 0;
  const std::filesystem::path err_file = std::filesystem::temp_directory_path() /
                                         ("lowbit_cli_stderr_" + std::to_string(::getpid()) + "_" + std::to_string(++calls));
  const std::string cmd = env + (env.empty() ? "" : " ") + "CI=1 '" + bin + "' " + args + " 2>'" + err_file.string() + "'";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  CliRun r;
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream e(err_file);
  std::stringstream ss;
  ss << e.rdbuf();
  r.err = ss.str();
  std::error_code ec;
  std::filesystem::remove(err_file, ec);
  return r;
}

}  // namespace lowbit::test
