#include "sori/dist/sync_batch_norm.h"

#include <torch/torch.h>

#include "sori/model/conformer_block.h"

namespace sori::dist {

namespace {

thread_local bool excluded_from_statistics = false;

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

torch::Tensor per_channel(const torch::Tensor& v) { return v.view({1, -1, 1}); }
// Sum over batch and time: one value per channel.
torch::Tensor channel_sum(const torch::Tensor& x) { return x.sum(std::vector<std::int64_t>{0, 2}); }

struct SyncBatchNormFunction : torch::autograd::Function<SyncBatchNormFunction> {
  // Statistics in float32 (float64 for float64 input), whatever autocast hands in.
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, torch::Tensor running_mean, torch::Tensor running_var,
                               double momentum, double eps, ProcessGroup* group) {
    const auto compute = x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    const auto xf = x.to(compute);
    const auto channels = x.size(1);
    torch::Tensor stats;
    if (excluded_from_statistics) {
      stats = torch::zeros({2 * channels + 1}, xf.options());
    } else {
      stats = torch::cat({channel_sum(xf), channel_sum(xf.square()),
                          torch::full({1}, static_cast<double>(x.size(0) * x.size(2)), xf.options())});
    }
    group->all_reduce_sum(stats);
    // No frames anywhere (every rank's micro-batch failed to load): statistics of nothing are
    // 0 and the running ones stay as they are, decided on the device (no host read).
    const auto raw_count = stats.narrow(0, 2 * channels, 1);
    const auto count = raw_count.clamp_min(1);
    const auto mean = stats.narrow(0, 0, channels) / count;
    const auto var = (stats.narrow(0, channels, channels) / count - mean.square()).clamp_min(0);
    const auto invstd = (var + eps).rsqrt();
    {
      torch::NoGradGuard no_grad;
      const auto m = (raw_count > 0).to(xf.scalar_type()) * momentum;
      const auto unbiased = var * count / (count - 1).clamp_min(1);
      running_mean.mul_(1 - m.to(running_mean.scalar_type())).add_((mean * m).to(running_mean.scalar_type()));
      running_var.mul_(1 - m.to(running_var.scalar_type())).add_((unbiased * m).to(running_var.scalar_type()));
    }
    const auto w = weight.to(compute), b = bias.to(compute);
    ctx->save_for_backward({xf, w, mean, invstd, count});
    ctx->saved_data["group"] = reinterpret_cast<std::int64_t>(group);
    ctx->saved_data["excluded"] = excluded_from_statistics;
    return ((xf - per_channel(mean)) * per_channel(invstd * w) + per_channel(b)).to(x.scalar_type());
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &xf = saved[0], &w = saved[1], &mean = saved[2], &invstd = saved[3], &count = saved[4];
    auto* group = reinterpret_cast<ProcessGroup*>(ctx->saved_data["group"].toInt());
    const auto g = grad_outputs[0].to(xf.scalar_type());
    const auto xhat = (xf - per_channel(mean)) * per_channel(invstd);
    const auto sum_dy = channel_sum(g), sum_dy_xhat = channel_sum(g * xhat);
    auto sums = torch::cat({sum_dy, sum_dy_xhat});
    if (ctx->saved_data["excluded"].toBool()) sums.zero_();
    group->all_reduce_sum(sums);
    const auto channels = w.size(0);
    const auto mean_dy = sums.narrow(0, 0, channels) / count, mean_dy_xhat = sums.narrow(0, channels, channels) / count;
    const auto grad_x = per_channel(w * invstd) * (g - per_channel(mean_dy) - xhat * per_channel(mean_dy_xhat));
    // The affine gradients are this rank's own sums: the gradient reducer averages them.
    return {grad_x.to(grad_outputs[0].scalar_type()), sum_dy_xhat, sum_dy, {}, {}, {}, {}, {}};
  }
};

}  // namespace

torch::Tensor sync_batch_norm(torch::nn::BatchNorm1dImpl& norm, const torch::Tensor& x, ProcessGroup& group) {
  const auto& o = norm.options;
  {
    torch::NoGradGuard no_grad;
    norm.num_batches_tracked.add_(1);
  }
  return SyncBatchNormFunction::apply(x, norm.weight, norm.bias, norm.running_mean, norm.running_var,
                                      o.momentum().value_or(0.1), o.eps(), &group);
}

void install_sync_batch_norm(torch::nn::Module& model, ProcessGroup& group) {
  for (const auto& module : model.modules()) {
    if (auto conv = std::dynamic_pointer_cast<ConformerConvolutionImpl>(module))
      conv->set_batch_norm_function(
          [&group](torch::nn::BatchNorm1dImpl& norm, const torch::Tensor& x) { return sync_batch_norm(norm, x, group); });
  }
}

ExcludedFromBatchStatistics::ExcludedFromBatchStatistics() : previous_(excluded_from_statistics) {
  excluded_from_statistics = true;
}

ExcludedFromBatchStatistics::~ExcludedFromBatchStatistics() { excluded_from_statistics = previous_; }

}  // namespace sori::dist
