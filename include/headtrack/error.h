// Errors in three tiers (see ARCHITECTURE.md):
//  - programmer errors: HT_CHECK, on in every build type, throws CheckError (a logic_error);
//  - bad input and I/O: Error / InputError, whose message names the file, the field and what was
//    expected;
//  - numerical outcomes (no convergence, a lost frame) are reported in an algorithm's Summary.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace headtrack {

// Bad input or a failed I/O operation. The message is meant for the user.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Bad content of a named file (or other named input). what() is "<source>: <problem>".
class InputError : public Error {
 public:
  InputError(const std::string& source, const std::string& problem)
      : Error(source + ": " + problem), source_(source), problem_(problem) {}
  const std::string& source() const { return source_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string source_;
  std::string problem_;
};

// A broken precondition: a bug in the caller, never the user's input.
class CheckError : public std::logic_error {
 public:
  explicit CheckError(const std::string& message) : std::logic_error(message) {}
};

namespace internal {
[[noreturn]] void ThrowCheckError(const char* file, int line, const char* condition,
                                  const std::string& message);
}  // namespace internal

}  // namespace headtrack

// HT_CHECK(condition) or HT_CHECK(condition, "message " << value): stays on in release builds.
#define HT_CHECK(condition, ...)                                                         \
  do {                                                                                   \
    if (!(condition)) [[unlikely]] {                                                     \
      std::ostringstream ht_check_stream_;                                               \
      ht_check_stream_ << "" __VA_OPT__(<< __VA_ARGS__);                                 \
      ::headtrack::internal::ThrowCheckError(__FILE__, __LINE__, #condition,             \
                                             ht_check_stream_.str());                    \
    }                                                                                    \
  } while (false)

// Throws headtrack::InputError(source, streamed message).
#define HT_THROW_INPUT(source, ...)                                \
  do {                                                             \
    std::ostringstream ht_throw_stream_;                           \
    ht_throw_stream_ << __VA_ARGS__;                               \
    throw ::headtrack::InputError((source), ht_throw_stream_.str()); \
  } while (false)
