#include "sori/export/nemo_archive.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>
#include <zlib.h>

#include <torch/torch.h>

#include <cstring>
#include <filesystem>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/export/nemo_state_dict.h"

namespace sori {

namespace {

// Runs a whole buffer through an initialised zlib stream (deflate or inflate); `step` is
// deflate/inflate with its flush mode bound.
template <class Step>
std::string run_zlib(z_stream& zs, const std::string& in, Step step, const std::string& what) {
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[1 << 16];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = step(&zs);
    SORI_CHECK(rc == Z_OK || rc == Z_STREAM_END, what);
    out.append(buf, sizeof buf - zs.avail_out);
  } while (rc != Z_STREAM_END);
  return out;
}

std::string gzip(const std::string& in) {
  z_stream zs{};
  SORI_CHECK(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK, "gzip: cannot initialise zlib");
  auto out = run_zlib(zs, in, [](z_streamp z) { return deflate(z, Z_FINISH); }, "gzip: compression failed");
  deflateEnd(&zs);
  return out;
}

std::string gunzip(const std::string& in, const std::string& path) {
  z_stream zs{};
  SORI_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, "gzip: cannot initialise zlib");
  auto out = run_zlib(zs, in, [](z_streamp z) { return inflate(z, Z_NO_FLUSH); }, path + ": corrupt gzip data");
  inflateEnd(&zs);
  return out;
}

void ustar_header(std::string& tar, const std::string& name, std::size_t size) {
  SORI_CHECK(name.size() < 100, "tar: member name too long: ", name);
  std::string h(512, '\0');
  std::memcpy(h.data(), name.data(), name.size());
  std::snprintf(h.data() + 100, 8, "%07o", 0644u);
  std::snprintf(h.data() + 108, 8, "%07o", 0u);
  std::snprintf(h.data() + 116, 8, "%07o", 0u);
  std::snprintf(h.data() + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(h.data() + 136, 12, "%011o", 0u);
  h[156] = '0';
  std::memcpy(h.data() + 257, "ustar", 6);
  std::memcpy(h.data() + 263, "00", 2);
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h.data() + 148, 8, "%06o", sum);
  tar += h;
}

}  // namespace

std::map<std::string, std::string> read_tar_archive(const std::string& path) {
  std::string data = read_file(path);
  if (data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b)
    data = gunzip(data, path);
  SORI_CHECK(data.size() >= 512, path, ": not a tar archive (", data.size(), " bytes, less than one tar header)");
  std::map<std::string, std::string> files;
  std::size_t pos = 0;
  while (pos + 512 <= data.size()) {
    const char* h = data.data() + pos;
    if (h[0] == '\0') break;  // end-of-archive blocks
    SORI_CHECK(std::string(h + 257, 5) == "ustar", path, ": not a tar archive (no ustar header at byte ", pos, ")");
    std::string name(h, strnlen(h, 100));
    const std::string prefix(h + 345, strnlen(h + 345, 155));
    if (!prefix.empty()) name = prefix + "/" + name;
    std::uint64_t size = 0;  // octal digits, padded with spaces or NULs
    for (const char* c = h + 124; c < h + 136 && *c != '\0'; ++c) {
      if (*c == ' ') continue;
      SORI_CHECK(*c >= '0' && *c <= '7', path, ": damaged tar header at byte ", pos, " (size field is not octal)");
      size = size * 8 + static_cast<std::uint64_t>(*c - '0');
    }
    const char type = h[156];
    pos += 512;
    SORI_CHECK(pos + size <= data.size(), path, ": truncated tar member ", name);
    if (type == '0' || type == '\0') {
      while (name.rfind("./", 0) == 0) name = name.substr(2);
      files[name] = data.substr(pos, size);
    }
    pos += (size + 511) / 512 * 512;
  }
  return files;
}

void write_tar_gz(const std::string& path, const std::map<std::string, std::string>& files) {
  std::string tar;
  for (const auto& [name, data] : files) {
    ustar_header(tar, "./" + name, data.size());
    tar += data;
    tar.append((512 - data.size() % 512) % 512, '\0');
  }
  tar.append(1024, '\0');
  write_file_atomic(path, gzip(tar));
}

std::string nemo_model_config(const PretrainedModel& m) {
  const auto& c = m.config.model;
  const bool spe = m.tokenizer->type() == "sentencepiece";
  YAML::Emitter y;
  y << YAML::BeginMap;
  y << YAML::Key << "sample_rate" << YAML::Value << c.sample_rate;
  y << YAML::Key << "target" << YAML::Value
    << (spe ? "nemo.collections.asr.models.ctc_bpe_models.EncDecCTCModelBPE" : "nemo.collections.asr.models.ctc_models.EncDecCTCModel");
  const auto vocab = m.tokenizer->vocabulary();
  if (!spe) y << YAML::Key << "labels" << YAML::Value << YAML::Flow << vocab;
  if (spe) {
    y << YAML::Key << "tokenizer" << YAML::Value << YAML::BeginMap << YAML::Key << "dir" << YAML::Value << YAML::Null
      << YAML::Key << "type" << YAML::Value << "bpe" << YAML::Key << "model_path" << YAML::Value << "nemo:tokenizer.model"
      << YAML::Key << "vocab_path" << YAML::Value << "nemo:vocab.txt" << YAML::EndMap;
  }
  const auto& p = c.preprocessor;
  y << YAML::Key << "preprocessor" << YAML::Value << YAML::BeginMap
    << YAML::Key << "_target_" << YAML::Value << "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor"
    << YAML::Key << "sample_rate" << YAML::Value << c.sample_rate << YAML::Key << "normalize" << YAML::Value << "per_feature"
    << YAML::Key << "window_size" << YAML::Value << p.window_size << YAML::Key << "window_stride" << YAML::Value << p.window_stride
    << YAML::Key << "window" << YAML::Value << "hann" << YAML::Key << "features" << YAML::Value << p.features
    << YAML::Key << "n_fft" << YAML::Value << p.n_fft << YAML::Key << "log" << YAML::Value << true
    << YAML::Key << "frame_splicing" << YAML::Value << 1 << YAML::Key << "dither" << YAML::Value << p.dither
    << YAML::Key << "pad_to" << YAML::Value << 0 << YAML::Key << "pad_value" << YAML::Value << 0.0 << YAML::EndMap;
  const auto& e = c.encoder;
  y << YAML::Key << "encoder" << YAML::Value << YAML::BeginMap
    << YAML::Key << "_target_" << YAML::Value << "nemo.collections.asr.modules.ConformerEncoder"
    << YAML::Key << "feat_in" << YAML::Value << e.feat_in << YAML::Key << "feat_out" << YAML::Value << -1
    << YAML::Key << "n_layers" << YAML::Value << e.n_layers << YAML::Key << "d_model" << YAML::Value << e.d_model
    << YAML::Key << "subsampling" << YAML::Value << e.subsampling << YAML::Key << "subsampling_factor" << YAML::Value
    << e.subsampling_factor << YAML::Key << "subsampling_conv_channels" << YAML::Value << e.subsampling_conv_channels
    << YAML::Key << "ff_expansion_factor" << YAML::Value << e.ff_expansion_factor << YAML::Key << "self_attention_model"
    << YAML::Value << e.self_attention_model << YAML::Key << "n_heads" << YAML::Value << e.n_heads
    << YAML::Key << "att_context_size" << YAML::Value << YAML::Flow << std::vector<int>{-1, -1}
    << YAML::Key << "xscaling" << YAML::Value << e.xscaling << YAML::Key << "untie_biases" << YAML::Value << e.untie_biases
    << YAML::Key << "pos_emb_max_len" << YAML::Value << e.pos_emb_max_len << YAML::Key << "conv_kernel_size" << YAML::Value
    << e.conv_kernel_size << YAML::Key << "conv_norm_type" << YAML::Value << e.conv_norm_type << YAML::Key << "dropout"
    << YAML::Value << e.dropout << YAML::Key << "dropout_pre_encoder" << YAML::Value << e.dropout_pre_encoder
    << YAML::Key << "dropout_emb" << YAML::Value << e.dropout_emb << YAML::Key << "dropout_att" << YAML::Value << e.dropout_att;
  // Only when set: older NeMo releases have no such argument and would refuse the config.
  if (e.use_pytorch_sdpa) y << YAML::Key << "use_pytorch_sdpa" << YAML::Value << true;
  y << YAML::EndMap;
  y << YAML::Key << "decoder" << YAML::Value << YAML::BeginMap
    << YAML::Key << "_target_" << YAML::Value << "nemo.collections.asr.modules.ConvASRDecoder"
    << YAML::Key << "feat_in" << YAML::Value << e.d_model << YAML::Key << "num_classes" << YAML::Value
    << m.tokenizer->vocab_size() << YAML::Key << "vocabulary" << YAML::Value << YAML::Flow << vocab << YAML::EndMap;
  y << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

void export_nemo_archive(PretrainedModel& m, const std::string& path) {
  std::map<std::string, std::string> files;
  files["model_config.yaml"] = nemo_model_config(m);
  files["model_weights.ckpt"] = nemo_weights_pickle(m.model);
  const auto dir = std::filesystem::temp_directory_path() / ("sori_nemo_out_" + std::to_string(::getpid()));
  if (m.tokenizer->type() == "sentencepiece") {
    m.tokenizer->save(dir.string());
    files["tokenizer.model"] = read_file((dir / "tokenizer.model").string());
    files["vocab.txt"] = read_file((dir / "vocab.txt").string());
    std::filesystem::remove_all(dir);
  }
  write_tar_gz(path, files);
}

}  // namespace sori
