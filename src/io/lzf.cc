#include "io/lzf.h"

#include <algorithm>

#include "headtrack/error.h"

namespace headtrack {

// The stream is a sequence of runs, each starting with a control byte c:
//   c < 32:  a literal run, the next c + 1 bytes are copied;
//   c >= 32: a back reference of length (c >> 5) + 2, where a length field of 7 continues in
//            the next byte (added to it), followed by the low 8 bits of the offset; the high 5
//            bits are c & 31. The copy starts offset + 1 bytes before the output's end and may
//            overlap the bytes it writes.
std::vector<char> LzfDecompress(std::span<const char> compressed, size_t decompressed_size,
                                const std::string& source) {
  // A 3-byte back reference expands to at most 264 bytes, so no valid stream expands more than
  // 88 times; checking first keeps a corrupt size from allocating gigabytes.
  if (decompressed_size > 88 * compressed.size()) {
    HT_THROW_INPUT(source, "corrupt LZF data: " << compressed.size()
                                                << " compressed bytes cannot expand to "
                                                << decompressed_size);
  }
  std::vector<char> output(decompressed_size);
  const auto* in = reinterpret_cast<const unsigned char*>(compressed.data());
  const size_t in_size = compressed.size();
  size_t i = 0;  // read position in `compressed`
  size_t o = 0;  // write position in `output`
  const auto corrupt = [&](const char* what) {
    HT_THROW_INPUT(source, "corrupt LZF data at compressed byte " << i << ": " << what);
  };
  while (i < in_size) {
    const unsigned control = in[i++];
    if (control < 32) {
      const size_t length = control + 1;
      if (i + length > in_size) corrupt("literal run past the end of the input");
      if (o + length > decompressed_size) corrupt("output longer than the expected size");
      std::copy(compressed.data() + i, compressed.data() + i + length, output.data() + o);
      i += length;
      o += length;
      continue;
    }
    size_t length = control >> 5;
    if (length == 7) {
      if (i >= in_size) corrupt("back reference past the end of the input");
      length += in[i++];
    }
    length += 2;
    if (i >= in_size) corrupt("back reference past the end of the input");
    const size_t distance = (((control & 31u) << 8) | in[i++]) + 1;
    if (distance > o) corrupt("back reference before the start of the output");
    if (o + length > decompressed_size) corrupt("output longer than the expected size");
    for (size_t k = 0; k < length; ++k, ++o) output[o] = output[o - distance];  // may overlap
  }
  if (o != decompressed_size) {
    HT_THROW_INPUT(source, "corrupt LZF data: decompresses to " << o << " bytes, expected "
                                                                << decompressed_size);
  }
  return output;
}

}  // namespace headtrack
