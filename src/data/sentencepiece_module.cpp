// Everything of Sori that touches the SentencePiece library (see CMakeLists.txt for why it is a
// separately loaded module, and sentencepiece_module.h for the calling convention).
#include "sentencepiece_module.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstring>
#include <string>
#include <vector>

namespace {
using Processor = sentencepiece::SentencePieceProcessor;

void copy_error(const std::string& message, char* error, std::size_t capacity) {
  if (capacity == 0) return;
  const std::size_t n = std::min(message.size(), capacity - 1);
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

int copy_out(const std::string& s, char* out, int capacity) {
  if (static_cast<int>(s.size()) <= capacity) std::memcpy(out, s.data(), s.size());
  return static_cast<int>(s.size());
}
}  // namespace

extern "C" {

void* sori_spm_load(const char* model, std::size_t size, char* error, std::size_t error_capacity) {
  auto* sp = new Processor();
  const auto status = sp->LoadFromSerializedProto(std::string_view(model, size));
  if (!status.ok()) {
    copy_error(status.ToString(), error, error_capacity);
    delete sp;
    return nullptr;
  }
  return sp;
}

void sori_spm_free(void* p) { delete static_cast<Processor*>(p); }

int sori_spm_encode(void* p, const char* text, std::size_t size, int* ids, int capacity) {
  std::vector<int> out;
  static_cast<Processor*>(p)->Encode(std::string_view(text, size), &out);
  if (static_cast<int>(out.size()) <= capacity) std::copy(out.begin(), out.end(), ids);
  return static_cast<int>(out.size());
}

int sori_spm_decode(void* p, const int* ids, int count, char* text, int capacity) {
  std::string out;
  static_cast<Processor*>(p)->Decode(std::vector<int>(ids, ids + count), &out);
  return copy_out(out, text, capacity);
}

int sori_spm_piece_size(void* p) { return static_cast<Processor*>(p)->GetPieceSize(); }

int sori_spm_unk_id(void* p) { return static_cast<Processor*>(p)->unk_id(); }

int sori_spm_id_to_piece(void* p, int id, char* piece, int capacity) {
  return copy_out(static_cast<Processor*>(p)->IdToPiece(id), piece, capacity);
}

int sori_spm_train(const char* args, char* error, std::size_t error_capacity) {
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) copy_error(status.ToString(), error, error_capacity);
  return status.ok() ? 1 : 0;
}
}
