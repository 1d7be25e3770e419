// Tokenizers: char, sentencepiece and jamo. CTC convention as NeMo: ids 0..V-1 are tokens and
// the blank is V (the model has V+1 outputs). Unknown characters never crash: they are dropped
// (char/jamo) or become <unk> (sentencepiece), and counted.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sori/config/config.h"

namespace sori {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Thread-safe: the loader calls it from its worker threads.
  virtual std::vector<int> encode(const std::string& text) const = 0;
  virtual std::string decode(const std::vector<int>& ids) const = 0;
  virtual int vocab_size() const = 0;
  virtual std::string type() const = 0;
  // Writes what load_tokenizer needs into dir (vocab.txt or tokenizer.model).
  virtual void save(const std::string& dir) const = 0;
  // The text of each token, in id order (for exports and reports).
  virtual std::vector<std::string> vocabulary() const = 0;

  int blank_id() const { return vocab_size(); }
  std::size_t unknown_count() const { return unknown_.load(); }
  // False for a transcript with characters none of which the vocabulary knows: it would encode
  // to nothing, and training would learn silence for speech.
  bool transcribable(const std::string& text) const {
    return text.find_first_not_of(" \t") == std::string::npos || !encode(text).empty();
  }

 protected:
  mutable std::atomic<std::size_t> unknown_{0};
};

// Characters (code points); with `jamo`, Hangul syllables are decomposed into conjoining jamo
// before encoding and recomposed after decoding. vocab.txt: one token per line, the space
// written as U+2581 '▁' so that no line is blank.
class CharTokenizer : public Tokenizer {
 public:
  CharTokenizer(std::u32string vocabulary, bool jamo);
  static std::unique_ptr<CharTokenizer> load(const std::string& vocab_file, bool jamo);
  // The sorted set of characters in the manifests' texts (plus all jamo when `jamo`).
  static std::unique_ptr<CharTokenizer> build(const std::vector<std::string>& manifests, bool jamo);

  std::vector<int> encode(const std::string& text) const override;
  std::string decode(const std::vector<int>& ids) const override;
  int vocab_size() const override { return static_cast<int>(chars_.size()); }
  std::string type() const override { return jamo_ ? "jamo" : "char"; }
  void save(const std::string& dir) const override;
  std::vector<std::string> vocabulary() const override;

 private:
  std::u32string chars_;
  std::vector<std::pair<char32_t, int>> index_;  // sorted by char for binary search
  bool jamo_;
};

class SentencePieceTokenizer : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& model_file);
  ~SentencePieceTokenizer() override;
  std::vector<int> encode(const std::string& text) const override;
  std::string decode(const std::vector<int>& ids) const override;
  int vocab_size() const override;
  std::string type() const override { return "sentencepiece"; }
  void save(const std::string& dir) const override;
  std::vector<std::string> vocabulary() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Trains a SentencePiece model (bpe or unigram) on the manifests' texts into dir/tokenizer.model
// (and dir/vocab.txt), the layout NeMo uses.
void train_sentencepiece(const std::vector<std::string>& manifests, const std::string& dir, int vocab_size,
                         const std::string& model_type);

// Loads the tokenizer config.type from config.dir. For char and jamo, when dir has no vocab.txt,
// builds the vocabulary from `train_manifests` (the caller saves it with the run).
std::unique_ptr<Tokenizer> load_tokenizer(const TokenizerConfig& config,
                                          const std::vector<std::string>& train_manifests);

// The files load_tokenizer reads (vocab.txt, tokenizer.model) present in dir: name -> bytes.
// Checkpoints and .nemo archives carry a tokenizer this way.
std::map<std::string, std::string> read_tokenizer_files(const std::string& dir);
// A tokenizer of `type` from such files.
std::unique_ptr<Tokenizer> load_tokenizer_from_files(const std::string& type,
                                                     const std::map<std::string, std::string>& files);

}  // namespace sori
