// headtrack: one binary, one subcommand per job. Exit codes: 0 success, 1 bad input or failed
// I/O (the message names the file), 2 bad command line, 3 internal error (a bug: please report).
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "core/progress.h"
#include "headtrack/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "headtrack: reconstruct and track human heads in depth and RGB-D video with parametric 3D "
      "head models.",
      "headtrack"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "headtrack 0.1.0");
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "No progress output");
  app.parse_complete_callback([&] { headtrack::Progress::SetQuiet(quiet); });
  headtrack::cli::AddModelCommands(app);
  headtrack::cli::AddRenderCommand(app);
  headtrack::cli::AddSynthCommand(app);
  headtrack::cli::AddEvalCommand(app);
  headtrack::cli::AddTrackCommand(app);
  headtrack::cli::AddOverlayCommand(app);
  headtrack::cli::AddBenchCommand(app);
  headtrack::cli::AddDemoCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  } catch (const headtrack::CheckError& e) {
    std::fprintf(stderr, "headtrack: internal error: %s\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "headtrack: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
