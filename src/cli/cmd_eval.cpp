#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>

#include "commands.h"
#include "sori/data/dataset.h"
#include "sori/train/evaluate.h"
#include "sori/train/pretrained.h"
#include "sori/train/transcriber.h"

namespace sori::cli {

void add_eval_commands(CLI::App& app) {
  auto* eval = with_example(app.add_subcommand("eval", "Greedy-CTC CER/WER of a checkpoint on manifests"),
                   "sori eval --checkpoint runs/demo_en/averaged.ckpt --manifest data/manifests/demo_en_test.jsonl --hyp-out runs/demo_en/test_trn");
  static std::string checkpoint, hyp_out, device = "auto";
  static std::vector<std::string> manifests;
  eval->add_option("--checkpoint", checkpoint, "Sori checkpoint")->required();
  eval->add_option("--manifest", manifests, "manifests (repeat or comma list)")->required()->delimiter(',');
  eval->add_option("--hyp-out", hyp_out, "write sclite ref.trn/hyp.trn (one token per character) here");
  eval->add_option("--device", device, "auto, cpu or cuda");
  eval->callback([] {
    auto p = load_pretrained(checkpoint, device);
    const auto& v = p.config.model.validation_ds;
    EvaluationOptions eo{v.batch_duration > 0 ? v.batch_duration : 120.0, v.batch_size, 2, p.config.model.sample_rate,
                         p.device, p.config.trainer.precision};
    Evaluation all;
    for (const auto& m : manifests) {
      const auto ds = load_dataset({m}, DatasetFilters{});
      auto ev = evaluate(p.model, ds, *p.tokenizer, eo);
      std::printf("%s: CER %.2f%%  WER %.2f%%  CER(no spaces) %.2f%%  (%lld utterances)\n", m.c_str(), 100 * ev.counts.cer(),
                  100 * ev.counts.wer(), 100 * ev.counts.cer_nospace(), static_cast<long long>(ev.counts.utterances));
      all.counts.merge(ev.counts);
      all.references.insert(all.references.end(), ev.references.begin(), ev.references.end());
      all.hypotheses.insert(all.hypotheses.end(), ev.hypotheses.begin(), ev.hypotheses.end());
    }
    if (manifests.size() > 1)
      std::printf("all: CER %.2f%%  WER %.2f%%\n", 100 * all.counts.cer(), 100 * all.counts.wer());
    if (!hyp_out.empty()) {
      write_trn(hyp_out, all);
      spdlog::info("wrote {}/ref.trn and {}/hyp.trn", hyp_out, hyp_out);
    }
  });

  auto* tr = with_example(app.add_subcommand("transcribe", "Transcribe audio files with a checkpoint"),
                   "sori transcribe --checkpoint runs/demo_en/averaged.ckpt --timestamps meeting.wav call.flac");
  static std::vector<std::string> files;
  static bool timestamps = false;
  static TranscribeOptions topts;
  static std::string tcheckpoint, tdevice = "auto";
  tr->add_option("--checkpoint", tcheckpoint, "Sori checkpoint")->required();
  tr->add_option("files", files, "audio files")->required();
  tr->add_flag("--timestamps", timestamps, "print word start/end times");
  tr->add_option("--chunk-s", topts.chunk_s, "longer audio is cut into chunks of this many seconds");
  tr->add_option("--overlap-s", topts.overlap_s, "overlap between chunks, seconds");
  tr->add_option("--device", tdevice, "auto, cpu or cuda");
  tr->callback([] {
    auto p = load_pretrained(tcheckpoint, tdevice);
    Transcriber transcriber(p, topts);
    for (const auto& f : files) {
      const auto t = transcriber.transcribe_file(f);
      std::cout << f << "\t" << t.text << "\n";
      if (timestamps)
        for (const auto& w : t.words) std::printf("  %8.2f %8.2f  %s\n", w.start_s, w.end_s, w.word.c_str());
    }
  });
}

}  // namespace sori::cli
