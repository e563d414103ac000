// Training progress on stderr: a redrawn bar (rate, ETA, loss) when stderr is a terminal, CI is unset and
// progress is not disabled; otherwise a plain log line every `log_every` steps (and at the end of a phase).
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

}  // namespace lowbit::nn
