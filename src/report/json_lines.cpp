#include "sori/report/json_lines.h"

#include <fstream>

#include "sori/core/error.h"
#include "sori/core/text.h"

namespace sori {

JsonLines read_json_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  SORI_CHECK(in, "cannot read ", path, ": no such file or not readable");
  std::vector<std::pair<int, std::string>> lines;
  std::string text;
  for (int n = 1; std::getline(in, text); ++n)
    if (!trim(text).empty()) lines.emplace_back(n, std::move(text));
  JsonLines out;
  for (std::size_t k = 0; k < lines.size(); ++k) {
    const auto& [n, line] = lines[k];
    const bool last = k + 1 == lines.size();
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      if (last) {
        out.torn_last_line = true;
        break;
      }
      SORI_FAIL(path, ":", n, ": expected one JSON object per line, found text that does not parse (", e.what(),
                "); only the last line may be torn (a writer killed mid-line): remove or repair this one");
    }
    SORI_CHECK(object.is_object(), path, ":", n, ": expected a JSON object, found ", object.type_name());
    out.rows.push_back({n, std::move(object)});
  }
  return out;
}

}  // namespace sori
