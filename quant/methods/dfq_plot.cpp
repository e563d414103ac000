#include "quant/methods/dfq_plot.h"

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "nn/archive.h"

namespace lowbit::quant {

namespace {
std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}
}  // namespace

std::string beta_plot_script(const std::vector<std::string>& layers, float target_bits) {
  std::string s =
      "# beta.csv of a DFQ run: each searched layer's mean bit width (beta) and the average over the weights\n"
      "set datafile separator ','\n"
      "set key outside right top noenhanced\n"
      "set xlabel 'training step'\n"
      "set ylabel 'bit width (beta)'\n"
      "set grid\n"
      "set title 'DFQ search: bit width per layer' noenhanced\n";
  std::string plot = "plot 'beta.csv' using 1:3 with lines lw 3 lc rgb 'black' title 'average (weighted)'";
  for (size_t i = 0; i < layers.size(); ++i)
    plot += fmt::format(", '' using 1:{} with lines lw 1.5 title '{}'", i + 4, layers[i]);
  if (target_bits > 0.0f) plot += fmt::format(", {} with lines dt 2 lc rgb 'red' title 'target'", target_bits);
  for (const char* term : {"svg size 900,540 dynamic background rgb 'white'", "pngcairo size 900,540"}) {
    const std::string ext = std::string(term).rfind("svg", 0) == 0 ? "svg" : "png";
    s += fmt::format("set terminal {}\nset output 'beta.{}'\n{}\nunset output\n", term, ext, plot);
  }
  return s;
}

bool write_beta_plot(const std::string& dir, const std::vector<std::string>& layers, float target_bits,
                     std::string* why) {
  const std::string script = beta_plot_script(layers, target_bits);
  nn::write_file_atomic(dir + "/beta.gp", script.data(), script.size());
  const std::string cmd = "cd " + shell_quote(dir) + " && gnuplot beta.gp 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string output;
  int rc = -1;
  if (p) {
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) output += buf;
    rc = pclose(p);
  }
  std::error_code ec;
  const bool ok = rc == 0 && std::filesystem::exists(dir + "/beta.svg", ec) && std::filesystem::exists(dir + "/beta.png", ec);
  if (!ok && why) *why = rc == -1 ? "could not run gnuplot" : fmt::format("gnuplot failed: {}", output);
  return ok;
}

}  // namespace lowbit::quant
