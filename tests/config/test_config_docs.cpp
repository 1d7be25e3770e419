// The config reference (docs/CONFIG.md) walks the same key list as the YAML reader and writer.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <set>
#include <string>

#include "sori/config/config.h"
#include "sori/config/config_reference.h"
#include "sori/core/text.h"

using namespace sori;

namespace {
// Dotted paths of the values (not the mappings) in a YAML tree.
void value_paths(const YAML::Node& node, const std::string& prefix, std::set<std::string>& out) {
  for (const auto& kv : node) {
    const std::string path = prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>();
    if (kv.second.IsMap()) value_paths(kv.second, path, out);
    else out.insert(path);
  }
}
}  // namespace

TEST(ConfigReference, EveryKeyHasAOneLineMeaningATypeAndADefault) {
  const auto keys = config_key_infos();
  ASSERT_GT(keys.size(), 100u);
  std::set<std::string> seen;
  for (const auto& k : keys) {
    EXPECT_TRUE(seen.insert(k.path).second) << k.path << " is listed twice";
    EXPECT_FALSE(trim(k.meaning).empty()) << k.path << ": give it a meaning in src/config/config_schema.h";
    EXPECT_EQ(k.meaning.find('\n'), std::string::npos) << k.path << ": a meaning is one line";
    if (k.section) continue;
    EXPECT_FALSE(k.type.empty()) << k.path;
    EXPECT_FALSE(k.default_yaml.empty()) << k.path;
  }
}

TEST(ConfigReference, ListsExactlyTheKeysConfigShowPrints) {
  std::set<std::string> printed;
  value_paths(YAML::Load(config_to_yaml(Config{})), "", printed);
  std::set<std::string> listed;
  for (const auto& k : config_key_infos())
    if (!k.section) listed.insert(k.path);
  EXPECT_EQ(listed, printed);
}

TEST(ConfigReference, TypesAndDefaultsAreWhatYamlReadsAndWrites) {
  std::map<std::string, ConfigKeyInfo> by_path;
  for (const auto& k : config_key_infos()) by_path[k.path] = k;
  const auto& betas = by_path.at("model.optim.betas");
  EXPECT_EQ(betas.type, "list of numbers");
  EXPECT_EQ(betas.default_yaml, "[0.9, 0.98]");
  EXPECT_EQ(by_path.at("trainer.val_check_interval").type, "integer or fraction");
  EXPECT_EQ(by_path.at("trainer.val_check_interval").default_yaml, "1.0");  // a float: a fraction of an epoch
  EXPECT_EQ(by_path.at("trainer.max_steps").type, "integer");
  EXPECT_EQ(by_path.at("trainer.max_steps").default_yaml, "-1");
  EXPECT_EQ(by_path.at("trainer.sync_batchnorm").default_yaml, "true");
  EXPECT_EQ(by_path.at("model.tokenizer.type").default_yaml, "char");
  EXPECT_EQ(by_path.at("model.train_ds.manifest_filepath").type, "list of strings");
  EXPECT_TRUE(by_path.at("model.train_ds").section);

  // Each default, read back as a command-line override, gives the default config.
  std::vector<std::string> overrides;
  for (const auto& [path, k] : by_path)
    if (!k.section) overrides.push_back(path + "=" + k.default_yaml);
  EXPECT_EQ(config_to_yaml(load_config_from_string("", "defaults", overrides)),
            config_to_yaml(load_config_from_string("", "defaults")));
}

TEST(ConfigReference, MarkdownHasOneTablePerSectionAndARowPerKey) {
  const auto md = config_reference_markdown();
  EXPECT_NE(md.find("sori config docs --output docs/CONFIG.md"), std::string::npos);
  for (const char* section : {"\n## `model.train_ds`\n", "\n## `model.encoder`\n", "\n## `trainer`\n",
                              "\n## `checkpoint.early_stopping`\n"})
    EXPECT_NE(md.find(section), std::string::npos) << section;
  for (const auto& k : config_key_infos())
    if (!k.section)
      EXPECT_NE(md.find("| `" + k.path + "` | " + k.type + " | `" + k.default_yaml + "` | "), std::string::npos)
          << k.path;
}
