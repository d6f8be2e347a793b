#include "core/file_util.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <system_error>

#include "headtrack/error.h"

namespace headtrack {
namespace fs = std::filesystem;
namespace {

fs::path TemporaryPathFor(const fs::path& path) {
  const fs::path folder = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(folder)) {
    throw Error(path.string() + ": cannot write, folder '" + folder.string() + "' does not exist");
  }
  // The pid keeps concurrent writers apart; the extension stays last for writers that dispatch
  // on it.
  return folder / ("." + path.stem().string() + ".tmp" + std::to_string(getpid()) +
                   path.extension().string());
}

void RenameOver(const fs::path& from, const fs::path& to) {
  std::error_code error;
  fs::rename(from, to, error);
  if (error) {
    fs::remove(from, error);
    throw Error(to.string() + ": cannot write (" + error.message() + ")");
  }
}

}  // namespace

void WriteFileAtomically(const fs::path& path, const std::function<void(std::ostream&)>& write,
                         bool binary) {
  WriteFileAtomicallyVia(path, [&](const fs::path& temporary) {
    std::ofstream stream(temporary, binary ? std::ios::binary : std::ios::out);
    if (!stream) throw Error(path.string() + ": cannot open for writing");
    write(stream);
    stream.flush();
    if (!stream) throw Error(path.string() + ": write failed (disk full?)");
  });
}

void WriteFileAtomicallyVia(const fs::path& path,
                            const std::function<void(const fs::path&)>& write) {
  const fs::path temporary = TemporaryPathFor(path);
  try {
    write(temporary);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw;
  }
  if (!fs::exists(temporary)) throw Error(path.string() + ": the writer produced no file");
  RenameOver(temporary, path);
}

std::vector<char> ReadFileBytes(const fs::path& path) {
  if (fs::is_directory(path)) throw Error(path.string() + ": is a folder, expected a file");
  std::ifstream stream(path, std::ios::binary | std::ios::ate);
  if (!stream) {
    throw Error(path.string() + (fs::exists(path) ? ": cannot be opened" : ": no such file"));
  }
  const std::streamoff size = stream.tellg();
  if (size < 0) throw Error(path.string() + ": cannot be read (not a regular file?)");
  std::vector<char> bytes(static_cast<size_t>(size));
  stream.seekg(0);
  if (!stream.read(bytes.data(), size)) throw Error(path.string() + ": read failed");
  return bytes;
}

std::string LowerExtension(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

}  // namespace headtrack
