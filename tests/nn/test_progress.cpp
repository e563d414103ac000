// Progress bar through a pseudo terminal: at 60 and 80 columns no drawn line is wider than the terminal and
// every update overwrites the previous one ('\r', no newline), so a training epoch stays on one screen line.
#include <doctest/doctest.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "nn/train/progress.h"

using namespace lowbit::nn;

namespace {
// Runs a Progress bar in a child whose stderr is a pty of `columns` columns; returns everything it printed.
std::string bar_output_in_pty(int columns, const std::string& label) {
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(columns);
  ws.ws_row = 24;
  int master = -1;
  const pid_t pid = ::forkpty(&master, nullptr, nullptr, &ws);
  REQUIRE(pid >= 0);
  if (pid == 0) {
    Progress p(ProgressMode::bar, label, 5000);
    for (int64_t step = 1000; step <= 5000; step += 1000) {
      std::this_thread::sleep_for(std::chrono::milliseconds(120));  // past the 0.1 s redraw throttle
      p.update(step, 2.302585 / static_cast<double>(step), 0.1234);
    }
    p.finish();
    std::fprintf(stderr, "done\n");
    std::fflush(stderr);
    ::_exit(0);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(master, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EIO once the child has exited and closed the slave
    }
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status));
  return out;
}

// Visible characters of each segment between carriage returns / newlines, escape sequences removed.
std::vector<std::string> visible_segments(const std::string& s) {
  std::vector<std::string> segs(1);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
      i += 2;
      while (i < s.size() && !(s[i] >= '@' && s[i] <= '~')) ++i;  // up to the final byte of a CSI sequence
    } else if (s[i] == '\r' || s[i] == '\n') {
      segs.emplace_back();
    } else {
      segs.back() += s[i];
    }
  }
  return segs;
}

void check_fits(int columns, const std::string& label) {
  CAPTURE(columns);
  CAPTURE(label);
  const std::string out = bar_output_in_pty(columns, label);
  // The only newline is the one printed after finish(); the five updates each start with '\r'.
  const size_t done_at = out.find("done");
  REQUIRE(done_at != std::string::npos);
  CHECK(out.substr(0, done_at).find('\n') == std::string::npos);
  int bars = 0;
  for (const std::string& seg : visible_segments(out.substr(0, done_at))) {
    CAPTURE(seg);
    CHECK(static_cast<int>(seg.size()) < columns);
    if (seg.find('[') != std::string::npos) ++bars;
  }
  CHECK(bars == 5);
  CHECK(out.find("5000/5000") != std::string::npos);
}
}  // namespace

TEST_CASE("progress: the bar fits an 80-column terminal and redraws in place") { check_fits(80, "epoch 12/200"); }

TEST_CASE("progress: the bar fits a 60-column terminal and redraws in place") { check_fits(60, "epoch 12/200"); }

TEST_CASE("progress: a label longer than the terminal is cut, not wrapped") {
  check_fits(60, "epoch 1/1 of a run whose label is much longer than any terminal line can hold, really");
}

TEST_CASE("progress: the line gives up bar cells, then fields, as the width shrinks") {
  const std::string wide = format_bar_line("epoch 1/2", 50, 100, 12.5, 4.0, 0.5, 0.75, 200);
  CHECK(wide == "epoch 1/2 [###############...............] 50/100 loss 0.5000 acc 75.00% eta 4.0s 12.5 it/s");
  for (int cols = 200; cols >= 2; --cols) {
    const std::string line = format_bar_line("epoch 1/2", 50, 100, 12.5, 4.0, 0.5, 0.75, cols);
    CAPTURE(cols);
    CHECK(static_cast<int>(line.size()) <= cols - 1);
  }
  CHECK(format_bar_line("epoch 1/2", 50, 100, 12.5, 4.0, 0.5, 0.75, 60).find("loss 0.5000") != std::string::npos);
}
