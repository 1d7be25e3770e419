// YAML reader and writer driven by schema::visit_fields. Private to src/config.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config_schema.h"
#include "sori/core/error.h"
#include "sori/core/text.h"

namespace sori::yaml_io {

// Where a node came from: "file.yaml:12", or the command-line override that set it.
struct Source {
  std::string file;
  std::map<std::string, std::string> overrides;  // key path -> "key=value" as typed
  std::string where(const std::string& path, const YAML::Node& node) const {
    auto it = overrides.find(path);
    if (it != overrides.end()) return "command-line override '" + it->second + "'";
    if (node.Mark().is_null()) return file;
    return file + ":" + std::to_string(node.Mark().line + 1);
  }
};

inline bool is_integer_literal(const std::string& s) {
  static const std::regex re(R"(^[+-]?[0-9]+$)");
  return std::regex_match(s, re);
}

class Reader {
 public:
  Reader(const YAML::Node& node, std::string path, const Source& source)
      : node_(node), path_(std::move(path)), source_(source) {}

  template <class T>
  void operator()(const char* key, T& value, const char* /*meaning*/) {
    known_.emplace_back(key);
    YAML::Node child = node_[key];
    if (!child.IsDefined()) return;
    read(child, join(key), value);
  }

  // Every key present must be one the schema named.
  void check_unknown() const {
    for (const auto& kv : node_) {
      const std::string key = kv.first.as<std::string>();
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
      SORI_FAIL("config ", source_.where(join(key), kv.first), ": unknown key '", join(key),
                "'; did you mean '", join(nearest(key, known_)), "'?");
    }
  }

 private:
  std::string join(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  [[noreturn]] void type_error(const YAML::Node& n, const std::string& path, const char* expected) const {
    std::string found = n.IsScalar() ? "'" + n.Scalar() + "'" : (n.IsSequence() ? "a list" : "a mapping");
    SORI_FAIL("config ", source_.where(path, n), ": key '", path, "' expects ", expected, ", found ", found);
  }

  void read(const YAML::Node& n, const std::string& path, std::string& v) const {
    if (n.IsNull()) { v.clear(); return; }
    if (!n.IsScalar()) type_error(n, path, "a string");
    v = n.Scalar();
  }
  void read(const YAML::Node& n, const std::string& path, bool& v) const {
    if (!n.IsScalar()) type_error(n, path, "true or false");
    try { v = n.as<bool>(); } catch (const YAML::Exception&) { type_error(n, path, "true or false"); }
  }
  template <class Int>
  void read_int(const YAML::Node& n, const std::string& path, Int& v) const {
    if (!n.IsScalar() || !is_integer_literal(n.Scalar())) type_error(n, path, "an integer");
    try { v = n.as<Int>(); } catch (const YAML::Exception&) { type_error(n, path, "an integer in range"); }
  }
  void read(const YAML::Node& n, const std::string& path, int& v) const { read_int(n, path, v); }
  void read(const YAML::Node& n, const std::string& path, std::int64_t& v) const { read_int(n, path, v); }
  void read(const YAML::Node& n, const std::string& path, std::uint64_t& v) const { read_int(n, path, v); }
  void read(const YAML::Node& n, const std::string& path, double& v) const {
    if (!n.IsScalar()) type_error(n, path, "a number");
    try { v = n.as<double>(); } catch (const YAML::Exception&) { type_error(n, path, "a number"); }
  }
  void read(const YAML::Node& n, const std::string& path, FractionOrCount& v) const {
    if (!n.IsScalar()) type_error(n, path, "an integer count or a float fraction");
    if (is_integer_literal(n.Scalar())) {
      std::int64_t count;
      read_int(n, path, count);
      SORI_CHECK(count >= 0, "config ", source_.where(path, n), ": key '", path,
                 "' expects a count >= 0, found ", count);
      v = FractionOrCount::count(static_cast<double>(count));
    } else {
      double f;
      read(n, path, f);
      SORI_CHECK(f >= 0.0 && f <= 1.0, "config ", source_.where(path, n), ": key '", path,
                 "' is a float, so a fraction in [0, 1] (write an integer for a count), found ", n.Scalar());
      v = FractionOrCount::fraction(f);
    }
  }
  // Lists also accept a comma-separated scalar ("a.jsonl,b.jsonl"), as NeMo manifests do.
  template <class T>
  void read(const YAML::Node& n, const std::string& path, std::vector<T>& v) const {
    v.clear();
    if (n.IsNull()) return;
    if (n.IsScalar()) {
      for (const auto& part : split(n.Scalar(), ',')) {
        std::string t = trim(part);
        if (t.empty()) continue;
        T item;
        read(YAML::Node(t), path, item);
        v.push_back(item);
      }
      return;
    }
    if (!n.IsSequence()) type_error(n, path, "a list");
    for (std::size_t i = 0; i < n.size(); ++i) {
      T item;
      read(n[i], path + "[" + std::to_string(i) + "]", item);
      v.push_back(item);
    }
  }
  template <class Struct>
  void read(const YAML::Node& n, const std::string& path, Struct& s) const {
    if (n.IsNull()) return;
    if (!n.IsMap()) type_error(n, path, "a mapping");
    Reader sub(n, path, source_);
    schema::visit_fields(sub, s);
    sub.check_unknown();
  }

  YAML::Node node_;
  std::string path_;
  const Source& source_;
  std::vector<std::string> known_;
};

class Writer {
 public:
  explicit Writer(YAML::Emitter& out) : out_(out) {}

  template <class T>
  void operator()(const char* key, T& value, const char* /*meaning*/) {
    out_ << YAML::Key << key << YAML::Value;
    write(value);
  }

  // One value on its own, as it appears after `key: ` (docs/CONFIG.md's defaults).
  template <class T>
  void value(T& v) {
    write(v);
  }

 private:
  void write(std::string& v) {
    if (v.empty()) out_ << YAML::Null;
    else out_ << v;
  }
  void write(bool v) { out_ << v; }
  void write(int v) { out_ << v; }
  void write(std::int64_t v) { out_ << v; }
  void write(std::uint64_t v) { out_ << v; }
  // A float always shows a '.' or exponent so that it re-reads as a float (int vs float matters).
  void write(double v) {
    std::ostringstream os;
    os.precision(10);
    os << v;
    std::string s = os.str();
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
    out_ << YAML::Node(s);
  }
  void write(FractionOrCount& v) {
    if (v.is_fraction) write(v.value);
    else out_ << static_cast<std::int64_t>(v.value);
  }
  template <class T>
  void write(std::vector<T>& v) {
    out_ << YAML::Flow << YAML::BeginSeq;
    for (auto& x : v) write(x);
    out_ << YAML::EndSeq;
  }
  template <class Struct>
  void write(Struct& s) {
    out_ << YAML::BeginMap;
    schema::visit_fields(*this, s);
    out_ << YAML::EndMap;
  }

  YAML::Emitter& out_;
};

}  // namespace sori::yaml_io
