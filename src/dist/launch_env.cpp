#include "sori/dist/launch_env.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>

#include "sori/core/error.h"

namespace sori::dist {
namespace {

std::optional<std::string> get(const GetEnv& env, const char* name) {
  const char* v = env(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

// The whole of `s` as a decimal number; nullopt for anything else (signs, spaces, overflow).
template <typename T>
std::optional<T> to_number(std::string_view s) {
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// An integer with the text that names where it came from ("RANK=3"), for cross-checks' messages.
struct Var {
  int value;
  std::string label;
};

Var named(const std::string& name, int value) {
  return {value, name + "=" + std::to_string(value)};
}

std::optional<Var> get_int(const GetEnv& env, const char* name, int min) {
  auto s = get(env, name);
  if (!s) return std::nullopt;
  auto v = to_number<int>(*s);
  SORI_CHECK(v, "environment: ", name, "='", *s, "' is not an integer");
  SORI_CHECK(*v >= min, "environment: ", name, "=", *v, " must be >= ", min);
  return named(name, *v);
}

Var require_int(const GetEnv& env, const char* name, int min, const std::string& hint = "") {
  auto v = get_int(env, name, min);
  SORI_CHECK(v, "environment: ", name, " is not set", hint);
  return *v;
}

Var default_int(const GetEnv& env, const char* name, int min, int fallback) {
  auto v = get_int(env, name, min);
  return v ? *v
           : Var{fallback,
                 std::string(name) + " (unset, default " + std::to_string(fallback) + ")"};
}

void check_below(const Var& v, const Var& bound) {
  SORI_CHECK(v.value < bound.value, "environment: ", v.label, " is not below ", bound.label);
}

void check_not_above(const Var& v, const Var& bound) {
  SORI_CHECK(v.value <= bound.value, "environment: ", v.label, " exceeds ", bound.label);
}

int read_port(const GetEnv& env, const std::string& hint) {
  Var port = require_int(env, "MASTER_PORT", std::numeric_limits<int>::min(), hint);
  SORI_CHECK(port.value >= 1 && port.value <= 65535, "environment: ", port.label,
             " is outside 1..65535");
  return port.value;
}

bool get_bool(const GetEnv& env, const char* name) {
  auto s = get(env, name);
  if (!s) return false;
  std::string lower = *s;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  SORI_CHECK(lower == "true" || lower == "false", "environment: ", name, "='", *s,
             "' is not True or False");
  return lower == "true";
}

LaunchEnv from_torchrun(const GetEnv& env) {
  Var world = require_int(env, "WORLD_SIZE", 1);
  Var rank = require_int(env, "RANK", 0);
  Var local_world = default_int(env, "LOCAL_WORLD_SIZE", 1, 1);
  Var local_rank = default_int(env, "LOCAL_RANK", 0, 0);
  check_below(rank, world);
  check_below(local_rank, local_world);
  check_not_above(local_world, world);
  auto addr = get(env, "MASTER_ADDR");
  SORI_CHECK(addr,
             "environment: MASTER_ADDR is not set, though RANK and WORLD_SIZE are "
             "(torchrun sets all three)");
  LaunchEnv e;
  e.launcher = "torchrun";
  e.rank = rank.value;
  e.world_size = world.value;
  e.local_rank = local_rank.value;
  e.local_world_size = local_world.value;
  e.master_addr = *addr;
  e.master_port = read_port(env, ", though RANK and WORLD_SIZE are (torchrun sets all three)");
  e.use_agent_store = get_bool(env, "TORCHELASTIC_USE_AGENT_STORE");
  e.restart_count = default_int(env, "TORCHELASTIC_RESTART_COUNT", 0, 0).value;
  return e;
}

// SLURM_(STEP_)TASKS_PER_NODE as (tasks, repetitions) groups: "2(x3),1" -> (2,3) (1,1).
std::vector<std::pair<int, int>> parse_tasks_per_node(const std::string& list, const std::string& name) {
  std::vector<std::pair<int, int>> groups;
  std::string_view rest = list;
  while (true) {
    std::string_view group = rest.substr(0, rest.find(','));
    std::string_view count = group, reps = "1";
    bool ok = true;
    if (auto open = group.find("(x"); open != std::string_view::npos) {
      count = group.substr(0, open);
      reps = group.substr(open + 2);
      ok = !reps.empty() && reps.back() == ')';
      reps.remove_suffix(ok ? 1 : 0);
    }
    auto c = to_number<int>(count);
    auto r = to_number<int>(reps);
    SORI_CHECK(ok && c && r && *c >= 1 && *r >= 1, "environment: ", name, "='", list,
               "' is not a list like 4, 4(x2) or 2(x3),1");
    groups.emplace_back(*c, *r);
    if (group.size() == rest.size()) return groups;
    rest.remove_prefix(group.size() + 1);
  }
}

// This step's tasks per node first (srun sets it; a step may run fewer tasks than the job), then
// the job's --ntasks-per-node, then the job's per-node list.
Var slurm_local_world(const GetEnv& env) {
  auto list = get(env, "SLURM_STEP_TASKS_PER_NODE");
  std::string name = "SLURM_STEP_TASKS_PER_NODE";
  if (!list) {
    if (auto v = get_int(env, "SLURM_NTASKS_PER_NODE", 1)) return *v;
    list = get(env, "SLURM_TASKS_PER_NODE");
    name = "SLURM_TASKS_PER_NODE";
  }
  SORI_CHECK(list,
             "environment: none of SLURM_STEP_TASKS_PER_NODE, SLURM_NTASKS_PER_NODE and "
             "SLURM_TASKS_PER_NODE is set (srun sets them)");
  auto groups = parse_tasks_per_node(*list, name);
  std::string label = name + "='" + *list + "'";
  bool uniform = std::all_of(groups.begin(), groups.end(),
                             [&](const auto& g) { return g.first == groups[0].first; });
  if (uniform) return {groups[0].first, label};
  Var node =
      require_int(env, "SLURM_NODEID", 0, " (needed to pick this node's count in " + label + ")");
  long long first = 0;
  for (const auto& [count, reps] : groups) {
    if (node.value < first + reps) {
      return {count,
              label + " (node " + std::to_string(node.value) + ": " + std::to_string(count) + ")"};
    }
    first += reps;
  }
  SORI_FAIL("environment: ", node.label, " is not below the ", first, " nodes of ", label);
}

std::optional<std::string> slurm_first_host(const GetEnv& env) {
  for (const char* name : {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"}) {
    auto list = get(env, name);
    if (!list) continue;
    try {
      return expand_slurm_nodelist(*list).front();
    } catch (const Error& e) {
      SORI_FAIL("environment: ", name, ": ", e.what());
    }
  }
  return std::nullopt;
}

LaunchEnv from_slurm(const GetEnv& env) {
  // The step's task count first: a step may run fewer tasks than the job has.
  auto world = get_int(env, "SLURM_STEP_NUM_TASKS", 1);
  if (!world) world = get_int(env, "SLURM_NTASKS", 1);
  if (!world) world = get_int(env, "SLURM_NPROCS", 1);
  // One task (or a batch script of a job with no task count) is a plain process: no store.
  if (!world || world->value == 1) return {};
  Var rank = require_int(env, "SLURM_PROCID", 0);
  Var local_rank = require_int(env, "SLURM_LOCALID", 0);
  Var local_world = slurm_local_world(env);
  check_below(rank, *world);
  check_below(local_rank, local_world);
  check_not_above(local_world, *world);
  auto addr = get(env, "MASTER_ADDR");
  if (!addr) addr = slurm_first_host(env);
  SORI_CHECK(addr,
             "environment: MASTER_ADDR is not set and neither is SLURM_STEP_NODELIST, "
             "SLURM_JOB_NODELIST or SLURM_NODELIST to take rank 0's host from");
  LaunchEnv e;
  e.launcher = "slurm";
  e.rank = rank.value;
  e.world_size = world->value;
  e.local_rank = local_rank.value;
  e.local_world_size = local_world.value;
  e.master_addr = *addr;
  e.master_port = read_port(env,
                            ": export MASTER_PORT in the sbatch script before srun "
                            "(see scripts/slurm/train.sbatch)");
  e.restart_count = default_int(env, "SLURM_RESTART_COUNT", 0, 0).value;
  return e;
}

[[noreturn]] void bad_nodelist(const std::string& nodelist, const std::string& why) {
  SORI_FAIL("SLURM node list '", nodelist, "': ", why);
}

// One host pattern without top-level commas, e.g. "r[1-2]n[01,03]-ib", appended to `hosts`.
void expand_host(const std::string& nodelist, std::string_view pattern,
                 std::vector<std::string>& hosts) {
  if (pattern.empty()) bad_nodelist(nodelist, "empty host name");
  std::vector<std::string> partial{""};
  while (!pattern.empty()) {
    std::vector<std::string> pieces;
    if (pattern.front() != '[') {
      std::size_t end = std::min(pattern.find('['), pattern.size());
      std::string_view literal = pattern.substr(0, end);
      if (literal.find(']') != std::string_view::npos) bad_nodelist(nodelist, "']' without '['");
      pieces.emplace_back(literal);
      pattern.remove_prefix(end);
    } else {
      std::size_t close = pattern.find(']');
      if (close == std::string_view::npos) bad_nodelist(nodelist, "'[' without ']'");
      std::string_view ranges = pattern.substr(1, close - 1);
      if (ranges.find('[') != std::string_view::npos) bad_nodelist(nodelist, "nested '['");
      pattern.remove_prefix(close + 1);
      while (true) {
        std::string_view range = ranges.substr(0, ranges.find(','));
        std::string_view lo_text = range.substr(0, range.find('-'));
        std::string_view hi_text =
            lo_text.size() < range.size() ? range.substr(lo_text.size() + 1) : lo_text;
        auto lo = to_number<unsigned long long>(lo_text);
        auto hi = to_number<unsigned long long>(hi_text);
        if (!lo || !hi) bad_nodelist(nodelist, "'" + std::string(range) + "' is not N or N-M");
        if (*hi < *lo) bad_nodelist(nodelist, "range " + std::string(range) + " runs backwards");
        // Bounds memory for a typo like n[1-99999999999] (SLURM itself allows far fewer nodes).
        if (*hi - *lo >= 1'000'000)
          bad_nodelist(nodelist, "range " + std::string(range) + " is too long");
        for (unsigned long long n = *lo; n <= *hi; ++n) {
          std::string digits = std::to_string(n);
          pieces.push_back(
              std::string(lo_text.size() - std::min(lo_text.size(), digits.size()), '0') + digits);
        }
        if (range.size() == ranges.size()) break;
        ranges.remove_prefix(range.size() + 1);
      }
    }
    std::vector<std::string> next;
    next.reserve(partial.size() * pieces.size());
    for (const auto& head : partial)
      for (const auto& piece : pieces) next.push_back(head + piece);
    partial = std::move(next);
  }
  hosts.insert(hosts.end(), partial.begin(), partial.end());
}

}  // namespace

std::string LaunchEnv::key_prefix() const {
  return "/sori/attempt_" + std::to_string(restart_count);
}

std::string LaunchEnv::describe() const {
  std::string store = "none";
  if (!master_addr.empty()) {
    bool ipv6 = master_addr.find(':') != std::string::npos;
    store = (ipv6 ? "[" + master_addr + "]" : master_addr) + ":" + std::to_string(master_port);
  }
  return detail::concat("launcher=", launcher, " rank=", rank, "/", world_size,
                        " local_rank=", local_rank, "/", local_world_size, " store=", store,
                        " agent_store=", use_agent_store ? "yes" : "no",
                        " attempt=", restart_count);
}

LaunchEnv read_launch_env(const GetEnv& env) {
  bool has_rank = get(env, "RANK").has_value();
  bool has_world = get(env, "WORLD_SIZE").has_value();
  SORI_CHECK(has_rank == has_world, "environment: ", has_rank ? "RANK" : "WORLD_SIZE",
             " is set but ", has_rank ? "WORLD_SIZE" : "RANK",
             " is not; set both (torchrun does) or neither");
  if (has_rank) return from_torchrun(env);
  if (get(env, "SLURM_PROCID")) return from_slurm(env);
  return {};
}

std::vector<std::string> expand_slurm_nodelist(const std::string& nodelist) {
  std::vector<std::string> hosts;
  std::string_view rest = nodelist;
  while (true) {
    // A comma splits hosts only outside brackets.
    std::size_t end = 0;
    for (int depth = 0; end < rest.size() && !(rest[end] == ',' && depth == 0); ++end) {
      depth += rest[end] == '[' ? 1 : rest[end] == ']' ? -1 : 0;
    }
    expand_host(nodelist, rest.substr(0, end), hosts);
    if (end == rest.size()) return hosts;
    rest.remove_prefix(end + 1);
  }
}

}  // namespace sori::dist
