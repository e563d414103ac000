// lowbit reproduce <table> | --grid FILE: trains an experiment grid (lab/grid.h: cells × seeds, in this process;
// the built-in tables are the data files of lab/grids/) and writes its table — results.json, table.md,
// table.csv and the accuracy-vs-bits figure — into --out. Re-running the same command resumes an interrupted
// grid (finished runs are reused, an interrupted run continues from its checkpoint). --dry-run prints the grid
// and its time estimate without training.
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "engine/error.h"
#include "lab/grid.h"
#include "lab/runner.h"
#include "nn/train/progress.h"

namespace lowbit::app {

namespace {
struct ReproduceArgs {
  std::string table, grid_file, out, seeds, data_dir;
  bool quick = false, dry_run = false, no_plot = false;
  int threads = 0;
  std::string command_line;
};

lab::Grid load_grid(const ReproduceArgs& a) {
  LOWBIT_CHECK(a.table.empty() != a.grid_file.empty(), "reproduce: give a table name or --grid FILE (not both)");
  if (!a.table.empty()) return lab::load_named_grid(a.table, a.quick);
  LOWBIT_CHECK(!a.quick, "--quick picks a built-in table's quick file; with --grid, give that file instead");
  return lab::load_grid_file(a.grid_file);
}

int run_reproduce(const ReproduceArgs& a) {
  lab::Grid g = load_grid(a);
  if (!a.seeds.empty()) {
    try {
      g.seeds = lab::parse_seeds(a.seeds);
    } catch (const Error& e) {
      LOWBIT_CHECK(false, "--seeds: {}", e.what());
    }
  }
  lab::validate_grid(g);
  if (a.dry_run) {
    std::fputs(lab::describe_grid(g).c_str(), stdout);
    return 0;
  }
  lab::RunnerOptions o;
  o.out_dir = !a.out.empty()            ? a.out
              : g.variant == "full"     ? fmt::format("results/{}", g.name)
                                        : fmt::format("results/{}-{}", g.name, g.variant);
  o.data_dir = resolve_data_dir(a.data_dir);
  o.threads = a.threads;
  o.command_line = a.command_line;
  o.plot = !a.no_plot;
  std::fprintf(stderr, "reproduce %s (%s): %zu cells x %zu seeds, estimated %s on an idle 2-core machine -> %s\n",
               g.name.c_str(), g.variant.c_str(), g.cells.size(), g.seeds.size(),
               nn::format_duration(lab::estimated_seconds(g)).c_str(), o.out_dir.c_str());
  const lab::GridOutcome r = lab::run_grid(g, o);
  if (!r.plotted && o.plot) std::fprintf(stderr, "warning: no figure: %s\n", r.plot_error.c_str());
  std::printf("%s: %zu runs (%d trained, %d reused) in %s -> %s/table.md\n", g.name.c_str(), r.runs.size(), r.trained,
              r.reused, nn::format_duration(r.wall_seconds).c_str(), o.out_dir.c_str());
  return 0;
}
}  // namespace

Command register_reproduce(CLI::App& app, int argc, char** argv) {
  auto a = std::make_shared<ReproduceArgs>();
  // argv[0] by its file name only: the provenance must not carry the machine's install path.
  a->command_line = argc > 0 ? std::filesystem::path(argv[0]).filename().string() : std::string("lowbit");
  for (int i = 1; i < argc; ++i) a->command_line += " " + std::string(argv[i]);
  CLI::App* s = app.add_subcommand("reproduce", "Train a named table's grid (cells x seeds) and write its results");
  std::string tables;
  for (const std::string& n : lab::grid_names()) tables += (tables.empty() ? "" : ", ") + n;
  s->add_option("table", a->table, "Table to reproduce (a grid of lab/grids/): " + tables);
  s->add_option("--grid", a->grid_file, "A grid file of your own (the schema of lab/grids/README.md) instead of a table");
  s->add_flag("--quick", a->quick, "The few-minute variant (fewer cells, seeds and epochs)");
  s->add_option("--out", a->out, "Output directory (default results/<table>, results/<table>-quick with --quick)");
  s->add_option("--seeds", a->seeds, "Comma-separated seeds (default: the table's, e.g. 1,2,3)");
  s->add_option("--threads", a->threads, "Threads (0 = all cores)")->check(CLI::Range(0, 1024));
  s->add_option("--data-dir", a->data_dir, "Data directory (default $LOWBIT_DATA or <repo>/data)");
  s->add_flag("--dry-run", a->dry_run, "Print the grid and its time estimate; train nothing");
  s->add_flag("--no-plot", a->no_plot, "Do not run gnuplot (its .dat/.gp files are still written)");
  return {s, [a] { return run_reproduce(*a); }};
}

}  // namespace lowbit::app
