// Which compiled variant of the rasterizer's heavy steps runs: AVX2 where the processor has it,
// else the baseline x86-64 (SSE2) one. They give the same bits; tests force each in turn to
// compare both with the reference rasterizer.
#pragma once

#include <optional>

namespace headtrack::internal {

enum class InstructionSet { kBaseline, kAvx2 };

// Whether this processor runs AVX2 (false off x86-64).
bool ProcessorHasAvx2();

// The variant that Rasterizer calls use now.
InstructionSet RasterizerInstructionSet();

// Makes every later Rasterizer call use instruction_set, or (nullopt) choose by the processor
// again. Forcing AVX2 on a processor without it is a CheckError. For tests.
void ForceRasterizerInstructionSet(std::optional<InstructionSet> instruction_set);

}  // namespace headtrack::internal
