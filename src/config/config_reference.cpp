#include "sori/config/config_reference.h"

#include <map>
#include <sstream>

#include "yaml_io.h"

namespace sori {

namespace {

std::string type_name(const std::string&) { return "string"; }
std::string type_name(bool) { return "boolean"; }
std::string type_name(int) { return "integer"; }
std::string type_name(std::int64_t) { return "integer"; }
std::string type_name(std::uint64_t) { return "integer"; }
std::string type_name(double) { return "number"; }
std::string type_name(const FractionOrCount&) { return "integer or fraction"; }
template <class T>
std::string type_name(const std::vector<T>&) {
  return "list of " + type_name(T{}) + "s";
}

// Walks the schema like the YAML reader and writer, collecting one ConfigKeyInfo per key.
class Describer {
 public:
  Describer(std::string prefix, std::vector<ConfigKeyInfo>& out) : prefix_(std::move(prefix)), out_(out) {}

  template <class T>
  void operator()(const char* key, T& value, const char* meaning) {
    add(prefix_.empty() ? std::string(key) : prefix_ + "." + key, value, meaning);
  }

 private:
  template <class Struct>
  void add(const std::string& path, Struct& s, const char* meaning) {
    out_.push_back({path, true, "", "", meaning});
    Describer sub(path, out_);
    schema::visit_fields(sub, s);
  }
  template <class T>
  void add_value(const std::string& path, T& v, const char* meaning) {
    YAML::Emitter yaml;
    yaml_io::Writer(yaml).value(v);
    out_.push_back({path, false, type_name(v), yaml.c_str(), meaning});
  }
  void add(const std::string& path, std::string& v, const char* m) { add_value(path, v, m); }
  void add(const std::string& path, bool& v, const char* m) { add_value(path, v, m); }
  void add(const std::string& path, int& v, const char* m) { add_value(path, v, m); }
  void add(const std::string& path, std::int64_t& v, const char* m) { add_value(path, v, m); }
  void add(const std::string& path, std::uint64_t& v, const char* m) { add_value(path, v, m); }
  void add(const std::string& path, double& v, const char* m) { add_value(path, v, m); }
  void add(const std::string& path, FractionOrCount& v, const char* m) { add_value(path, v, m); }
  template <class T>
  void add(const std::string& path, std::vector<T>& v, const char* m) {
    add_value(path, v, m);
  }

  std::string prefix_;
  std::vector<ConfigKeyInfo>& out_;
};

// A table cell: '|' would end the cell early.
std::string cell(const std::string& text) {
  std::string out;
  for (char ch : text) {
    if (ch == '|') out += '\\';
    out += ch;
  }
  return out;
}

constexpr const char* kHeader = R"(# Config reference

Generated from `src/config/config_schema.h`, the one list of keys, by
`sori config docs --output docs/CONFIG.md`: edit the meanings there and regenerate this file
(`Docs.ConfigReferenceMatchesTheSchema` fails while it differs).

Keys nest as in NeMo's configs (`model.train_ds.batch_duration` is `batch_duration` under
`train_ds` under `model`). Any key can also be set on the command line as `key.path=value`,
Hydra style: `sori train --config C trainer.max_steps=500`. `sori config show --config C` prints
the resolved config. An unknown key is an error naming the file, the line and the nearest valid
key. The defaults are those of a config that sets nothing; the files in `configs/` set many of
them.

Types: an *integer or fraction* reads an integer as a count (frames, steps) and a float in
[0, 1] as a fraction, as NeMo does (`time_width: 40` against `time_width: 0.05`). A *list* may
also be written as one comma-separated string. `~` is empty.
)";

}  // namespace

std::vector<ConfigKeyInfo> config_key_infos() {
  Config defaults;
  std::vector<ConfigKeyInfo> out;
  Describer top("", out);
  schema::visit_fields(top, defaults);
  return out;
}

std::string config_reference_markdown() {
  const auto keys = config_key_infos();
  std::ostringstream md;
  md << kHeader;
  // Sections in schema order, each with the values directly inside it ("" is the top level).
  std::vector<std::string> order{""};
  std::map<std::string, const ConfigKeyInfo*> section_of{{"", nullptr}};
  std::map<std::string, std::vector<const ConfigKeyInfo*>> values;
  for (const auto& k : keys) {
    if (k.section) {
      order.push_back(k.path);
      section_of[k.path] = &k;
    } else {
      const auto dot = k.path.rfind('.');
      values[dot == std::string::npos ? "" : k.path.substr(0, dot)].push_back(&k);
    }
  }
  for (const auto& name : order) {
    md << "\n## " << (name.empty() ? "Top level" : "`" + name + "`") << "\n\n";
    if (section_of[name]) md << section_of[name]->meaning << "\n\n";
    if (values[name].empty()) continue;
    md << "| key | type | default | meaning |\n|---|---|---|---|\n";
    for (const auto* k : values[name])
      md << "| `" << k->path << "` | " << k->type << " | `" << cell(k->default_yaml) << "` | " << cell(k->meaning)
         << " |\n";
  }
  return md.str();
}

}  // namespace sori
