// Test support: runs the headtrack binary (HEADTRACK_BINARY, set by the build) as a user would.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace headtrack::test_support {

struct RunResult {
  int exit_code = -1;  // -1 when the process could not be started or did not exit normally
  std::string output;  // standard output and standard error, interleaved
};

// Runs `headtrack <arguments>` through the shell.
inline RunResult RunHeadtrack(const std::string& arguments) {
  const std::string command = std::string(HEADTRACK_BINARY) + " " + arguments + " 2>&1";
  RunResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t read = 0;
  while ((read = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), read);
  }
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace headtrack::test_support
