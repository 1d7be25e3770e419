#include "nemo_pickle.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <sstream>
#include <variant>
#include <vector>

#include "sori/core/error.h"

namespace sori::nemo {

namespace {

struct Value;
using Ptr = std::shared_ptr<Value>;

// The few kinds of Python object a state-dict pickle contains.
struct Value {
  enum Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor, Mark, Opaque } kind = None;
  std::int64_t i = 0;
  double f = 0;
  std::string s, module;                     // Str / Global (module, s = name)
  std::vector<Ptr> items;                    // Tuple / List
  std::vector<std::pair<Ptr, Ptr>> entries;  // Dict
  torch::Tensor tensor;                      // Storage (1-D) / Tensor
  int depth = 0;                             // nesting of containers below this one
};

Ptr make(Value::Kind k) {
  auto v = std::make_shared<Value>();
  v->kind = k;
  return v;
}

torch::ScalarType storage_dtype(const std::string& name, const std::string& source) {
  static const std::map<std::string, torch::ScalarType> types = {
      {"FloatStorage", torch::kFloat32}, {"DoubleStorage", torch::kFloat64}, {"HalfStorage", torch::kHalf},
      {"BFloat16Storage", torch::kBFloat16}, {"LongStorage", torch::kInt64}, {"IntStorage", torch::kInt32},
      {"ShortStorage", torch::kInt16},     {"CharStorage", torch::kInt8},     {"ByteStorage", torch::kUInt8},
      {"BoolStorage", torch::kBool}};
  auto it = types.find(name);
  SORI_CHECK(it != types.end(), source, ": unsupported storage type torch.", name);
  return it->second;
}

class Unpickler {
 public:
  Unpickler(caffe2::serialize::PyTorchStreamReader& zip, std::string source) : zip_(zip), source_(std::move(source)) {}

  Ptr run(const char* data, std::size_t size) {
    p_ = data;
    end_ = data + size;
    while (p_ < end_) {
      const auto op = static_cast<unsigned char>(*p_++);
      switch (op) {
        case 0x80: byte(); break;                                         // PROTO
        case 'c': { auto g = make(Value::Global); g->module = line(); g->s = line(); push(g); break; }
        case 'q': memo(byte()); break;                                   // BINPUT
        case 'r': memo(u32()); break;                                    // LONG_BINPUT
        case 'h': push(memo_get(byte())); break;                         // BINGET
        case 'j': push(memo_get(u32())); break;                          // LONG_BINGET
        case ')': push(make(Value::Tuple)); break;                       // EMPTY_TUPLE
        case '}': push(make(Value::Dict)); break;                        // EMPTY_DICT
        case ']': push(make(Value::List)); break;                        // EMPTY_LIST
        case '(': push(make(Value::Mark)); break;                        // MARK
        case 'X': { auto s = make(Value::Str); const auto n = u32(); s->s.assign(take(n), n); push(s); break; }
        case 0x8c: { auto s = make(Value::Str); const auto n = byte(); s->s.assign(take(n), n); push(s); break; }
        case 'J': { auto v = make(Value::Int); std::int32_t x; std::memcpy(&x, take(4), 4); v->i = x; push(v); break; }
        case 'K': { auto v = make(Value::Int); v->i = byte(); push(v); break; }
        case 'M': { auto v = make(Value::Int); std::uint16_t x; std::memcpy(&x, take(2), 2); v->i = x; push(v); break; }
        case 0x8a: push(long1()); break;                                  // LONG1
        case 'G': push(binfloat()); break;                               // BINFLOAT
        case 0x88: case 0x89: { auto v = make(Value::Bool); v->i = op == 0x88; push(v); break; }
        case 'N': push(make(Value::None)); break;
        case 't': push(tuple(pop_mark())); break;
        case 0x85: { auto a = pop(); push(tuple({a})); break; }
        case 0x86: { auto b = pop(), a = pop(); push(tuple({a, b})); break; }
        case 0x87: { auto c = pop(), b = pop(), a = pop(); push(tuple({a, b, c})); break; }
        case 'R': { auto args = pop(), fn = pop(); push(reduce(fn, args)); break; }
        case 'b': pop(); break;  // BUILD: object state (OrderedDict's _metadata) is not needed
        case 's': { auto v = pop(), k = pop(); nest(top(), v); top()->entries.emplace_back(k, v); break; }
        case 'u': { auto items = pop_mark(); auto d = top();
                    for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
                      nest(d, items[i + 1]);
                      d->entries.emplace_back(items[i], items[i + 1]);
                    }
                    break; }
        case 'a': { auto v = pop(); nest(top(), v); top()->items.push_back(v); break; }
        case 'e': { auto items = pop_mark(); auto l = top();
                    for (const auto& v : items) nest(l, v);
                    l->items.insert(l->items.end(), items.begin(), items.end()); break; }
        case 'Q': push(persistent_load(pop())); break;                   // BINPERSID
        case '.': SORI_CHECK(!stack_.empty(), source_, ": empty pickle"); return stack_.back();  // STOP
        default: SORI_FAIL(source_, ": unsupported pickle opcode 0x", std::hex, static_cast<int>(op));
      }
    }
    SORI_FAIL(source_, ": pickle ended without STOP");
  }

 private:
  const char* take(std::size_t n) {
    SORI_CHECK(n <= static_cast<std::size_t>(end_ - p_), source_, ": truncated pickle");
    const char* at = p_;
    p_ += n;
    return at;
  }
  std::uint32_t u32() { std::uint32_t x; std::memcpy(&x, take(4), 4); return x; }
  unsigned char byte() { return static_cast<unsigned char>(*take(1)); }
  const Ptr& top() const {
    SORI_CHECK(!stack_.empty(), source_, ": malformed pickle (empty stack)");
    return stack_.back();
  }
  Ptr memo_get(std::uint32_t index) const {
    const auto it = memo_.find(index);
    SORI_CHECK(it != memo_.end(), source_, ": malformed pickle (memo ", index, " never stored)");
    return it->second;
  }
  std::string line() {
    const char* start = p_;
    while (p_ < end_ && *p_ != '\n') ++p_;
    std::string s(start, p_);
    take(1);
    return s;
  }
  Ptr long1() {
    const auto n = byte();
    SORI_CHECK(n <= 8, source_, ": pickle integer of ", static_cast<int>(n), " bytes (at most 8 supported)");
    const char* bytes = take(n);
    std::int64_t x = 0;
    std::uint64_t u = 0;
    for (int k = n - 1; k >= 0; --k) u = (u << 8) | static_cast<unsigned char>(bytes[k]);
    x = static_cast<std::int64_t>(u);
    if (n > 0 && n < 8 && (bytes[n - 1] & 0x80)) x -= (std::int64_t{1} << (8 * n));
    auto v = make(Value::Int);
    v->i = x;
    return v;
  }
  Ptr binfloat() {  // big-endian double
    const char* b = take(8);
    unsigned char r[8];
    for (int k = 0; k < 8; ++k) r[k] = static_cast<unsigned char>(b[7 - k]);
    auto v = make(Value::Float);
    std::memcpy(&v->f, r, 8);
    return v;
  }
  void push(Ptr v) { stack_.push_back(std::move(v)); }
  Ptr pop() {
    SORI_CHECK(!stack_.empty(), source_, ": malformed pickle (stack underflow)");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  std::vector<Ptr> pop_mark() {
    std::vector<Ptr> items;
    while (true) {
      auto v = pop();
      if (v->kind == Value::Mark) break;
      items.push_back(v);
    }
    return {items.rbegin(), items.rend()};
  }
  void memo(std::uint32_t index) { memo_[index] = top(); }
  // Nesting is bounded (a state dict nests a few levels): freeing a chain of a million nested
  // tuples would recurse that deep.
  Ptr tuple(std::vector<Ptr> items) {
    auto t = make(Value::Tuple);
    for (const auto& i : items) t->depth = std::max(t->depth, i->depth + 1);
    SORI_CHECK(t->depth <= kMaxDepth, source_, ": pickle nests deeper than ", kMaxDepth, " levels");
    t->items = std::move(items);
    return t;
  }
  void nest(const Ptr& container, const Ptr& item) {
    container->depth = std::max(container->depth, item->depth + 1);
    SORI_CHECK(container->depth <= kMaxDepth, source_, ": pickle nests deeper than ", kMaxDepth, " levels");
  }
  static constexpr int kMaxDepth = 64;
  std::vector<std::int64_t> ints(const Ptr& t) {
    std::vector<std::int64_t> out;
    for (const auto& v : t->items) out.push_back(v->i);
    return out;
  }

  // ('storage', torch.<Type>Storage, key, location, numel) -> the record data/<key>.
  Ptr persistent_load(const Ptr& pid) {
    SORI_CHECK(pid->kind == Value::Tuple && pid->items.size() >= 5 && pid->items[0]->s == "storage", source_,
               ": unexpected persistent id in pickle");
    const auto dtype = storage_dtype(pid->items[1]->s, source_);
    const auto key = pid->items[2]->s;
    const auto numel = pid->items[4]->i;
    auto [data, size] = zip_.getRecord("data/" + key);
    const auto item = static_cast<std::int64_t>(c10::elementSize(dtype));
    SORI_CHECK(numel >= 0 && numel <= static_cast<std::int64_t>(size) / item && numel * item == static_cast<std::int64_t>(size),
               source_, ": storage ", key, " has ", size, " bytes, not ", numel, " elements of ", item, " bytes");
    auto t = torch::empty({numel}, dtype);
    std::memcpy(t.data_ptr(), data.get(), size);
    auto v = make(Value::Storage);
    v->tensor = t;
    return v;
  }

  Ptr reduce(const Ptr& fn, const Ptr& args) {
    if (fn->kind == Value::Global && fn->module == "collections" && fn->s == "OrderedDict") return make(Value::Dict);
    if (fn->kind == Value::Global && fn->module == "torch._utils" && fn->s == "_rebuild_tensor_v2") {
      const auto& a = args->items;
      SORI_CHECK(args->kind == Value::Tuple && a.size() >= 4 && a[0]->kind == Value::Storage, source_,
                 ": malformed tensor in pickle");
      auto v = make(Value::Tensor);
      v->tensor = a[0]->tensor.as_strided(ints(a[2]), ints(a[3]), a[1]->i).clone();
      return v;
    }
    const bool first_arg = args->kind == Value::Tuple && !args->items.empty();
    if (fn->kind == Value::Global && fn->module == "torch._utils" && fn->s == "_rebuild_parameter") {
      SORI_CHECK(first_arg, source_, ": malformed parameter in pickle");
      return args->items[0];
    }
    // LibTorch's torch::pickle_save tags typed containers: restore_type_tag(dict, "Dict[str, Tensor]").
    if (fn->kind == Value::Global && fn->module == "torch.jit._pickle" && fn->s == "restore_type_tag") {
      SORI_CHECK(first_arg, source_, ": malformed type tag in pickle");
      return args->items[0];
    }
    return make(Value::Opaque);  // e.g. the empty OrderedDict of backward hooks
  }

  caffe2::serialize::PyTorchStreamReader& zip_;
  std::string source_;
  const char* p_ = nullptr;
  const char* end_ = nullptr;
  std::vector<Ptr> stack_;
  std::map<std::uint32_t, Ptr> memo_;
};

}  // namespace

std::map<std::string, torch::Tensor> load_torch_state_dict(const std::string& bytes, const std::string& source) {
  std::istringstream in(bytes);
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> zip;
  try {
    zip = std::make_unique<caffe2::serialize::PyTorchStreamReader>(&in);
  } catch (const std::exception& e) {
    SORI_FAIL(source, ": not a torch.save zip archive (", e.what(), ")");
  }
  try {
    auto [pkl, size] = zip->getRecord("data.pkl");
    Unpickler unpickler(*zip, source);
    const auto root = unpickler.run(static_cast<const char*>(pkl.get()), size);
    SORI_CHECK(root->kind == Value::Dict, source, ": expected a dict of tensors at the top level");
    std::map<std::string, torch::Tensor> out;
    for (const auto& [k, v] : root->entries) {
      SORI_CHECK(k->kind == Value::Str && v->kind == Value::Tensor, source, ": expected string keys and tensor values");
      out[k->s] = v->tensor;
    }
    return out;
  } catch (const c10::Error& e) {  // the zip reader's own checks: missing or damaged records
    SORI_FAIL(source, ": damaged torch.save archive (", e.what_without_backtrace(), ")");
  }
}

}  // namespace sori::nemo
