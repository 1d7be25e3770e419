#include "report/png_image.h"

#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <numeric>

namespace sori::test {

namespace {

std::uint32_t big_endian(const std::string& s, std::size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data() + at);
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

int paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

PngImage failed(const std::string& why) {
  PngImage image;
  image.error = why;
  return image;
}

}  // namespace

PngImage decode_png(const std::string& bytes) {
  if (bytes.size() < 8 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return failed("no PNG signature");
  PngImage image;
  int depth = 0, color = 0, interlace = 0;
  std::string compressed;
  for (std::size_t at = 8; at + 12 <= bytes.size();) {
    const std::uint32_t length = big_endian(bytes, at);
    const std::string type = bytes.substr(at + 4, 4);
    if (at + 12 + length > bytes.size()) return failed("chunk " + type + " runs past the end");
    const std::string data = bytes.substr(at + 8, length);
    if (type == "IHDR") {
      image.width = static_cast<int>(big_endian(data, 0));
      image.height = static_cast<int>(big_endian(data, 4));
      depth = static_cast<unsigned char>(data[8]);
      color = static_cast<unsigned char>(data[9]);
      interlace = static_cast<unsigned char>(data[12]);
    } else if (type == "IDAT") {
      compressed += data;
    } else if (type == "IEND") {
      break;
    }
    at += 12 + length;
  }
  const int channels = color == 0 ? 1 : color == 2 ? 3 : color == 6 ? 4 : 0;
  if (depth != 8 || channels == 0 || interlace != 0)
    return failed("unsupported PNG: depth " + std::to_string(depth) + ", colour type " + std::to_string(color));
  const std::size_t stride = static_cast<std::size_t>(image.width) * channels;
  std::vector<unsigned char> raw((stride + 1) * static_cast<std::size_t>(image.height));
  uLongf raw_size = raw.size();
  if (uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(compressed.data()), compressed.size()) != Z_OK ||
      raw_size != raw.size())
    return failed("IDAT does not inflate to the image size");
  std::vector<unsigned char> previous(stride, 0), row(stride);
  image.rgb.reserve(static_cast<std::size_t>(image.width) * image.height * 3);
  for (int y = 0; y < image.height; ++y) {
    const unsigned char* line = raw.data() + static_cast<std::size_t>(y) * (stride + 1);
    const int filter = line[0];
    for (std::size_t i = 0; i < stride; ++i) {
      const int a = i >= static_cast<std::size_t>(channels) ? row[i - channels] : 0, b = previous[i];
      const int c = i >= static_cast<std::size_t>(channels) ? previous[i - channels] : 0;
      const int predictor = filter == 1 ? a : filter == 2 ? b : filter == 3 ? (a + b) / 2 : filter == 4 ? paeth(a, b, c) : 0;
      row[i] = static_cast<unsigned char>(line[1 + i] + predictor);
    }
    for (int x = 0; x < image.width; ++x) {
      const unsigned char* px = row.data() + static_cast<std::size_t>(x) * channels;
      for (int k = 0; k < 3; ++k) image.rgb.push_back(channels == 1 ? px[0] : px[k]);
    }
    previous = row;
  }
  image.ok = true;
  return image;
}

std::vector<std::size_t> count_pixels_per_row(const PngImage& image, int r, int g, int b, int tolerance) {
  std::vector<std::size_t> rows(static_cast<std::size_t>(image.height));
  for (std::size_t i = 0; i + 2 < image.rgb.size(); i += 3)
    rows[i / 3 / static_cast<std::size_t>(image.width)] +=
        std::abs(image.rgb[i] - r) <= tolerance && std::abs(image.rgb[i + 1] - g) <= tolerance &&
        std::abs(image.rgb[i + 2] - b) <= tolerance;
  return rows;
}

std::size_t count_pixels(const PngImage& image, int r, int g, int b, int tolerance) {
  const auto rows = count_pixels_per_row(image, r, g, b, tolerance);
  return std::accumulate(rows.begin(), rows.end(), std::size_t{0});
}

}  // namespace sori::test
