#include <spdlog/spdlog.h>

#include <iostream>

#include "commands.h"
#include "sori/config/config.h"
#include "sori/core/error.h"
#include "sori/data/augment.h"
#include "sori/data/dataset.h"
#include "sori/data/feasibility.h"
#include "sori/data/jamo.h"
#include "sori/data/ksponspeech.h"
#include "sori/data/tokenizer.h"

namespace sori::cli {

namespace {

// What `sori train` checks before training, per dataset with its own filters: manifest syntax
// and fields, audio files (present, readable, long enough). Returns how many manifests hold
// something training refuses; what skip_invalid would skip is listed.
int check_like_training(const Config& config, const Tokenizer& tokenizer) {
  int refused = 0;
  const std::pair<const char*, const DatasetConfig*> datasets[] = {
      {"train_ds", &config.model.train_ds}, {"validation_ds", &config.model.validation_ds}, {"test_ds", &config.model.test_ds}};
  std::cout << "manifests and audio (as sori train loads them):\n";
  for (const auto& [name, ds] : datasets) {
    for (const auto& m : ds->manifest_filepath) {
      try {
        DatasetFilters filters{ds->min_duration, ds->max_duration, ds->skip_invalid, true, {}, {}};
        if (ds == &config.model.train_ds)
          filters.transcribable = [&](const std::string& text) { return tokenizer.transcribable(text); };
        const auto d = load_dataset({m}, filters);
        SORI_CHECK(!d.entries.empty() || ds != &config.model.train_ds, "no utterance is left for training (",
                   d.dropped.summary(), "): check min_duration/max_duration");
        std::cout << "  " << m << " (" << name << "): " << d.entries.size() << " utterances usable; "
                  << d.dropped.summary() << "\n";
        for (const auto& line : d.invalid) std::cout << "    skipped (skip_invalid): " << line << "\n";
      } catch (const Error& e) {
        std::cout << "  " << m << " (" << name << "): REFUSED: " << e.what() << "\n";
        ++refused;
      }
    }
  }
  return refused;
}

void run_check(const std::string& path, const std::vector<std::string>& overrides) {
  const Config config = load_config(path, overrides);
  const auto tokenizer = load_tokenizer(config.model.tokenizer, config.model.train_ds.manifest_filepath);
  const int refused = check_like_training(config, *tokenizer);
  SORI_CHECK(refused == 0, refused, " manifest(s) hold data that `sori train` refuses (REFUSED above): fix those "
             "lines, or set skip_invalid: true for the dataset to skip them");
  const WaveformAugmenter augmenter(config.model.augmentation, config.model.sample_rate);
  const FeasibilityChecker checker(config, *tokenizer, augmenter.max_speed());
  std::vector<FeasibilityReport> reports;
  for (const auto* ds : {&config.model.train_ds, &config.model.validation_ds, &config.model.test_ds})
    for (const auto& m : ds->manifest_filepath) reports.push_back(check_feasibility(m, checker));
  std::cout << format_feasibility(reports, config, augmenter.max_speed());
  if (tokenizer->unknown_count() > 0)
    std::cout << "unknown characters (not in the vocabulary): " << tokenizer->unknown_count() << "\n";
}

}  // namespace

void add_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Dataset tools");
  data->require_subcommand(1);

  auto* check = with_example(data->add_subcommand("check", "CTC feasibility report for the config's manifests"),
                   "sori data check --config configs/demo_en.yaml");
  static std::string config_path;
  static std::vector<std::string> overrides;
  check->add_option("--config", config_path, "YAML config")->required();
  check->add_option("overrides", overrides, "key.path=value overrides");
  check->callback([] { run_check(config_path, overrides); });

  auto* kspon = with_example(data->add_subcommand("prepare-ksponspeech", "KsponSpeech transcripts -> NeMo manifests"),
                   "sori data prepare-ksponspeech --root /data/KsponSpeech --out data/manifests --spelling pronounced");
  static std::string root, out, spelling = "pronounced", scripts;
  kspon->add_option("--root", root, "folder with KsponSpeech_01..05, KsponSpeech_eval and KsponSpeech_scripts")
      ->required();
  kspon->add_option("--scripts", scripts, "folder with train/dev/eval_clean/eval_other.trn (default: ROOT/KsponSpeech_scripts)");
  kspon->add_option("--out", out, "where to write ksponspeech_*.jsonl")->required();
  kspon->add_option("--spelling", spelling, "dual spellings (written)/(pronounced): which to keep")
      ->check(CLI::IsMember({"pronounced", "written"}));
  kspon->callback([] {
    const auto r = prepare_ksponspeech(root, out, spelling == "written" ? KsponSpelling::Written : KsponSpelling::Pronounced,
                                       scripts);
    spdlog::info("{} utterances ({} empty after normalisation, skipped)", r.utterances, r.empty_after_normalisation);
    if (r.missing_audio > 0)
      spdlog::warn("{} utterances listed in the script files have no .pcm under {} (skipped)", r.missing_audio, root);
    for (const auto& m : r.manifests) spdlog::info("wrote {}", m);
  });

  auto* compose = with_example(data->add_subcommand("jamo-compose", "Compose conjoining jamo on stdin into Hangul syllables"),
                   "sori transcribe --checkpoint runs/demo_ko/checkpoints/last.ckpt a.wav | sori data jamo-compose");
  compose->callback([] {
    std::string line;
    while (std::getline(std::cin, line)) std::cout << jamo::compose_utf8(line) << '\n';
  });
}

}  // namespace sori::cli
