// Command-line usage errors (CLI11's ParseError) as one plain line: "lowbit: error: --epochs: 'abc' is not a
// whole number (see lowbit train --help)", exit status 2 — instead of CLI11's two lines ("Could not convert:
// --epochs = abc" / "Run with --help ...") and its exit codes 105–114.
#pragma once
#include <string>

#include <CLI/CLI.hpp>

namespace lowbit::app {

constexpr int kUsageExitStatus = 2;

// The message for e, raised while parsing app's command line (argv is used to name the subcommand).
std::string usage_error_message(const CLI::App& app, const CLI::ParseError& e);

}  // namespace lowbit::app
