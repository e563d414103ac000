#include "lab/plot.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engine/error.h"
#include "nn/archive.h"

namespace lowbit::lab {

namespace {

std::string quote(const std::string& s) {  // a gnuplot double-quoted string
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string render_gnuplot_data(const PlotFigure& fig) {
  std::string d;
  bool first = true;
  for (const PlotSpec& spec : fig.panels)
    for (const PlotSeries& ps : spec.series) {
      LOWBIT_CHECK(ps.x.size() == ps.y.size() && (ps.err.empty() || ps.err.size() == ps.y.size()),
                   "plot: series '{}' has {} x, {} y and {} error values", ps.label, ps.x.size(), ps.y.size(),
                   ps.err.size());
      if (!first) d += "\n\n";
      first = false;
      d += fmt::format("# {}\n", ps.label);
      for (size_t i = 0; i < ps.x.size(); ++i)
        d += fmt::format("{:.6g} {:.6g} {:.6g}\n", ps.x[i], ps.y[i], ps.err.empty() ? 0.0 : ps.err[i]);
    }
  return d;
}

std::string render_gnuplot_data(const PlotSpec& spec) { return render_gnuplot_data(PlotFigure{"", {spec}}); }

namespace {
// One panel's settings and plot command; its series are data blocks first_index, first_index + 1, ...
std::string render_panel(const PlotSpec& spec, const std::string& data_file, size_t first_index) {
  std::string g;
  g += "set title " + quote(spec.title) + "\n";
  g += "set xlabel " + quote(spec.xlabel) + "\nset ylabel " + quote(spec.ylabel) + "\n";
  g += "set grid ytics\nset key outside right top\n";
  g += spec.log_x ? "set logscale x\nset offsets 0, 0, 0, 0\n" : "unset logscale x\nset offsets 0.3, 0.3, 0, 0\n";
  if (spec.box_width > 0) g += fmt::format("set boxwidth {:g}\nset style fill solid 0.7 border -1\nset yrange [0:*]\n", spec.box_width);
  else g += "set style fill empty\nset autoscale y\n";
  if (!spec.xtics.empty()) {
    g += "set xtics (";
    for (size_t i = 0; i < spec.xtics.size(); ++i)
      g += fmt::format("{}{} {}", i ? ", " : "", quote(spec.xtics[i]), i);
    g += ")\n";
  } else {
    g += "set xtics autofreq\n";
  }
  std::string plot = "plot ";
  for (size_t s = 0; s < spec.series.size(); ++s) {
    if (s) plot += ", \\\n     ";
    const PlotSeries& ps = spec.series[s];
    const bool errors = ps.with == "yerrorlines" || ps.with == "yerrorbars";
    const std::string how = ps.with == "lines" ? "lines lw 2" : ps.with == "boxes" ? "boxes" : ps.with + " lw 2 pt 7";
    plot += fmt::format("{} index {} using 1:2{} with {}{} {}", quote(data_file), first_index + s, errors ? ":3" : "", how,
                        ps.style > 0 ? fmt::format(" lt {}", ps.style) : "",
                        ps.label.empty() ? std::string("notitle") : "title " + quote(ps.label));
  }
  for (const PlotLine& l : spec.hlines)
    plot += fmt::format("{}{:g} with lines dt 2 lw 2 lc rgb \"#555555\" title {}", spec.series.empty() ? "" : ", \\\n     ",
                        l.y, quote(l.label));
  return g + plot + "\n";
}
}  // namespace

std::string render_gnuplot_script(const PlotFigure& fig, const std::string& data_file, const std::string& out_stem) {
  LOWBIT_CHECK(!fig.panels.empty(), "plot: a figure needs at least one panel");
  const bool multi = fig.panels.size() > 1;
  std::string body;
  if (multi) body += fmt::format("set multiplot layout {},1 title {}\n", fig.panels.size(), quote(fig.title));
  size_t index = 0;
  for (const PlotSpec& p : fig.panels) {
    body += render_panel(p, data_file, index);
    index += p.series.size();
  }
  if (multi) body += "unset multiplot\n";
  const int height = fig.panel_height * static_cast<int>(fig.panels.size());
  std::string g;
  g += fmt::format("set terminal svg size {},{} dynamic enhanced font 'Helvetica,13'\n", fig.width, height);
  g += "set output " + quote(out_stem + ".svg") + "\n" + body;
  g += fmt::format("set terminal pngcairo size {},{} enhanced font 'Helvetica,11'\n", fig.width, height);
  g += "set output " + quote(out_stem + ".png") + "\n" + body;
  g += "unset output\n";
  return g;
}

std::string render_gnuplot_script(const PlotSpec& spec, const std::string& data_file, const std::string& out_stem) {
  return render_gnuplot_script(PlotFigure{"", {spec}}, data_file, out_stem);
}

bool write_plot(const std::string& dir, const std::string& stem, const PlotSpec& spec, std::string* why, bool render) {
  return write_plot(dir, stem, PlotFigure{"", {spec}}, why, render);
}

bool write_plot(const std::string& dir, const std::string& stem, const PlotFigure& spec, std::string* why, bool render) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  LOWBIT_CHECK(!ec, "plot: cannot create directory '{}': {}", dir, ec.message());
  const std::string base = dir + "/" + stem;
  const std::string data = render_gnuplot_data(spec);
  nn::write_file_atomic(base + ".dat", data.data(), data.size());
  // Render into temporary names first and rename, so a failed gnuplot never leaves a half-written figure.
  const std::string tmp_stem = base + ".tmp-render";
  const std::string script = render_gnuplot_script(spec, base + ".dat", tmp_stem);
  const std::string final_script = render_gnuplot_script(spec, stem + ".dat", stem);  // relative: re-runnable in dir
  nn::write_file_atomic(base + ".gp", final_script.data(), final_script.size());
  if (!render) {
    if (why) *why = "plotting disabled";
    return false;
  }
  const std::string tmp_script = base + ".tmp-render.gp";
  nn::write_file_atomic(tmp_script, script.data(), script.size());
  const std::string cmd = "gnuplot " + shell_quote(tmp_script) + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string output;
  int rc = -1;
  if (p) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) output += buf;
    rc = pclose(p);
  }
  std::filesystem::remove(tmp_script, ec);
  const bool ok = rc == 0 && std::filesystem::exists(tmp_stem + ".svg") && std::filesystem::exists(tmp_stem + ".png");
  if (ok) {
    std::filesystem::rename(tmp_stem + ".svg", base + ".svg", ec);
    if (!ec) std::filesystem::rename(tmp_stem + ".png", base + ".png", ec);
    if (!ec) return true;
  }
  std::filesystem::remove(tmp_stem + ".svg", ec);
  std::filesystem::remove(tmp_stem + ".png", ec);
  if (why) *why = rc == -1 ? "could not run gnuplot" : fmt::format("gnuplot failed: {}", output);
  return false;
}

}  // namespace lowbit::lab
