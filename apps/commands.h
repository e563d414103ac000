// The lowbit CLI is one binary with subcommands. Each subcommand lives in its own cmd_<name>.cpp and
// registers itself on the main CLI11 app through a register_<name>() function listed in main.cpp; the
// returned Command runs after parsing when its subcommand was given. A command reports failures by throwing
// lowbit::Error (main prints one line and exits 1); it returns the process exit status otherwise.
#pragma once
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace lowbit::app {

struct Command {
  CLI::App* sub = nullptr;
  std::function<int()> run;
};

Command register_train(CLI::App& app);
Command register_eval(CLI::App& app);
Command register_info(CLI::App& app);
// argc/argv: the command line, recorded in the results' provenance.
Command register_reproduce(CLI::App& app, int argc, char** argv);
Command register_export(CLI::App& app);
Command register_run(CLI::App& app);
Command register_bench_model(CLI::App& app);

// lowbit info on a packed .lbm file (info_lbm.cpp).
int run_info_lbm(const std::string& path);

// Shared helpers (common.cpp).
std::string version_text();  // what `lowbit --version` prints
// The dataset names for CLI::IsMember, and the data dir (--data-dir or the default).
std::vector<std::string> dataset_choices();
std::string resolve_data_dir(const std::string& flag);

}  // namespace lowbit::app
