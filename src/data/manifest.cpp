#include "sori/data/manifest.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sori/core/error.h"
#include "sori/core/fs.h"

namespace sori {

namespace {

double number_field(const nlohmann::json& j, const char* key, const std::string& where, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    SORI_CHECK(!required, "manifest ", where, ": missing field '", key, "'");
    return 0.0;
  }
  SORI_CHECK(it->is_number(), "manifest ", where, ": field '", key, "' expects a number, found ",
             it->dump());
  return it->get<double>();
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  SORI_CHECK(it != j.end() && !it->is_null(), "manifest ", where, ": missing field '", key, "'");
  SORI_CHECK(it->is_string(), "manifest ", where, ": field '", key, "' expects a string, found ",
             it->dump());
  return it->get<std::string>();
}

ManifestEntry parse_line(const std::string& text, const std::string& path, int line_no,
                         const std::filesystem::path& base) {
  const std::string where = path + ":" + std::to_string(line_no);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse errors, and numbers past double's range
    SORI_FAIL("manifest ", where, ": malformed JSON (", e.what(), ")");
  }
  SORI_CHECK(j.is_object(), "manifest ", where, ": expected a JSON object, found ", j.type_name());
  ManifestEntry e;
  e.manifest = path;
  e.line = line_no;
  std::filesystem::path audio(string_field(j, "audio_filepath", where));
  e.audio_filepath = (audio.is_relative() ? base / audio : audio).lexically_normal().string();
  e.duration = number_field(j, "duration", where, true);
  e.offset = number_field(j, "offset", where, false);
  e.text = string_field(j, "text", where);
  SORI_CHECK(e.duration > 0.0 && std::isfinite(e.duration), "manifest ", where, ": field 'duration' expects a positive number, found ",
             e.duration);
  SORI_CHECK(e.offset >= 0.0 && std::isfinite(e.offset), "manifest ", where, ": field 'offset' expects >= 0, found ", e.offset);
  return e;
}

}  // namespace

std::vector<ManifestEntry> read_manifest(const std::string& path, bool skip_invalid,
                                         std::vector<std::string>* skipped) {
  std::ifstream in(path);
  SORI_CHECK(in, "manifest ", path, ": cannot open file");
  const auto base = std::filesystem::absolute(path).parent_path();
  std::vector<ManifestEntry> entries;
  std::string text;
  int line_no = 0;
  while (std::getline(in, text)) {
    ++line_no;
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      entries.push_back(parse_line(text, path, line_no, base));
    } catch (const Error& err) {
      if (!skip_invalid) throw;
      if (skipped) skipped->push_back(err.what());
    }
  }
  return entries;
}

void write_manifest(const std::string& path, const std::vector<ManifestEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    nlohmann::json j;
    j["audio_filepath"] = e.audio_filepath;
    j["duration"] = e.duration;
    if (e.offset > 0) j["offset"] = e.offset;
    j["text"] = e.text;
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  write_file_atomic(path, out);
}

}  // namespace sori
