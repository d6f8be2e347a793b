// Wall-clock time for the seconds fields of the Summary structs: a Stopwatch starts when it is
// made (or restarted), and seconds() is the time since then.
#pragma once

#include <chrono>

namespace headtrack {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}

  void Restart() { start_ = std::chrono::steady_clock::now(); }
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace headtrack
