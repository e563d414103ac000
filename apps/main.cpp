// lowbit: train, evaluate and inspect binary / ternary / low-bit networks. See README.md for the commands.
#include <cstdio>
#include <exception>

#include "apps/commands.h"
#include "apps/omp_defaults.h"
#include "apps/usage_error.h"
#include "engine/error.h"
#include "kernels/isa.h"

int main(int argc, char** argv) {
  using namespace lowbit::app;
  apply_omp_wait_default(argv);  // may re-execute the process once (apps/omp_defaults.h)
  CLI::App app{"lowbit: binary, ternary and low-bit neural networks on CPU", "lowbit"};
  app.set_help_all_flag("--help-all", "Print help for every subcommand");
  bool show_version = false;
  app.add_flag("--version", show_version, "Print version, git revision, compiler and the active ISA");

  // One line per subcommand.
  const Command commands[] = {register_train(app),  register_eval(app), register_info(app),
                              register_reproduce(app, argc, argv), register_export(app), register_run(app),
                              register_bench_model(app)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --help-all
    std::fprintf(stderr, "lowbit: error: %s\n", usage_error_message(app, e).c_str());
    return kUsageExitStatus;
  }
  if (show_version) {
    std::fputs(version_text().c_str(), stdout);
    return 0;
  }
  // A bad LOWBIT_ISA would silently fall back to another kernel set: say so before doing any work.
  if (const char* err = lowbit::kernels::isa_forced_error()) {
    std::fprintf(stderr, "lowbit: error: %s\n", err);
    return kUsageExitStatus;
  }
  try {
    for (const Command& c : commands)
      if (c.sub->parsed()) return c.run();
    std::fputs(app.help().c_str(), stdout);
    return 0;
  } catch (const lowbit::Error& e) {
    std::fprintf(stderr, "lowbit: error: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lowbit: error: %s\n", e.what());
  }
  return 1;
}
