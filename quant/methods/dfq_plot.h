// The plot of a DFQ run's β trajectories (quant/methods/dfq.h): beta.gp, a gnuplot script reading beta.csv
// (columns step, epoch, avg_bits, one per searched layer), drawn to beta.svg and beta.png in the run directory
// when gnuplot (Debian gnuplot-nox) is installed. The script uses relative names, so it re-renders in place.
#pragma once
#include <string>
#include <vector>

namespace lowbit::quant {

// The gnuplot script for beta.csv with these layer columns; target_bits > 0 draws the target as a line.
std::string beta_plot_script(const std::vector<std::string>& layers, float target_bits);
// Writes <dir>/beta.gp and runs gnuplot in dir. Returns false with the reason in *why when gnuplot is missing or
// fails (the script is written in any case).
bool write_beta_plot(const std::string& dir, const std::vector<std::string>& layers, float target_bits,
                     std::string* why);

}  // namespace lowbit::quant
