// A minimal PNG decoder for tests that look at rendered pictures (chromium screenshots, gnuplot
// charts): 8-bit grey, RGB or RGBA, not interlaced; anything else is a test failure, not a guess.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sori::test {

struct PngImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;  // width * height * 3, row by row (alpha dropped)
  bool ok = false;
  std::string error;  // why not ok
};

PngImage decode_png(const std::string& bytes);

// Pixels within `tolerance` of (r, g, b) in every channel.
std::size_t count_pixels(const PngImage& image, int r, int g, int b, int tolerance = 0);
// The same, row by row (`height` entries, top first).
std::vector<std::size_t> count_pixels_per_row(const PngImage& image, int r, int g, int b, int tolerance = 0);

}  // namespace sori::test
