// The subcommands of the headtrack binary. Each Add* function registers its subcommand(s) on the
// app; the callbacks parse nothing themselves, call the library, and let exceptions reach main.
#pragma once

#include <filesystem>

#include <CLI/CLI.hpp>

namespace headtrack::cli {

void AddModelCommands(CLI::App& app);
void AddRenderCommand(CLI::App& app);
void AddSynthCommand(CLI::App& app);
void AddEvalCommand(CLI::App& app);
void AddTrackCommand(CLI::App& app);
void AddOverlayCommand(CLI::App& app);
void AddBenchCommand(CLI::App& app);
void AddDemoCommand(CLI::App& app);

// Refuses to replace an existing file unless the user asked for it (--overwrite).
void CheckOutputPath(const std::filesystem::path& path, bool overwrite);

}  // namespace headtrack::cli
