#include "sori/data/ksponspeech.h"

#include <iconv.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
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

KsponPrepareResult prepare_ksponspeech(const std::string& root, const std::string& out_dir, KsponSpelling spelling) {
  namespace fs = std::filesystem;
  SORI_CHECK(fs::is_directory(root), "prepare-ksponspeech: --root '", root, "' is not a folder");
  std::map<std::string, std::vector<ManifestEntry>> splits;
  KsponPrepareResult result;
  std::vector<fs::path> pcms;
  for (const auto& it : fs::recursive_directory_iterator(root))
    if (it.is_regular_file() && it.path().extension() == ".pcm") pcms.push_back(it.path());
  std::sort(pcms.begin(), pcms.end());
  for (const auto& pcm : pcms) {
    fs::path txt = pcm;
    txt.replace_extension(".txt");
    if (!fs::exists(txt)) continue;
    std::string raw = read_file(txt.string());
    if (!utf8_valid(raw)) raw = cp949_to_utf8(raw, txt.string());
    ManifestEntry e;
    e.text = normalize_ksponspeech(raw, spelling);
    if (e.text.empty()) {
      ++result.empty_after_normalisation;
      continue;
    }
    e.audio_filepath = fs::absolute(pcm).lexically_normal().string();
    e.duration = static_cast<double>(fs::file_size(pcm)) / (2.0 * 16000.0);  // 16-bit mono 16 kHz
    const std::string top = fs::relative(pcm, root).begin()->string();
    const bool train = std::regex_match(top, std::regex(R"(KsponSpeech_0[1-5])"));
    splits[train ? "train" : top].push_back(std::move(e));
    ++result.utterances;
  }
  SORI_CHECK(result.utterances > 0, "prepare-ksponspeech: no .pcm with a .txt transcript under '", root, "'");
  for (const auto& [name, entries] : splits) {
    const std::string path = (fs::path(out_dir) / ("ksponspeech_" + name + ".jsonl")).string();
    write_manifest(path, entries);
    result.manifests.push_back(path);
  }
  return result;
}

}  // namespace sori
