#include "sori/data/ksponspeech.h"

#include <iconv.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <vector>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/core/text.h"
#include "sori/data/manifest.h"

namespace sori {

namespace {

std::string cp949_to_utf8(const std::string& in, const std::string& path) {
  iconv_t cd = iconv_open("UTF-8", "CP949");
  SORI_CHECK(cd != reinterpret_cast<iconv_t>(-1), "ksponspeech: iconv has no CP949 converter");
  std::string out(in.size() * 2 + 16, '\0');
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size();
  char* dst = out.data();
  size_t dst_left = out.size();
  const size_t rc = iconv(cd, &src, &src_left, &dst, &dst_left);
  iconv_close(cd);
  SORI_CHECK(rc != static_cast<size_t>(-1), "ksponspeech ", path, ": neither UTF-8 nor CP949 text");
  out.resize(out.size() - dst_left);
  return out;
}

}  // namespace

std::string normalize_ksponspeech(const std::string& transcript, KsponSpelling spelling) {
  static const std::regex dual(R"(\(([^()]*)\)/\(([^()]*)\))");
  static const std::regex noise_tags(R"((^|\s)(?:[bnoluBNOLU]/)+)");
  std::string s = std::regex_replace(transcript, dual, spelling == KsponSpelling::Written ? "$1" : "$2");
  s = std::regex_replace(s, noise_tags, "$1 ");
  std::string out;
  for (char c : s)
    if (c != '/' && c != '+' && c != '*' && c != '(' && c != ')') out += c;
  return normalize_whitespace(out);
}

KsponPrepareResult prepare_ksponspeech(const std::string& root, const std::string& out_dir, KsponSpelling spelling,
                                       const std::string& scripts_dir) {
  namespace fs = std::filesystem;
  SORI_CHECK(fs::is_directory(root), "prepare-ksponspeech: --root '", root, "' is not a folder");
  const fs::path scripts = scripts_dir.empty() ? fs::path(root) / "KsponSpeech_scripts" : fs::path(scripts_dir);
  KsponPrepareResult result;
  for (const char* split : {"train", "dev", "eval_clean", "eval_other"}) {
    const auto trn = scripts / (std::string(split) + ".trn");
    if (!fs::exists(trn)) continue;
    std::string raw = read_file(trn.string());
    if (!utf8_valid(raw)) raw = cp949_to_utf8(raw, trn.string());
    std::vector<ManifestEntry> entries;
    std::istringstream lines(raw);
    std::string line;
    for (int n = 1; std::getline(lines, line); ++n) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (normalize_whitespace(line).empty()) continue;
      const auto sep = line.find(" :: ");
      SORI_CHECK(sep != std::string::npos, "prepare-ksponspeech ", trn.string(), ":", n,
                 ": expected '<path>.pcm :: <transcript>', found '", line, "'");
      const auto pcm = (fs::path(root) / line.substr(0, sep)).lexically_normal();
      if (!fs::exists(pcm)) {
        ++result.missing_audio;
        continue;
      }
      ManifestEntry e;
      e.text = normalize_ksponspeech(line.substr(sep + 4), spelling);
      if (e.text.empty()) {
        ++result.empty_after_normalisation;
        continue;
      }
      e.audio_filepath = fs::absolute(pcm).string();
      e.duration = static_cast<double>(fs::file_size(pcm)) / (2.0 * 16000.0);  // 16-bit mono 16 kHz
      entries.push_back(std::move(e));
    }
    const std::string path = (fs::path(out_dir) / ("ksponspeech_" + std::string(split) + ".jsonl")).string();
    write_manifest(path, entries);
    result.manifests.push_back(path);
    result.utterances += entries.size();
  }
  SORI_CHECK(!result.manifests.empty(), "prepare-ksponspeech: no train.trn, dev.trn, eval_clean.trn or eval_other.trn in ",
             scripts.string(), ": the official split and the eval transcripts come from KsponSpeech_scripts "
             "(part of the AI Hub download); unpack it under --root or pass --scripts DIR");
  SORI_CHECK(result.utterances > 0, "prepare-ksponspeech: the script files in ", scripts.string(), " list no audio found under '",
             root, "' (", result.missing_audio, " listed files missing): is --root the folder holding KsponSpeech_01..05 "
             "and KsponSpeech_eval?");
  return result;
}

}  // namespace sori
