// Where the head model and the shared data are found.
#pragma once

#include <filesystem>
#include <string>

namespace headtrack {

// The file name of the default model inside <data dir>/models/.
inline constexpr const char* kDefaultModelFile = "ict_facekit_light.npz";

// The shared data folder: $HEADTRACK_DATA_DIR if set, else the folder fixed at configure time
// (CMake HEADTRACK_DATA_DIR, default <source>/../shared).
std::filesystem::path DataDirectory();

// The model to use: `explicit_path` if not empty (it must exist), else $HEADTRACK_MODEL, else
// <DataDirectory()>/models/ict_facekit_light.npz. Throws Error listing every place it looked
// when nothing is found.
std::filesystem::path ResolveModelPath(const std::string& explicit_path = "");

}  // namespace headtrack
