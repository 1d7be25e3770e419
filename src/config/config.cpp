#include "sori/config/config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "yaml_io.h"

namespace sori {

namespace {

// Sets `a.b.c` in the YAML tree to the parsed value, creating mappings on the way.
void apply_override(YAML::Node& root, const std::string& text, yaml_io::Source& source) {
  const auto eq = text.find('=');
  SORI_CHECK(eq != std::string::npos && eq > 0, "command-line override '", text,
             "': expected key.path=value");
  const std::string path = trim(text.substr(0, eq));
  const std::string value = text.substr(eq + 1);
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    SORI_FAIL("command-line override '", text, "': value is not valid YAML: ", e.msg);
  }
  const auto keys = split(path, '.');
  std::vector<YAML::Node> chain{root};
  for (std::size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node next = chain.back()[keys[i]];
    if (!next.IsDefined() || next.IsNull()) {
      chain.back()[keys[i]] = YAML::Node(YAML::NodeType::Map);
      next = chain.back()[keys[i]];
    }
    SORI_CHECK(next.IsMap(), "command-line override '", text, "': '", keys[i], "' is not a mapping");
    chain.push_back(next);
  }
  chain.back()[keys.back()] = parsed;
  source.overrides[path] = text;
}

Config parse(YAML::Node root, const std::string& source_name, const std::vector<std::string>& overrides) {
  yaml_io::Source source{source_name, {}};
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  SORI_CHECK(root.IsMap(), "config ", source_name, ": expected a mapping at the top level");
  for (const auto& o : overrides) apply_override(root, o, source);

  Config config;
  yaml_io::Reader reader(root, "", source);
  schema::visit_fields(reader, config);
  reader.check_unknown();

  if (config.trainer.run_dir.empty()) config.trainer.run_dir = "runs/" + config.name;
  if (config.model.encoder.feat_in < 0) config.model.encoder.feat_in = config.model.preprocessor.features;
  const auto& tk = config.model.tokenizer.type;
  SORI_CHECK(tk == "char" || tk == "sentencepiece" || tk == "jamo", "config ", source_name,
             ": model.tokenizer.type expects char, sentencepiece or jamo, found '", tk, "'");
  return config;
}

}  // namespace

Config load_config_from_string(const std::string& yaml, const std::string& source_name,
                               const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    SORI_FAIL("config ", source_name, ":", e.mark.line + 1, ": invalid YAML: ", e.msg);
  }
  try {
    return parse(root, source_name, overrides);
  } catch (const YAML::Exception& e) {  // a conversion the typed reader did not expect (fuzzing found some)
    SORI_FAIL("config ", source_name, (e.mark.is_null() ? std::string() : ":" + std::to_string(e.mark.line + 1)),
              ": ", e.msg);
  }
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  SORI_CHECK(in, "config ", path, ": cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  return load_config_from_string(ss.str(), path, overrides);
}

std::string config_to_yaml(const Config& config) {
  YAML::Emitter out;
  yaml_io::Writer writer(out);
  Config copy = config;  // visit_fields takes non-const references (one list serves both ways)
  out << YAML::BeginMap;
  schema::visit_fields(writer, copy);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace sori
