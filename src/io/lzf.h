// LZF decompression (Marc Lehmann's liblzf format), used by PCD "binary_compressed" data.
#pragma once

#include <span>
#include <string>
#include <vector>

namespace headtrack {

// Decompresses `compressed` into exactly `decompressed_size` bytes. Throws InputError(source,
// ...) when the data is corrupt (a back reference before the start, a run past the end) or
// decompresses to a different size.
std::vector<char> LzfDecompress(std::span<const char> compressed, size_t decompressed_size,
                                const std::string& source);

}  // namespace headtrack
