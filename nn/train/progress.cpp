#include "nn/train/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
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

int terminal_columns() {
  winsize ws{};
  if (::ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.1f}s", s);
  const int64_t t = static_cast<int64_t>(s + 0.5);
  if (t < 3600) return fmt::format("{}:{:02d}", t / 60, t % 60);
  return fmt::format("{}:{:02d}:{:02d}", t / 3600, (t / 60) % 60, t % 60);
}

std::string format_bar_line(const std::string& label, int64_t done, int64_t total, double rate, double eta,
                            double loss, double acc, int columns) {
  // One column stays free: a line that fills the last column would wrap on some terminals.
  const size_t room = static_cast<size_t>(std::max(columns - 1, 1));
  const std::string count = fmt::format("{}/{}", done, total);
  // Optional fields, most important first; the bar and then fields from the end give way to a narrow terminal.
  const std::string fields[] = {fmt::format("loss {:.4f}", loss), fmt::format("acc {:.2f}%", 100.0 * acc),
                                fmt::format("eta {}", format_duration(eta)), fmt::format("{:.1f} it/s", rate)};
  constexpr int kMaxBar = 30, kMinBar = 10;
  for (int keep = 4; keep >= 0; --keep) {
    std::string tail = " " + count;
    for (int f = 0; f < keep; ++f) tail += " " + fields[f];
    std::string shown = label;
    const size_t others = 3 + tail.size();  // " [", "]", tail
    if (shown.size() + others + kMinBar > room) {
      if (keep > 0) continue;
      shown.resize(room > others + kMinBar ? room - others - kMinBar : 0);  // the label gives way last
    }
    const size_t fixed = shown.size() + others;
    const int width = static_cast<int>(std::min<size_t>(kMaxBar, room > fixed ? room - fixed : 0));
    const int filled = total > 0 ? static_cast<int>(width * std::clamp<int64_t>(done, 0, total) / total) : width;
    std::string line = shown + " [" + std::string(filled, '#') + std::string(width - filled, '.') + "]" + tail;
    if (line.size() > room) line.resize(room);  // only a very long label or a tiny terminal gets here
    return line;
  }
  return {};
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
  // Redraw at most ~10 times a second, and always on the last step. The width is read on every redraw, so a
  // resized terminal gets a line that fits from the next update on.
  if (done != total_ && std::chrono::duration<double>(now - last_draw_).count() < 0.1) return;
  last_draw_ = now;
  const std::string line = format_bar_line(label_, done, total_, rate, eta, loss, acc, terminal_columns());
  std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
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
