#include "sori/data/tokenizer.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "sori/core/error.h"
#include "sori/core/fs.h"

namespace sori {

std::unique_ptr<Tokenizer> load_tokenizer(const TokenizerConfig& config,
                                          const std::vector<std::string>& train_manifests) {
  namespace fs = std::filesystem;
  if (config.type == "sentencepiece") {
    const auto model = fs::path(config.dir) / "tokenizer.model";
    SORI_CHECK(!config.dir.empty() && fs::exists(model), "model.tokenizer: no SentencePiece model at '",
               model.string(), "'; train one with `sori tokenizer train --manifest ... --out ",
               config.dir.empty() ? "DIR" : config.dir, " --vocab-size N --type bpe`");
    return std::make_unique<SentencePieceTokenizer>(model.string());
  }
  SORI_CHECK(config.type == "char" || config.type == "jamo",
             "model.tokenizer.type: expected char, sentencepiece or jamo, found '", config.type, "'");
  const bool jamo = config.type == "jamo";
  const auto vocab = fs::path(config.dir) / "vocab.txt";
  if (!config.dir.empty() && fs::exists(vocab)) return CharTokenizer::load(vocab.string(), jamo);
  SORI_CHECK(!train_manifests.empty(), "model.tokenizer: no vocabulary at '", vocab.string(),
             "' and no training manifests to build one from");
  return CharTokenizer::build(train_manifests, jamo);
}

namespace {
constexpr const char* kTokenizerFiles[] = {"vocab.txt", "tokenizer.model"};
}

std::map<std::string, std::string> read_tokenizer_files(const std::string& dir) {
  std::map<std::string, std::string> files;
  for (const char* name : kTokenizerFiles) {
    const auto f = std::filesystem::path(dir) / name;
    if (std::filesystem::exists(f)) files[name] = read_file(f.string());
  }
  return files;
}

std::unique_ptr<Tokenizer> load_tokenizer_from_files(const std::string& type,
                                                     const std::map<std::string, std::string>& files) {
  namespace fs = std::filesystem;
  // The loaders read files, so unpack into a private temporary folder.
  static std::atomic<int> counter{0};
  const auto dir = fs::temp_directory_path() /
                   ("sori_tok_" + std::to_string(::getpid()) + "_" + std::to_string(counter.fetch_add(1)));
  fs::create_directories(dir);
  for (const auto& [name, bytes] : files) write_file_atomic((dir / name).string(), bytes);
  TokenizerConfig config;
  config.type = type;
  config.dir = dir.string();
  try {
    auto tokenizer = load_tokenizer(config, {});
    fs::remove_all(dir);
    return tokenizer;
  } catch (...) {
    fs::remove_all(dir);
    throw;
  }
}

}  // namespace sori
