// Progress of long work on standard error: a bar with rate and time left on a terminal, plain
// lines (at most about one per second, and the last) when standard error is not a terminal.
#pragma once

#include <chrono>
#include <string>

namespace headtrack {

class Progress {
 public:
  // total: the number of steps (> 0). unit: what a step is ("frames", "meshes").
  Progress(std::string label, long total, std::string unit = "steps");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Advance(long steps = 1);
  // Ends the line; called by the destructor if not before.
  void Finish();

  // Quiet mode for tests and --quiet: nothing is printed.
  static void SetQuiet(bool quiet);

 private:
  void Print(bool final_line);

  std::string label_;
  std::string unit_;
  long total_;
  long done_ = 0;
  long last_printed_done_ = -1;
  bool finished_ = false;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
};

}  // namespace headtrack
