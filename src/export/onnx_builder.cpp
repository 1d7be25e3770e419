#include "onnx_builder.h"

#include <torch/torch.h>

#include <cstring>

namespace sori::onnx_export {

namespace {
void set_shape(onnx::ValueInfoProto* v, int elem_type, const std::vector<std::variant<std::int64_t, std::string>>& dims) {
  auto* t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(elem_type);
  auto* shape = t->mutable_shape();
  for (const auto& d : dims) {
    auto* dim = shape->add_dim();
    if (std::holds_alternative<std::int64_t>(d)) dim->set_dim_value(std::get<std::int64_t>(d));
    else dim->set_dim_param(std::get<std::string>(d));
  }
}
}  // namespace

GraphBuilder::GraphBuilder(bool fp16_weights) : fp16_(fp16_weights) {}

std::string GraphBuilder::fresh(const std::string& hint) { return hint + "_" + std::to_string(counter_++); }

void GraphBuilder::input(const std::string& name, int elem_type, const std::vector<std::variant<std::int64_t, std::string>>& dims) {
  auto* v = graph_.add_input();
  v->set_name(name);
  set_shape(v, elem_type, dims);
}

void GraphBuilder::output(const std::string& name, int elem_type, const std::vector<std::variant<std::int64_t, std::string>>& dims) {
  auto* v = graph_.add_output();
  v->set_name(name);
  set_shape(v, elem_type, dims);
}

std::string GraphBuilder::f32(const std::string& name, const torch::Tensor& t) { return add_float(name, t, false); }

std::string GraphBuilder::weight(const std::string& name, const torch::Tensor& t) { return add_float(name, t, fp16_); }

std::string GraphBuilder::add_float(const std::string& name, const torch::Tensor& t, bool half) {
  auto* init = graph_.add_initializer();
  init->set_name(name);
  const auto c = t.detach().to(torch::kCPU, half ? torch::kHalf : torch::kFloat32).contiguous();
  for (auto s : c.sizes()) init->add_dims(s);
  init->set_data_type(half ? onnx::TensorProto::FLOAT16 : onnx::TensorProto::FLOAT);
  init->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), static_cast<std::size_t>(c.nbytes())));
  return name;
}

std::string GraphBuilder::f64(const std::string& name, const torch::Tensor& t) {
  auto* init = graph_.add_initializer();
  init->set_name(name);
  const auto c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  for (auto s : c.sizes()) init->add_dims(s);
  init->set_data_type(onnx::TensorProto::DOUBLE);
  init->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), static_cast<std::size_t>(c.nbytes())));
  return name;
}

std::string GraphBuilder::i64(const std::vector<std::int64_t>& values) {
  const auto name = fresh("const_i64");
  auto* init = graph_.add_initializer();
  init->set_name(name);
  init->add_dims(static_cast<std::int64_t>(values.size()));
  init->set_data_type(onnx::TensorProto::INT64);
  init->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(std::int64_t)));
  return name;
}

std::string GraphBuilder::scalar(float value) {
  return weight(fresh("const"), torch::tensor(value));
}

std::vector<std::string> GraphBuilder::op_n(const std::string& type, const std::vector<std::string>& inputs, int n_outputs,
                                            const std::vector<Attr>& attrs) {
  auto* node = graph_.add_node();
  node->set_op_type(type);
  node->set_name(fresh(type));
  for (const auto& i : inputs) node->add_input(i);
  std::vector<std::string> outs;
  for (int k = 0; k < n_outputs; ++k) {
    outs.push_back(fresh(type + "_out"));
    node->add_output(outs.back());
  }
  for (const auto& a : attrs) {
    auto* attr = node->add_attribute();
    attr->set_name(a.name);
    if (std::holds_alternative<std::int64_t>(a.value)) {
      attr->set_type(onnx::AttributeProto::INT);
      attr->set_i(std::get<std::int64_t>(a.value));
    } else if (std::holds_alternative<float>(a.value)) {
      attr->set_type(onnx::AttributeProto::FLOAT);
      attr->set_f(std::get<float>(a.value));
    } else if (std::holds_alternative<std::vector<std::int64_t>>(a.value)) {
      attr->set_type(onnx::AttributeProto::INTS);
      for (auto v : std::get<std::vector<std::int64_t>>(a.value)) attr->add_ints(v);
    } else {
      attr->set_type(onnx::AttributeProto::STRING);
      attr->set_s(std::get<std::string>(a.value));
    }
  }
  return outs;
}

std::string GraphBuilder::op(const std::string& type, const std::vector<std::string>& inputs, const std::vector<Attr>& attrs) {
  return op_n(type, inputs, 1, attrs)[0];
}

void GraphBuilder::identity(const std::string& from, const std::string& to) {
  auto* node = graph_.add_node();
  node->set_op_type("Identity");
  node->set_name(fresh("Identity"));
  node->add_input(from);
  node->add_output(to);
}

}  // namespace sori::onnx_export
