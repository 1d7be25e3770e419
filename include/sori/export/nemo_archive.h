// Reading and writing .nemo archives as NeMo's SaveRestoreConnector lays them out (tar.gz with
// model_config.yaml, model_weights.ckpt and the tokenizer files the config references as
// nemo:<file>), so that NeMo's restore_from and our import-nemo read them.
#pragma once

#include <map>
#include <string>

#include "sori/train/pretrained.h"

namespace sori {

// name -> bytes of every regular file in a tar or tar.gz ("./" prefixes removed).
std::map<std::string, std::string> read_tar_archive(const std::string& path);
// A gzip-compressed ustar archive of the given files (written atomically).
void write_tar_gz(const std::string& path, const std::map<std::string, std::string>& files);

// NeMo's model_config.yaml for an EncDecCTCModel (char) or EncDecCTCModelBPE (sentencepiece).
std::string nemo_model_config(const PretrainedModel& model);

void export_nemo_archive(PretrainedModel& model, const std::string& path);

}  // namespace sori
