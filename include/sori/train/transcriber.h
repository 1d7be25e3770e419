// Transcription of audio files of any length: audio longer than chunk_s is cut into chunks that
// overlap by overlap_s; each chunk's log-probs keep only their central frames (half the overlap
// is dropped at each inner edge) and the stitched sequence is decoded greedily once. Word
// timestamps come from the frames where each word's first and last tokens are emitted.
#pragma once

#include <string>
#include <vector>

#include "sori/train/pretrained.h"

namespace sori {

struct WordTiming {
  std::string word;
  double start_s = 0, end_s = 0;
};

struct Transcript {
  std::string text;
  std::vector<WordTiming> words;
};

struct TranscribeOptions {
  double chunk_s = 30.0;
  double overlap_s = 4.0;
};

class Transcriber {
 public:
  Transcriber(PretrainedModel& model, TranscribeOptions options);
  Transcript transcribe_file(const std::string& path);
  Transcript transcribe(const std::vector<float>& audio);
  // Log-probs [T, V+1] for the whole audio (chunked when long).
  torch::Tensor log_probs(const std::vector<float>& audio);
  double frame_seconds() const { return frame_s_; }

 private:
  PretrainedModel& m_;
  TranscribeOptions options_;
  double frame_s_;
};

}  // namespace sori
