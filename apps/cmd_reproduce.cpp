// lowbit reproduce <table> | --grid FILE: trains an experiment grid (lab/grid.h: per-seed fp32 teachers, cells ×
// seeds, in this process; the built-in tables are the data files of lab/grids/) and writes its table —
// results.json, table.md, table.csv with the claims' verdicts, and the figures — into --out. Re-running the same
// command resumes an interrupted grid (finished runs and teachers are reused, an interrupted run continues from
// its checkpoint). --dry-run prints the grid and its time estimate without training. --shard I/N runs one of N
// disjoint parts (a Slurm array task, a GNU parallel job); `lowbit reproduce merge DIR... --out DIR` combines the
// parts into one table (lab/merge.h). --teachers-only trains the teachers once for shards that read them with
// --teachers DIR. `lowbit reproduce replot DIR` draws a finished table's figures again from its results.json.
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "apps/commands.h"
#include "engine/error.h"
#include "lab/grid.h"
#include "lab/merge.h"
#include "lab/runner.h"
#include "nn/train/progress.h"

namespace lowbit::app {

namespace {
struct ReproduceArgs {
  std::string table, grid_file, out, seeds, data_dir, shard, teachers_dir;
  std::vector<std::string> cells;
  bool quick = false, dry_run = false, no_plot = false, teachers_only = false;
  int threads = 0;
  std::string command_line;
  std::vector<std::string> merge_dirs;
  std::string merge_out, replot_dir;
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
  int shard = 0, count = 0;
  if (!a.shard.empty()) {
    try {
      std::tie(shard, count) = lab::parse_shard(a.shard);
    } catch (const Error& e) {
      LOWBIT_CHECK(false, "--shard: {}", e.what());
    }
  }
  LOWBIT_CHECK(!(a.teachers_only && count > 0), "--teachers-only trains every teacher once; it takes no --shard");
  LOWBIT_CHECK(!(a.teachers_only && !a.teachers_dir.empty()), "--teachers-only and --teachers DIR exclude each other");
  LOWBIT_CHECK(!a.teachers_only || !g.teachers.empty(), "--teachers-only: grid '{}' declares no teachers", g.name);
  if (a.dry_run) {
    std::fputs(lab::describe_grid(g, shard, count, a.cells).c_str(), stdout);
    return 0;
  }
  lab::RunnerOptions o;
  std::string dflt = g.variant == "full" ? fmt::format("results/{}", g.name) : fmt::format("results/{}-{}", g.name, g.variant);
  if (count > 0) dflt += fmt::format("/shard-{}-of-{}", shard, count);
  if (a.teachers_only) dflt += "/teachers-pass";
  o.out_dir = !a.out.empty() ? a.out : dflt;
  o.data_dir = resolve_data_dir(a.data_dir);
  o.threads = a.threads;
  o.command_line = a.command_line;
  o.plot = !a.no_plot;
  o.shard = shard;
  o.cells = a.cells;
  o.shard_count = count;
  o.teachers_only = a.teachers_only;
  o.teachers_dir = a.teachers_dir;
  std::fprintf(stderr, "reproduce %s (%s)%s: %zu cells x %zu seeds, %zu teacher%s, estimated %s on an idle 2-core machine -> %s\n",
               g.name.c_str(), g.variant.c_str(), count > 0 ? fmt::format(" shard {}/{}", shard, count).c_str() : "",
               g.cells.size(), g.seeds.size(), g.teachers.size(), g.teachers.size() == 1 ? "" : "s",
               nn::format_duration(lab::estimated_seconds(g)).c_str(), o.out_dir.c_str());
  const lab::GridOutcome r = lab::run_grid(g, o);
  if (!r.plotted && o.plot) std::fprintf(stderr, "warning: no figure: %s\n", r.plot_error.c_str());
  if (!o.plot) std::fprintf(stderr, "no figures rendered (--no-plot); their data and gnuplot scripts are in %s\n", o.out_dir.c_str());
  std::printf("%s: %zu runs (%d trained, %d reused), %zu teacher runs (%d trained, %d reused) in %s -> %s/table.md\n",
              g.name.c_str(), r.runs.size(), r.trained, r.reused, r.teacher_runs.size(), r.teachers_trained,
              r.teachers_reused, nn::format_duration(r.wall_seconds).c_str(), o.out_dir.c_str());
  return 0;
}

int run_merge(const ReproduceArgs& a) {
  lab::MergeOptions m;
  m.dirs = a.merge_dirs;
  m.out_dir = a.merge_out;
  m.command_line = a.command_line;
  m.plot = !a.no_plot;
  const lab::MergeOutcome r = lab::merge_shards(m);
  if (!r.plotted && m.plot) std::fprintf(stderr, "warning: no figure: %s\n", r.plot_error.c_str());
  std::printf("%s (%s): merged %zu shard%s: %zu runs, %zu teacher runs, %zu missing -> %s/table.md\n", r.grid.c_str(),
              r.variant.c_str(), m.dirs.size(), m.dirs.size() == 1 ? "" : "s", r.runs, r.teacher_runs, r.missing,
              m.out_dir.c_str());
  return 0;
}
int run_replot(const ReproduceArgs& a) {
  const lab::MergeOutcome r = lab::replot(a.replot_dir, !a.no_plot);
  if (!r.plotted && !a.no_plot) std::fprintf(stderr, "warning: no figure: %s\n", r.plot_error.c_str());
  std::printf("%s (%s): figures of %zu runs redrawn in %s\n", r.grid.c_str(), r.variant.c_str(), r.runs,
              a.replot_dir.c_str());
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
  s->add_option("--out", a->out,
                "Output directory (default results/<table>, results/<table>-quick with --quick, "
                ".../shard-I-of-N with --shard)");
  s->add_option("--seeds", a->seeds, "Comma-separated seeds (default: the table's, e.g. 1,2,3)");
  s->add_option("--threads", a->threads, "Threads (0 = all cores)")->check(CLI::Range(0, 1024));
  s->add_option("--data-dir", a->data_dir, "Data directory (default $LOWBIT_DATA or <repo>/data)");
  s->add_flag("--dry-run", a->dry_run, "Print the grid and its time estimate; train nothing");
  s->add_flag("--no-plot", a->no_plot, "Do not run gnuplot (the figures' .dat/.gp files are still written)");
  s->add_option("--shard", a->shard,
                "Run part I of N (1 <= I <= N) of the grid's runs, e.g. --shard $SLURM_ARRAY_TASK_ID/4 with "
                "--array=1-4; combine the parts with `lowbit reproduce merge`");
  s->add_option("--cells", a->cells,
                "Train only the cells whose id matches one of these globs (comma-separated, e.g. 'lenet5_*'); other "
                "cells enter the table if they finished earlier in --out, else they are listed missing")
      ->delimiter(',');
  s->add_flag("--teachers-only", a->teachers_only, "Train (or reuse) every teacher of every seed, no cell");
  s->add_option("--teachers", a->teachers_dir,
                "Read the teachers from DIR/teachers/ (trained by --teachers-only --out DIR) instead of training them");
  CLI::App* m = s->add_subcommand("merge", "Combine the output directories of a grid's shards into one table");
  m->add_option("dirs", a->merge_dirs, "The shards' output directories")->required();
  m->add_option("--out", a->merge_out, "Output directory of the merged table")->required();
  m->add_flag("--no-plot", a->no_plot, "Do not run gnuplot (the figures' .dat/.gp files are still written)");
  CLI::App* rp = s->add_subcommand("replot", "Draw a table's figures again from its results.json (no training)");
  rp->add_option("dir", a->replot_dir, "The table's output directory (e.g. results/baselines)")->required();
  rp->add_flag("--no-plot", a->no_plot, "Do not run gnuplot (the figures' .dat/.gp files are still written)");
  return {s, [a, m, rp] { return m->parsed() ? run_merge(*a) : rp->parsed() ? run_replot(*a) : run_reproduce(*a); }};
}

}  // namespace lowbit::app
