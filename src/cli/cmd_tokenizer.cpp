#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "sori/data/tokenizer.h"

namespace sori::cli {

void add_tokenizer_commands(CLI::App& app) {
  auto* tok = app.add_subcommand("tokenizer", "Tokenizer tools");
  tok->require_subcommand(1);
  auto* train = with_example(tok->add_subcommand("train", "Train a SentencePiece tokenizer on manifest texts"),
                   "sori tokenizer train --manifest data/manifests/ksponspeech_train.jsonl --out data/tokenizers/kspon_bpe --vocab-size 1024 --type bpe");
  static std::vector<std::string> manifests;
  static std::string out, type = "bpe";
  static int vocab_size = 256;
  train->add_option("--manifest", manifests, "training manifests (repeat or comma list)")->required()->delimiter(',');
  train->add_option("--out", out, "output folder (tokenizer.model, vocab.txt)")->required();
  train->add_option("--vocab-size", vocab_size, "vocabulary size")->check(CLI::PositiveNumber);
  train->add_option("--type", type, "bpe or unigram");
  train->callback([] {
    train_sentencepiece(manifests, out, vocab_size, type);
    SentencePieceTokenizer t(out + "/tokenizer.model");
    spdlog::info("trained {} tokenizer with {} pieces into {}", type, t.vocab_size(), out);
  });
}

}  // namespace sori::cli
