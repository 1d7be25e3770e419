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
  std::size_t missing_audio = 0;  // listed in a script file, no .pcm under root (skipped)
  std::vector<std::string> manifests;
};

// The corpus's official split and transcripts: KsponSpeech_scripts/{train,dev,eval_clean,
// eval_other}.trn (under root unless `scripts_dir` is given), lines "<path>.pcm :: <transcript>"
// with paths relative to root. Each script file present becomes out/ksponspeech_<split>.jsonl;
// dev (2,545 utterances from KsponSpeech_05) is not in train. Audio the scripts list but root
// lacks is skipped and counted. No script files is an error: without them the dev set would land
// in training and eval_clean/eval_other would have no transcripts.
KsponPrepareResult prepare_ksponspeech(const std::string& root, const std::string& out_dir, KsponSpelling spelling,
                                       const std::string& scripts_dir = "");

}  // namespace sori
