// The C interface of libsori_spm (sentencepiece_module.cpp). tokenizer_sentencepiece.cpp loads
// it with dlmopen into a link namespace of its own, which has its own C and C++ runtimes and
// heap: so only plain C data crosses, and every buffer is owned by the side that allocated it.
// Functions that fill a caller's buffer return the size they need; when it exceeds the
// capacity given, nothing useful was written and the caller retries with a larger buffer.
#pragma once

#include <cstddef>

extern "C" {
// A processor, or nullptr with the reason in error.
void* sori_spm_load(const char* model, std::size_t size, char* error, std::size_t error_capacity);
void sori_spm_free(void* processor);
int sori_spm_encode(void* processor, const char* text, std::size_t size, int* ids, int capacity);
int sori_spm_decode(void* processor, const int* ids, int count, char* text, int capacity);
int sori_spm_piece_size(void* processor);
int sori_spm_unk_id(void* processor);
int sori_spm_id_to_piece(void* processor, int id, char* piece, int capacity);
// SentencePieceTrainer::Train(args): 1 on success, else 0 with the reason in error.
int sori_spm_train(const char* args, char* error, std::size_t error_capacity);
}
