// Plots for experiment tables, drawn by gnuplot (Debian gnuplot-nox): the data and the script are written next to
// the figures (<stem>.dat, <stem>.gp) so a reader can re-render or restyle them.
#pragma once
#include <string>
#include <vector>

namespace lowbit::lab {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y, err;  // err: half-height of the error bar (e.g. std over seeds); may be empty
  int style = 0;  // gnuplot line type (colour) 1, 2, ...; 0 = by position. Keeps a method's colour across panels.
  // How gnuplot draws it: "yerrorlines" (points, error bars, joined), "yerrorbars" (points and error bars only),
  // "lines" (joined, no points), "boxes" (bars). An empty label draws it without a key entry.
  std::string with = "yerrorlines";
};

// A horizontal reference line across a panel (e.g. the fp32 accuracy), dashed grey.
struct PlotLine {
  double y = 0.0;
  std::string label;  // its key entry ("" = none)
  std::string note;   // text written under the line at the panel's left edge (e.g. its value); "" = none
};

struct PlotSpec {
  std::string title, xlabel, ylabel;
  // Categorical x axis: when non-empty, x values are indices into these labels (e.g. "W1A1", "W2A2").
  std::vector<std::string> xtics;
  std::vector<PlotSeries> series;
  std::vector<PlotLine> hlines;
  bool log_x = false;
  double box_width = 0.0;  // > 0: the width of "boxes" series (grouped bars)
  // Categorical axis: series s of n is drawn at x + (s − (n − 1) / 2)·dodge, so series with a point at the same
  // category stay visible side by side (each also has its own point shape). 0 = no offset.
  double dodge = 0.0;
};
// On a categorical axis a joined series ("yerrorlines", "lines") is broken where it skips a category: no line
// is drawn across a category in which the series has no point.

// Several plots stacked in one figure (gnuplot multiplot), e.g. one panel per model / data set.
struct PlotFigure {
  std::string title;
  std::vector<PlotSpec> panels;
  int width = 900, panel_height = 540;
  // One key for the whole figure, beside the first panel: every series and line label of every panel (first
  // seen first, with its colour, shape and dash), none on the other panels; all panels get the same margins so
  // their x axes line up. Off: each panel has its own key.
  bool one_key = false;
};

// The gnuplot script for `spec` writing <out_stem>.svg and <out_stem>.png from <data_file>.
std::string render_gnuplot_script(const PlotSpec& spec, const std::string& data_file, const std::string& out_stem);
std::string render_gnuplot_script(const PlotFigure& fig, const std::string& data_file, const std::string& out_stem);
// Gnuplot data: one block per series (separated by two blank lines), columns x y err; a figure's panels follow
// each other, so panel p's series s is block (Σ series of earlier panels) + s.
std::string render_gnuplot_data(const PlotSpec& spec);
std::string render_gnuplot_data(const PlotFigure& fig);
// Writes <dir>/<stem>.{dat,gp} and, when render is on, runs gnuplot to make <dir>/<stem>.{svg,png}. Returns true
// when the figures were rendered; false (with the reason in *why: gnuplot not installed or failing, or "plotting
// disabled") otherwise. The .dat/.gp files are written in any case.
bool write_plot(const std::string& dir, const std::string& stem, const PlotSpec& spec, std::string* why = nullptr,
                bool render = true);
bool write_plot(const std::string& dir, const std::string& stem, const PlotFigure& fig, std::string* why = nullptr,
                bool render = true);

}  // namespace lowbit::lab
