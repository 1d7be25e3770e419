// JSON Lines files a run writes while it runs (metrics.jsonl is appended to, validation/rank<R>.jsonl
// rewritten): every line one JSON object. A last line that does not parse is a write in progress
// or one a kill cut short: it is skipped. A bad line before it is an error naming path:line.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace sori {

struct JsonLine {
  int line = 0;  // 1-based, for messages
  nlohmann::json object;
};

struct JsonLines {
  std::vector<JsonLine> rows;  // blank lines left out
  bool torn_last_line = false;
};

// Throws sori::Error when the file cannot be read or a line other than the last is not an object.
JsonLines read_json_lines(const std::string& path);

}  // namespace sori
