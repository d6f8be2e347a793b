#include "headtrack/error.h"

namespace headtrack::internal {

void ThrowCheckError(const char* file, int line, const char* condition,
                     const std::string& message) {
  std::ostringstream stream;
  stream << "internal check failed at " << file << ":" << line << ": " << condition;
  if (!message.empty()) stream << " (" << message << ")";
  throw CheckError(stream.str());
}

}  // namespace headtrack::internal
