#include "lab/plot.h"

#include <fmt/format.h>

#include <cmath>
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

namespace {

bool joined(const PlotSeries& ps) { return ps.with == "yerrorlines" || ps.with == "lines"; }

// Point shapes by series colour, so series stay apart where points overlap: filled circle, square, triangles,
// diamond, pentagon, then the open ones.
int point_type(int style) {
  static const int kTypes[] = {7, 5, 9, 11, 13, 15, 4, 6, 8, 10, 12, 14};
  const int n = static_cast<int>(sizeof kTypes / sizeof kTypes[0]);
  return kTypes[((style > 0 ? style : 1) - 1) % n];
}

// How gnuplot draws series s of a panel (colour, shape, line), without its title.
std::string series_style(const PlotSeries& ps, size_t s) {
  const int style = ps.style > 0 ? ps.style : static_cast<int>(s) + 1;
  const std::string how = ps.with == "lines"   ? "lines lw 2"
                          : ps.with == "boxes" ? "boxes"
                                               : fmt::format("{} lw 2 pt {} ps 1.2", ps.with, point_type(style));
  return fmt::format("{} lt {}", how, style);
}

const char* kLineStyle = "lines dt 2 lw 2 lc rgb \"#555555\"";

}  // namespace

std::string render_gnuplot_data(const PlotFigure& fig) {
  std::string d;
  bool first = true;
  for (const PlotSpec& spec : fig.panels) {
    const bool categorical = !spec.xtics.empty();
    const double n = static_cast<double>(spec.series.size());
    for (size_t s = 0; s < spec.series.size(); ++s) {
      const PlotSeries& ps = spec.series[s];
      LOWBIT_CHECK(ps.x.size() == ps.y.size() && (ps.err.empty() || ps.err.size() == ps.y.size()),
                   "plot: series '{}' has {} x, {} y and {} error values", ps.label, ps.x.size(), ps.y.size(),
                   ps.err.size());
      if (!first) d += "\n\n";
      first = false;
      d += fmt::format("# {}\n", ps.label);
      const double offset = categorical ? (static_cast<double>(s) - (n - 1) / 2.0) * spec.dodge : 0.0;
      for (size_t i = 0; i < ps.x.size(); ++i) {
        // One blank line ends a line segment inside a block: no line across a category without a point.
        if (categorical && joined(ps) && i > 0 && std::abs(std::lround(ps.x[i]) - std::lround(ps.x[i - 1])) > 1)
          d += "\n";
        d += fmt::format("{:.6g} {:.6g} {:.6g}\n", ps.x[i] + offset, ps.y[i], ps.err.empty() ? 0.0 : ps.err[i]);
      }
    }
  }
  return d;
}

std::string render_gnuplot_data(const PlotSpec& spec) { return render_gnuplot_data(PlotFigure{"", {spec}}); }

namespace {

// A key entry of a one-key figure: its title and how it is drawn.
struct KeyEntry {
  std::string title, style;
};

enum class KeyMode { own, figure, none };  // the panel's own key; the figure's key (entries given); no key

// One panel's settings and plot command; its series are data blocks first_index, first_index + 1, ...
std::string render_panel(const PlotSpec& spec, const std::string& data_file, size_t first_index, KeyMode key,
                         const std::vector<KeyEntry>& figure_key) {
  std::string g;
  g += "set title " + quote(spec.title) + "\n";
  g += "set xlabel " + quote(spec.xlabel) + "\nset ylabel " + quote(spec.ylabel) + "\n";
  g += "set grid ytics\n";
  g += key == KeyMode::none ? "unset key\n" : "set key outside right top\n";
  g += "unset label\n";
  if (spec.log_x) g += "set logscale x\nset offsets 0, 0, 0, 0\nset autoscale x\n";
  else if (!spec.xtics.empty())
    g += fmt::format("unset logscale x\nset offsets 0, 0, 0, 0\nset xrange [-0.5:{:g}]\n",
                     static_cast<double>(spec.xtics.size()) - 0.5);
  else g += "unset logscale x\nset offsets 0.3, 0.3, 0, 0\nset autoscale x\n";
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
  int label_id = 0;
  for (const PlotLine& l : spec.hlines)
    if (!l.note.empty())
      g += fmt::format("set label {} {} at graph 0.01, first {:g} left offset 0, -0.8 textcolor rgb \"#555555\"\n",
                       ++label_id, quote(l.note), l.y);
  std::vector<std::string> items;
  auto title = [&](const std::string& label) {
    return label.empty() || key != KeyMode::own ? std::string("notitle") : "title " + quote(label);
  };
  for (size_t s = 0; s < spec.series.size(); ++s) {
    const PlotSeries& ps = spec.series[s];
    const bool errors = ps.with == "yerrorlines" || ps.with == "yerrorbars";
    items.push_back(fmt::format("{} index {} using 1:2{} with {} {}", quote(data_file), first_index + s,
                                errors ? ":3" : "", series_style(ps, s), title(ps.label)));
  }
  for (const PlotLine& l : spec.hlines) items.push_back(fmt::format("{:g} with {} {}", l.y, kLineStyle, title(l.label)));
  if (key == KeyMode::figure)  // the figure's key: entries drawn as key samples only
    for (const KeyEntry& e : figure_key) items.push_back(fmt::format("keyentry with {} title {}", e.style, quote(e.title)));
  std::string plot = "plot ";
  for (size_t i = 0; i < items.size(); ++i) plot += (i ? ", \\\n     " : "") + items[i];
  return g + plot + "\n";
}

// Every labelled series and line of a figure, first seen first, once per title.
std::vector<KeyEntry> figure_key(const PlotFigure& fig) {
  std::vector<KeyEntry> key;
  auto add = [&](const std::string& title, const std::string& style) {
    if (title.empty()) return;
    for (const KeyEntry& e : key)
      if (e.title == title) return;
    key.push_back({title, style});
  };
  for (const PlotSpec& p : fig.panels)
    for (size_t s = 0; s < p.series.size(); ++s) add(p.series[s].label, series_style(p.series[s], s));
  for (const PlotSpec& p : fig.panels)
    for (const PlotLine& l : p.hlines) add(l.label, kLineStyle);
  return key;
}

}  // namespace

std::string render_gnuplot_script(const PlotFigure& fig, const std::string& data_file, const std::string& out_stem) {
  LOWBIT_CHECK(!fig.panels.empty(), "plot: a figure needs at least one panel");
  const bool multi = fig.panels.size() > 1;
  const bool one_key = fig.one_key && multi;
  const std::vector<KeyEntry> key = one_key ? figure_key(fig) : std::vector<KeyEntry>{};
  std::string body;
  if (multi) body += fmt::format("set multiplot layout {},1 title {}\n", fig.panels.size(), quote(fig.title));
  // One key: the same plot area in every panel (the key sits in the right margin of the first).
  if (one_key) body += "set lmargin at screen 0.08\nset rmargin at screen 0.74\n";
  size_t index = 0;
  for (size_t p = 0; p < fig.panels.size(); ++p) {
    const KeyMode mode = !one_key ? KeyMode::own : p == 0 ? KeyMode::figure : KeyMode::none;
    body += render_panel(fig.panels[p], data_file, index, mode, key);
    index += fig.panels[p].series.size();
  }
  if (multi) body += "unset multiplot\n";
  if (one_key) body += "set lmargin -1\nset rmargin -1\n";
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
