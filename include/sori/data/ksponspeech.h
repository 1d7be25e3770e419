// KsponSpeech (AI Hub Korean spontaneous speech) transcripts -> NeMo manifests.
// Transcript conventions handled: dual spellings "(written)/(pronounced)", noise tags b/ n/ o/ l/ u/
// (breath, noise, overlapping speaker, laughter, unintelligible), filler marks "word/",
// disfluency "+" and uncertain "*". Transcripts are CP949 (EUC-KR) in the original release and
// UTF-8 in some re-distributions; both are accepted.
#pragma once

#include <string>
#include <vector>

namespace sori {

enum class KsponSpelling { Pronounced, Written };

std::string normalize_ksponspeech(const std::string& transcript, KsponSpelling spelling);

struct KsponPrepareResult {
  std::size_t utterances = 0;
  std::size_t empty_after_normalisation = 0;
  std::vector<std::string> manifests;
};

// Walks root for <name>.pcm with a <name>.txt beside it. Utterances under KsponSpeech_01..05 go to
// out/ksponspeech_train.jsonl; any other top-level folder F (e.g. eval_clean) to out/ksponspeech_F.jsonl.
KsponPrepareResult prepare_ksponspeech(const std::string& root, const std::string& out_dir, KsponSpelling spelling);

}  // namespace sori
