#include "sori/train/transcriber.h"

#include <torch/torch.h>

#include <cmath>

#include "sori/core/error.h"
#include "sori/data/audio.h"
#include "sori/model/ctc_decode.h"

namespace sori {

Transcriber::Transcriber(PretrainedModel& model, TranscribeOptions options) : m_(model), options_(options) {
  SORI_CHECK(options_.overlap_s >= 0 && options_.overlap_s < options_.chunk_s, "transcribe: expected 0 <= overlap (",
             options_.overlap_s, " s) < chunk (", options_.chunk_s, " s)");
  frame_s_ = static_cast<double>(m_.model->featurizer()->hop_length()) * m_.config.model.encoder.subsampling_factor /
             m_.config.model.sample_rate;
}

torch::Tensor Transcriber::log_probs(const std::vector<float>& audio) {
  torch::NoGradGuard no_grad;
  const int sr = m_.config.model.sample_rate;
  const auto chunk = static_cast<std::int64_t>(options_.chunk_s * sr);
  const auto n = static_cast<std::int64_t>(audio.size());
  auto run = [&](std::int64_t begin, std::int64_t len) {
    auto x = torch::from_blob(const_cast<float*>(audio.data()) + begin, {1, len}, torch::kFloat32).clone().to(m_.device);
    auto lengths = torch::full({1}, len, torch::TensorOptions().dtype(torch::kInt64).device(m_.device));
    auto [feats, feat_lengths] = m_.model->features(x, lengths);
    auto [lp, enc_lengths] = m_.model->forward(feats, feat_lengths);
    return lp[0].narrow(0, 0, enc_lengths[0].item<std::int64_t>()).to(torch::kCPU);
  };
  if (n <= chunk) return run(0, n);
  // Chunks and overlaps are whole numbers of encoder frames (the overlap an even number), so
  // chunk boundaries fall on frames. Chunk k keeps its frames from the middle of its left
  // overlap to the middle of its right one; the next chunk starts keeping exactly there.
  const auto frame = static_cast<std::int64_t>(std::llround(frame_s_ * sr));
  const std::int64_t chunk_f = std::max<std::int64_t>(2, chunk / frame);
  const std::int64_t overlap_f = std::min(chunk_f - 2, 2 * static_cast<std::int64_t>(options_.overlap_s * sr / frame / 2));
  const std::int64_t stride_f = chunk_f - overlap_f;
  std::vector<torch::Tensor> parts;
  for (std::int64_t begin_f = 0;; begin_f += stride_f) {
    const auto begin = begin_f * frame;
    const auto len = std::min(chunk_f * frame, n - begin);
    const bool last = begin + len >= n;
    const auto lp = run(begin, len);
    const std::int64_t from = begin_f == 0 ? 0 : overlap_f / 2;
    const std::int64_t to = last ? lp.size(0) : std::min<std::int64_t>(lp.size(0), chunk_f - overlap_f / 2);
    if (to > from) parts.push_back(lp.narrow(0, from, to - from));
    if (last) break;
  }
  return torch::cat(parts, 0);
}

Transcript Transcriber::transcribe(const std::vector<float>& audio) {
  const auto lp = log_probs(audio);
  const auto hyp = greedy_ctc_decode(lp.unsqueeze(0), torch::full({1}, lp.size(0), torch::kInt64),
                                     m_.tokenizer->blank_id())[0];
  Transcript t;
  t.text = m_.tokenizer->decode(hyp.tokens);
  // Words: a token whose text starts with '▁' (SentencePiece) or follows a space token begins a word.
  const auto vocab = m_.tokenizer->vocabulary();
  std::vector<int> word_tokens;
  std::int64_t first = 0, last = 0;
  auto flush = [&] {
    if (word_tokens.empty()) return;
    const auto w = m_.tokenizer->decode(word_tokens);
    if (!w.empty()) t.words.push_back({w, first * frame_s_, (last + 1) * frame_s_});
    word_tokens.clear();
  };
  for (std::size_t i = 0; i < hyp.tokens.size(); ++i) {
    const auto& piece = vocab[static_cast<std::size_t>(hyp.tokens[i])];
    if (piece == " ") {
      flush();
      continue;
    }
    if (piece.rfind("\xE2\x96\x81", 0) == 0) flush();
    if (word_tokens.empty()) first = hyp.frames[i];
    word_tokens.push_back(hyp.tokens[i]);
    last = hyp.frames[i];
  }
  flush();
  return t;
}

Transcript Transcriber::transcribe_file(const std::string& path) {
  AudioReadOptions o;
  o.target_sample_rate = m_.config.model.sample_rate;
  return transcribe(load_audio(path, o));
}

}  // namespace sori
