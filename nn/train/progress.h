// Training progress on stderr: a redrawn bar (rate, ETA, loss) when stderr is a terminal, CI is unset and
// progress is not disabled; otherwise a plain log line every `log_every` steps (and at the end of a phase).
// The bar is redrawn in place ('\r' + erase to end of line) and fits the terminal's width (TIOCGWINSZ on
// stderr, 80 columns when unknown), so a narrow terminal never wraps it into a stale line per update.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace lowbit::nn {

enum class ProgressMode { bar, lines, quiet };
// bar if isatty(2) && $CI unset && !no_progress; lines otherwise.
ProgressMode default_progress_mode(bool no_progress);

class Progress {
 public:
  Progress(ProgressMode mode, std::string label, int64_t total, int64_t log_every = 100);
  // Step `done` of `total` finished; loss and accuracy are running means of the phase.
  void update(int64_t done, double loss, double acc);
  void finish();  // clears the bar line (the caller prints the epoch summary)

 private:
  ProgressMode mode_;
  std::string label_;
  int64_t total_, log_every_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

std::string format_duration(double seconds);  // "1:02:03", "2:03", "5.1s"

// Columns of the terminal on stderr (TIOCGWINSZ), 80 when stderr is not a terminal or reports none.
int terminal_columns();
// The bar line without control characters, at most columns − 1 characters long: the bar shrinks first (30 to
// 10 cells), then rate, eta, accuracy and loss are dropped in that order, then the label is cut.
std::string format_bar_line(const std::string& label, int64_t done, int64_t total, double rate, double eta,
                            double loss, double acc, int columns);

}  // namespace lowbit::nn
