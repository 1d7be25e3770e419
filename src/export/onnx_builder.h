// A small helper over the ONNX protobuf API for writing graphs by hand: named initializers from
// tensors, constants, nodes with attributes, fresh value names. LibTorch has no C++ ONNX
// exporter, so src/export builds the FastConformer graph op by op with this.
#pragma once

#include <onnx/onnx_pb.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace sori::onnx_export {

struct Attr {
  std::string name;
  std::variant<std::int64_t, float, std::vector<std::int64_t>, std::string> value;
};

class GraphBuilder {
 public:
  explicit GraphBuilder(bool fp16_weights);

  // Graph inputs/outputs; dims are sizes (>= 0) or symbolic names.
  void input(const std::string& name, int elem_type, const std::vector<std::variant<std::int64_t, std::string>>& dims);
  void output(const std::string& name, int elem_type, const std::vector<std::variant<std::int64_t, std::string>>& dims);

  // A float initializer (stored as fp16 when fp16_weights), named after `name`.
  std::string weight(const std::string& name, const torch::Tensor& t);
  // A float32 initializer whatever the weight type (for values that must stay float32).
  std::string f32(const std::string& name, const torch::Tensor& t);
  std::string f64(const std::string& name, const torch::Tensor& t);  // float64 initializer
  std::string i64(const std::vector<std::int64_t>& values);  // int64 1-D constant
  std::string scalar(float value);                            // compute-type scalar constant

  // One node; returns its first output (or `outputs` names when given).
  std::string op(const std::string& type, const std::vector<std::string>& inputs, const std::vector<Attr>& attrs = {});
  std::vector<std::string> op_n(const std::string& type, const std::vector<std::string>& inputs, int n_outputs,
                                const std::vector<Attr>& attrs = {});
  // Renames the value `from` into `to` (Identity), for graph outputs.
  void identity(const std::string& from, const std::string& to);

  onnx::GraphProto& graph() { return graph_; }
  bool fp16() const { return fp16_; }
  int compute_type() const { return fp16_ ? onnx::TensorProto::FLOAT16 : onnx::TensorProto::FLOAT; }

 private:
  std::string fresh(const std::string& hint);
  std::string add_float(const std::string& name, const torch::Tensor& t, bool half);
  onnx::GraphProto graph_;
  bool fp16_;
  std::int64_t counter_ = 0;
};

}  // namespace sori::onnx_export
