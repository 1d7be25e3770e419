#include "sori/report/chart_file.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/report/gnuplot_chart.h"
#include "sori/report/svg_chart.h"

namespace sori {

void write_chart_file(const Chart& chart, const std::string& path) {
  std::string extension = std::filesystem::path(path).extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (extension == ".svg") {
    write_file_atomic(path, render_svg(chart));
  } else if (extension == ".png") {
    write_png_with_gnuplot(chart, path);
  } else {
    SORI_FAIL("--output ", path, ": expected a file ending in .svg or .png, found ",
              extension.empty() ? std::string("no extension") : "'" + extension + "'");
  }
}

}  // namespace sori
