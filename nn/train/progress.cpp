#include "nn/train/progress.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

namespace lowbit::nn {

ProgressMode default_progress_mode(bool no_progress) {
  if (no_progress) return ProgressMode::lines;
  const char* ci = std::getenv("CI");
  if (ci && *ci) return ProgressMode::lines;
  return isatty(2) ? ProgressMode::bar : ProgressMode::lines;
}

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  const int64_t t = static_cast<int64_t>(s + 0.5);
  if (t < 3600) return fmt::format("{}:{:02d}", t / 60, t % 60);
  return fmt::format("{}:{:02d}:{:02d}", t / 3600, (t / 60) % 60, t % 60);
}

Progress::Progress(ProgressMode mode, std::string label, int64_t total, int64_t log_every)
    : mode_(mode), label_(std::move(label)), total_(total), log_every_(log_every > 0 ? log_every : 1) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void Progress::update(int64_t done, double loss, double acc) {
  if (mode_ == ProgressMode::quiet) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  const double eta = rate > 0 ? (total_ - done) / rate : 0.0;
  if (mode_ == ProgressMode::lines) {
    if (done % log_every_ != 0 && done != total_) return;
    std::fprintf(stderr, "%s step %lld/%lld | loss %.4f | acc %.2f%% | %.1f ms/step | eta %s\n", label_.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total_), loss, 100.0 * acc,
                 rate > 0 ? 1000.0 / rate : 0.0, format_duration(eta).c_str());
    std::fflush(stderr);
    return;
  }
  // Redraw at most ~10 times a second, and always on the last step.
  if (done != total_ && std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  const int filled = total_ > 0 ? static_cast<int>(kWidth * done / total_) : kWidth;
  std::string bar(filled, '#');
  bar.append(kWidth - filled, '.');
  std::fprintf(stderr, "\r%s [%s] %lld/%lld %.1f it/s eta %s loss %.4f acc %.2f%%\x1b[K", label_.c_str(),
               bar.c_str(), static_cast<long long>(done), static_cast<long long>(total_), rate,
               format_duration(eta).c_str(), loss, 100.0 * acc);
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::finish() {
  if (mode_ == ProgressMode::bar && drawn_) {
    std::fprintf(stderr, "\r\x1b[K");
    std::fflush(stderr);
  }
  drawn_ = false;
}

}  // namespace lowbit::nn
