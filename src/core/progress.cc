#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "headtrack/error.h"

namespace headtrack {
namespace {
std::atomic<bool> g_quiet{false};
}

void Progress::SetQuiet(bool quiet) { g_quiet = quiet; }

Progress::Progress(std::string label, long total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      terminal_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_print_(start_) {
  HT_CHECK(total > 0, "total " << total);
}

Progress::~Progress() { Finish(); }

void Progress::Advance(long steps) {
  done_ = std::min(total_, done_ + steps);
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_print_).count();
  if (since_last >= (terminal_ ? 0.1 : 1.0) || done_ == total_) {
    last_print_ = now;
    Print(false);
  }
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  Print(true);
}

void Progress::Print(bool final_line) {
  if (g_quiet) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  const double left = rate > 0 ? (total_ - done_) / rate : 0.0;
  const int percent = static_cast<int>(100.0 * done_ / total_);
  if (terminal_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done_ / total_);
    std::fprintf(stderr, "\r%s [%.*s%*s] %3d%% %ld/%ld %s, %.1f %s/s, %.0f s left ",
                 label_.c_str(), filled, "##############################", kWidth - filled, "",
                 percent, done_, total_, unit_.c_str(), rate, unit_.c_str(), left);
    if (final_line) std::fputc('\n', stderr);
  } else if (done_ != last_printed_done_) {
    std::fprintf(stderr, "%s: %ld/%ld %s (%d%%), %.1f %s/s, %.0f s left\n", label_.c_str(), done_,
                 total_, unit_.c_str(), percent, rate, unit_.c_str(), left);
  }
  last_printed_done_ = done_;
  std::fflush(stderr);
}

}  // namespace headtrack
