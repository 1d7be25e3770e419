#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sentencepiece_module.h"
#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/core/text.h"
#include "sori/data/manifest.h"
#include "sori/data/tokenizer.h"

namespace sori {

namespace {

// The SentencePiece module's functions, resolved once. dlmopen gives the module a link namespace
// of its own, where its bundled protobuf-lite cannot meet LibTorch's libprotobuf. Looked for
// beside the running binary first (an installed layout), then where the build put it;
// SORI_SPM_MODULE overrides both.
struct SpmModule {
  decltype(&sori_spm_load) load;
  decltype(&sori_spm_free) free;
  decltype(&sori_spm_encode) encode;
  decltype(&sori_spm_decode) decode;
  decltype(&sori_spm_piece_size) piece_size;
  decltype(&sori_spm_unk_id) unk_id;
  decltype(&sori_spm_id_to_piece) id_to_piece;
  decltype(&sori_spm_train) train;

  static const SpmModule& get() {
    static const SpmModule module = open();
    return module;
  }

 private:
  static SpmModule open() {
    namespace fs = std::filesystem;
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("SORI_SPM_MODULE")) candidates.emplace_back(env);
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) candidates.push_back((exe.parent_path() / "libsori_spm.so").string());
    candidates.emplace_back(SORI_SPM_MODULE_PATH);
    void* handle = nullptr;
    std::string errors;
    for (const auto& c : candidates) {
      if (!fs::exists(c)) continue;
      handle = ::dlmopen(LM_ID_NEWLM, c.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle) break;
      errors += std::string("\n  ") + ::dlerror();
    }
    SORI_CHECK(handle != nullptr, "sentencepiece: cannot load libsori_spm.so (looked beside the binary and at ",
               SORI_SPM_MODULE_PATH, ")", errors);
    SpmModule m;
    m.load = reinterpret_cast<decltype(m.load)>(symbol(handle, "sori_spm_load"));
    m.free = reinterpret_cast<decltype(m.free)>(symbol(handle, "sori_spm_free"));
    m.encode = reinterpret_cast<decltype(m.encode)>(symbol(handle, "sori_spm_encode"));
    m.decode = reinterpret_cast<decltype(m.decode)>(symbol(handle, "sori_spm_decode"));
    m.piece_size = reinterpret_cast<decltype(m.piece_size)>(symbol(handle, "sori_spm_piece_size"));
    m.unk_id = reinterpret_cast<decltype(m.unk_id)>(symbol(handle, "sori_spm_unk_id"));
    m.id_to_piece = reinterpret_cast<decltype(m.id_to_piece)>(symbol(handle, "sori_spm_id_to_piece"));
    m.train = reinterpret_cast<decltype(m.train)>(symbol(handle, "sori_spm_train"));
    return m;
  }
  static void* symbol(void* handle, const char* name) {
    void* f = ::dlsym(handle, name);
    SORI_CHECK(f != nullptr, "sentencepiece: libsori_spm.so lacks ", name);
    return f;
  }
};

}  // namespace

struct SentencePieceTokenizer::Impl {
  void* processor = nullptr;
  std::string serialized;
  int unk_id = -1;
  int piece_size = 0;
  ~Impl() {
    if (processor) SpmModule::get().free(processor);
  }
};

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_file) : impl_(std::make_unique<Impl>()) {
  const auto& spm = SpmModule::get();
  impl_->serialized = read_file(model_file);
  char error[512] = "";
  impl_->processor = spm.load(impl_->serialized.data(), impl_->serialized.size(), error, sizeof error);
  SORI_CHECK(impl_->processor != nullptr, "sentencepiece model ", model_file, ": ", error);
  impl_->unk_id = spm.unk_id(impl_->processor);
  impl_->piece_size = spm.piece_size(impl_->processor);
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int> SentencePieceTokenizer::encode(const std::string& text) const {
  const std::string normalized = normalize_whitespace(text);
  std::vector<int> ids(normalized.size() + 8);
  int n = SpmModule::get().encode(impl_->processor, normalized.data(), normalized.size(), ids.data(),
                                  static_cast<int>(ids.size()));
  if (n > static_cast<int>(ids.size())) {
    ids.resize(static_cast<std::size_t>(n));
    SpmModule::get().encode(impl_->processor, normalized.data(), normalized.size(), ids.data(), n);
  }
  ids.resize(static_cast<std::size_t>(n));
  for (int id : ids)
    if (id == impl_->unk_id) unknown_.fetch_add(1);
  return ids;
}

namespace {
// Calls fill(buffer, capacity) until the text fits.
template <class Fill>
std::string fill_string(Fill fill) {
  std::string out(64, '\0');
  int n = fill(out.data(), static_cast<int>(out.size()));
  if (n > static_cast<int>(out.size())) {
    out.resize(static_cast<std::size_t>(n));
    fill(out.data(), n);
  }
  out.resize(static_cast<std::size_t>(n));
  return out;
}
}  // namespace

std::string SentencePieceTokenizer::decode(const std::vector<int>& ids) const {
  std::vector<int> valid;
  for (int id : ids)
    if (id >= 0 && id < vocab_size()) valid.push_back(id);
  return fill_string([&](char* buf, int cap) {
    return SpmModule::get().decode(impl_->processor, valid.data(), static_cast<int>(valid.size()), buf, cap);
  });
}

int SentencePieceTokenizer::vocab_size() const { return impl_->piece_size; }

std::vector<std::string> SentencePieceTokenizer::vocabulary() const {
  std::vector<std::string> v;
  for (int i = 0; i < vocab_size(); ++i)
    v.push_back(fill_string([&](char* buf, int cap) { return SpmModule::get().id_to_piece(impl_->processor, i, buf, cap); }));
  return v;
}

void SentencePieceTokenizer::save(const std::string& dir) const {
  write_file_atomic((std::filesystem::path(dir) / "tokenizer.model").string(), impl_->serialized);
  std::string vocab;
  for (const auto& p : vocabulary()) vocab += p + "\n";
  write_file_atomic((std::filesystem::path(dir) / "vocab.txt").string(), vocab);
}

void train_sentencepiece(const std::vector<std::string>& manifests, const std::string& dir, int vocab_size,
                         const std::string& model_type) {
  SORI_CHECK(model_type == "bpe" || model_type == "unigram",
             "tokenizer train: --type expects bpe or unigram, found '", model_type, "'");
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  const std::string text_file = (fs::path(dir) / "train_text.txt").string();
  {
    std::string text;
    for (const auto& m : manifests)
      for (const auto& e : read_manifest(m)) text += normalize_whitespace(e.text) + "\n";
    write_file_atomic(text_file, text);
  }
  // Train into a temporary prefix, then rename, so a failed run never leaves a half model.
  const std::string prefix = (fs::path(dir) / "tokenizer.partial").string();
  const std::string args = "--input=" + text_file + " --model_prefix=" + prefix +
                           " --vocab_size=" + std::to_string(vocab_size) + " --model_type=" + model_type +
                           " --character_coverage=1.0 --bos_id=-1 --eos_id=-1 --unk_id=0 --minloglevel=2"
                           " --num_threads=2 --hard_vocab_limit=false";
  char error[1024] = "";
  SORI_CHECK(SpmModule::get().train(args.c_str(), error, sizeof error), "tokenizer train: sentencepiece failed: ", error);
  fs::remove(text_file);
  fs::remove(prefix + ".vocab");
  SentencePieceTokenizer trained(prefix + ".model");
  trained.save(dir);
  fs::remove(prefix + ".model");
}

}  // namespace sori
