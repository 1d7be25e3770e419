#include "sori/export/nemo_import.h"

#include <yaml-cpp/yaml.h>

#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "nemo_pickle.h"
#include "sori/export/nemo_archive.h"
#include "sori/config/config.h"
#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/data/tokenizer.h"
#include "sori/model/ctc_model.h"
#include "sori/train/checkpoint.h"
#include "sori/train/optimizer.h"
#include "sori/train/run_setup.h"

namespace sori {

namespace {

std::string yaml_str(const YAML::Node& n, const char* key, const std::string& fallback = "") {
  return n && n[key] && n[key].IsScalar() ? n[key].as<std::string>() : fallback;
}

template <class T>
void take(const YAML::Node& n, const char* key, T& out) {
  if (n && n[key] && !n[key].IsNull()) out = n[key].as<T>();
}

}  // namespace

NemoImportResult import_nemo(const std::string& nemo_path, const std::string& output, const NemoImportOptions& options) {
  namespace fs = std::filesystem;
  const auto files = read_tar_archive(nemo_path);
  auto file = [&](const std::string& name) -> const std::string& {
    auto it = files.find(name);
    SORI_CHECK(it != files.end(), nemo_path, ": the archive has no ", name);
    return it->second;
  };
  const YAML::Node cfg = YAML::Load(file("model_config.yaml"));
  const auto target = yaml_str(cfg, "target") + yaml_str(cfg, "_target_");
  const auto decoder_target = yaml_str(cfg["decoder"], "_target_");
  SORI_CHECK(!cfg["joint"] && target.find("RNNT") == std::string::npos && target.find("Hybrid") == std::string::npos &&
                 decoder_target.find("RNNT") == std::string::npos,
             nemo_path, ": only CTC models are supported; this is a transducer/hybrid model (", target, ")");
  SORI_CHECK(decoder_target.empty() || decoder_target.find("ConvASRDecoder") != std::string::npos, nemo_path,
             ": unsupported decoder ", decoder_target, " (ConvASRDecoder expected)");
  const auto enc = cfg["encoder"];
  SORI_CHECK(enc, nemo_path, ": model_config.yaml has no encoder section");
  const auto encoder_target = yaml_str(enc, "_target_");
  SORI_CHECK(encoder_target.find("ConformerEncoder") != std::string::npos, nemo_path, ": unsupported encoder ",
             encoder_target, " (ConformerEncoder expected)");

  Config config;
  config.name = fs::path(nemo_path).stem().string();
  auto& m = config.model;
  take(cfg, "sample_rate", m.sample_rate);
  const auto pre = cfg["preprocessor"];
  take(pre, "features", m.preprocessor.features);
  take(pre, "window_size", m.preprocessor.window_size);
  take(pre, "window_stride", m.preprocessor.window_stride);
  take(pre, "n_fft", m.preprocessor.n_fft);
  take(pre, "dither", m.preprocessor.dither);
  SORI_CHECK(yaml_str(pre, "normalize", "per_feature") == "per_feature", nemo_path, ": preprocessor.normalize ",
             yaml_str(pre, "normalize"), " is not supported (per_feature is)");
  auto& e = m.encoder;
  take(enc, "feat_in", e.feat_in);
  take(enc, "n_layers", e.n_layers);
  take(enc, "d_model", e.d_model);
  take(enc, "n_heads", e.n_heads);
  take(enc, "subsampling", e.subsampling);
  take(enc, "subsampling_factor", e.subsampling_factor);
  take(enc, "subsampling_conv_channels", e.subsampling_conv_channels);
  take(enc, "ff_expansion_factor", e.ff_expansion_factor);
  take(enc, "self_attention_model", e.self_attention_model);
  take(enc, "conv_kernel_size", e.conv_kernel_size);
  take(enc, "conv_norm_type", e.conv_norm_type);
  take(enc, "xscaling", e.xscaling);
  take(enc, "untie_biases", e.untie_biases);
  take(enc, "pos_emb_max_len", e.pos_emb_max_len);
  take(enc, "dropout", e.dropout);
  take(enc, "dropout_pre_encoder", e.dropout_pre_encoder);
  take(enc, "dropout_emb", e.dropout_emb);
  take(enc, "dropout_att", e.dropout_att);
  take(enc, "use_pytorch_sdpa", e.use_pytorch_sdpa);
  if (e.subsampling_conv_channels < 0) e.subsampling_conv_channels = e.d_model;  // NeMo's -1
  SORI_CHECK(e.subsampling == "dw_striding" && e.self_attention_model == "rel_pos", nemo_path,
             ": unsupported encoder variant (subsampling ", e.subsampling, ", attention ", e.self_attention_model,
             "); dw_striding with rel_pos is supported");
  SORI_CHECK(e.untie_biases, nemo_path, ": untie_biases false (biases shared across layers) is not supported");

  // Tokenizer: SentencePiece files referenced as nemo:<file>, or the char vocabulary.
  std::map<std::string, std::string> tokenizer_files;
  const auto tok = cfg["tokenizer"];
  if (tok && tok["model_path"]) {
    auto ref = tok["model_path"].as<std::string>();
    if (ref.rfind("nemo:", 0) == 0) ref = ref.substr(5);
    m.tokenizer.type = "sentencepiece";
    tokenizer_files["tokenizer.model"] = file(fs::path(ref).filename().string());
  } else {
    const auto vocab = cfg["decoder"]["vocabulary"];
    SORI_CHECK(vocab && vocab.IsSequence() && vocab.size() > 0, nemo_path,
               ": neither a tokenizer.model_path nor a decoder.vocabulary in model_config.yaml");
    m.tokenizer.type = "char";
    std::string text;
    for (const auto& v : vocab) {
      const auto s = v.as<std::string>();
      text += (s == " " ? std::string("\xE2\x96\x81") : s) + "\n";
      m.decoder.vocabulary.push_back(s);
    }
    tokenizer_files["vocab.txt"] = text;
  }
  const bool new_tokenizer = !options.new_tokenizer_dir.empty();
  if (new_tokenizer) {
    m.tokenizer.type = options.new_tokenizer_type;
    m.decoder.vocabulary.clear();
    tokenizer_files = read_tokenizer_files(options.new_tokenizer_dir);
  }
  const auto tokenizer = load_tokenizer_from_files(m.tokenizer.type, tokenizer_files);
  m.tokenizer.dir = options.tokenizer_out;
  if (!options.tokenizer_out.empty()) tokenizer->save(options.tokenizer_out);

  // Weights: every key of our model must be in NeMo's state dict with the same shape.
  const auto weights = nemo::load_torch_state_dict(file("model_weights.ckpt"), nemo_path + ":model_weights.ckpt");
  CtcModel model(m, tokenizer->vocab_size());
  StateDict sd(weights.begin(), weights.end());
  if (new_tokenizer)  // keep the freshly initialised CTC head of the new size
    for (const auto& [key, t] : state_dict(*model->decoder())) sd["decoder." + key] = t.clone();
  load_state_dict(*model, sd, nemo_path, /*strict=*/true);

  Checkpoint c;
  c.model = state_dict(*model);
  c.optimizer = Optimizer(m.optim, model->parameters()).save();
  c.scaler_scale = torch::ones({});
  c.scaler_growth_tracker = torch::zeros({}, torch::kInt64);
  const auto [cpu_rng, cuda_rng] = capture_rng_state(torch::kCPU);
  c.cpu_rng_states = {cpu_rng};
  c.cuda_rng_states = {cuda_rng};
  c.config_yaml = config_to_yaml(config);
  c.tokenizer_files = tokenizer_files;
  save_checkpoint(output, c);
  return {m.tokenizer.type, tokenizer->vocab_size(), e.n_layers, e.d_model, weights.size()};
}

}  // namespace sori
