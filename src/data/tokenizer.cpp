#include "sori/data/tokenizer.h"

#include <filesystem>

#include "sori/core/error.h"

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

}  // namespace sori
