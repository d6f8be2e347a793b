#include "headtrack/model_path.h"

#include <cstdlib>

#include "headtrack/error.h"

#ifndef HEADTRACK_DATA_DIR
#error "HEADTRACK_DATA_DIR must be defined by the build"
#endif

namespace headtrack {
namespace fs = std::filesystem;
namespace {

std::string Environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

fs::path DataDirectory() {
  const std::string from_environment = Environment("HEADTRACK_DATA_DIR");
  return from_environment.empty() ? fs::path(HEADTRACK_DATA_DIR) : fs::path(from_environment);
}

fs::path ResolveModelPath(const std::string& explicit_path) {
  if (!explicit_path.empty()) {
    if (!fs::is_regular_file(explicit_path)) {
      throw InputError(explicit_path, "no such model file (given with --model)");
    }
    return explicit_path;
  }
  std::string looked;
  const std::string from_environment = Environment("HEADTRACK_MODEL");
  if (!from_environment.empty()) {
    if (fs::is_regular_file(from_environment)) return from_environment;
    looked += "\n  $HEADTRACK_MODEL = " + from_environment + " (no such file)";
  } else {
    looked += "\n  --model (not given)\n  $HEADTRACK_MODEL (not set)";
  }
  const fs::path default_path = DataDirectory() / "models" / kDefaultModelFile;
  if (fs::is_regular_file(default_path)) return default_path;
  looked += "\n  " + default_path.string() + " (no such file; the data folder is " +
            (Environment("HEADTRACK_DATA_DIR").empty() ? "fixed at configure time"
                                                       : "$HEADTRACK_DATA_DIR") +
            ")";
  throw Error("no head model found. Looked in:" + looked +
              "\nGive one with --model PATH or HEADTRACK_MODEL=PATH.");
}

}  // namespace headtrack
