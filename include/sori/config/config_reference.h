// The reference of every config key (docs/CONFIG.md), generated from the one key list
// (src/config/config_schema.h) with the meaning each key carries there, so the documentation
// lists exactly the keys the loader accepts, with the defaults it applies.
#pragma once

#include <string>
#include <vector>

namespace sori {

// One key of the config. Keys come in schema order, and a section (a mapping of further keys,
// such as model.train_ds) comes before the keys inside it.
struct ConfigKeyInfo {
  std::string path;          // dotted: "model.train_ds.batch_duration"
  bool section = false;      // a mapping; type and default_yaml are then empty
  std::string type;          // "string", "integer", "number", "boolean", "list of numbers", ...
  std::string default_yaml;  // a default-constructed Config's value as config_to_yaml writes it
  std::string meaning;       // one line of Markdown
};

std::vector<ConfigKeyInfo> config_key_infos();

// docs/CONFIG.md: a header naming the command that regenerates it (`sori config docs`), then
// one table (key, type, default, meaning) per section that holds values, in schema order.
std::string config_reference_markdown();

}  // namespace sori
