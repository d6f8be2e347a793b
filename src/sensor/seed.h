// Independent random streams from one user seed: every consumer (a frame's noise, the motion,
// the identity) draws from its own stream, so changing one never shifts the numbers of another.
#pragma once

#include <cstdint>

namespace headtrack::internal {

// SplitMix64 of seed combined with a stream id: well-mixed 64-bit seeds for std::mt19937_64.
inline std::uint64_t MixSeed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace headtrack::internal
