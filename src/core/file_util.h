// Files are written atomically: to a temporary file beside the target, then renamed over it,
// so that an interrupted or failed write never leaves a partial file behind.
#pragma once

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace headtrack {

// Calls write(stream) on a temporary file in the target's folder, then renames it to `path`.
// Throws Error naming `path` if the folder does not exist, on a write failure, or when
// write throws (the temporary file is removed in every failure case).
void WriteFileAtomically(const std::filesystem::path& path,
                         const std::function<void(std::ostream&)>& write, bool binary = true);

// For writers that need a file name (OpenCV, libzip): calls write(temporary_path), then renames.
// The temporary path keeps the target's extension.
void WriteFileAtomicallyVia(const std::filesystem::path& path,
                            const std::function<void(const std::filesystem::path&)>& write);

// Reads a whole file; throws Error naming the file if it cannot be opened or read.
std::vector<char> ReadFileBytes(const std::filesystem::path& path);

// Lower-case extension with the dot (".ply"), for dispatch on file type.
std::string LowerExtension(const std::filesystem::path& path);

}  // namespace headtrack
