// Lines, tokens and numbers of the text formats (OBJ, ASCII PLY, PCD headers and ASCII data):
// string_views into a file's bytes and std::from_chars, no streams and no locale, because the
// readers parse hundreds of thousands of numbers per file.
#pragma once

#include <charconv>
#include <string_view>
#include <system_error>

namespace headtrack::internal {

constexpr bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

// Cuts the next line off the front of `text` and returns it without its "\n" or "\r\n".
inline std::string_view NextLine(std::string_view& text) {
  const size_t end = text.find('\n');
  std::string_view line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Cuts the next whitespace-separated token off the front of `text`; empty when none is left.
inline std::string_view NextToken(std::string_view& text) {
  // A plain loop: find_first_of with a set of characters is several times slower here.
  size_t begin = 0;
  while (begin < text.size() && IsSpace(text[begin])) ++begin;
  size_t end = begin;
  while (end < text.size() && !IsSpace(text[end])) ++end;
  const std::string_view token = text.substr(begin, end - begin);
  text.remove_prefix(end);
  return token;
}

// Parses the whole of `token` as a number (integer or floating point; "nan" and "inf" too).
// False when the token is empty, has trailing characters, or is out of range.
template <typename T>
bool ParseNumber(std::string_view token, T& value) {
  if (token.size() > 1 && token[0] == '+' && token[1] != '-') token.remove_prefix(1);
  if (token.empty()) return false;
  const char* end = token.data() + token.size();
  const auto [stop, error] = std::from_chars(token.data(), end, value);
  return error == std::errc() && stop == end;
}

}  // namespace headtrack::internal
