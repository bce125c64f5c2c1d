// Leaf layers of every model. Parameters are allocated uninitialised (torch::empty) so a loader can
// fill them one tensor at a time without a second copy; random_init.h fills them for tests/benches.
// Base parameters are frozen (requires_grad=false); LoRA-style training attaches LayerAdapters.
#pragma once
#include <memory>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace loraflow {

// Additive adapter on a Linear/Conv2d: output = base(x) + sum over adapters of delta(x).
// Implementations (e.g. LoRA) usually also derive from torch::nn::Module to own their parameters;
// they are NOT registered as submodules, so the base model's named_parameters() stay checkpoint keys.
class LayerAdapter {
 public:
  virtual ~LayerAdapter() = default;
  // x: the layer input; returns a tensor shaped like the base output.
  virtual at::Tensor delta(const at::Tensor& x) = 0;
};

// Common adapter plumbing of LinearWithAdapters and Conv2dWithAdapters.
class AdaptableLayer {
 public:
  void add_adapter(std::shared_ptr<LayerAdapter> a) { adapters_.push_back(std::move(a)); }
  void clear_adapters() { adapters_.clear(); }
  const std::vector<std::shared_ptr<LayerAdapter>>& adapters() const { return adapters_; }

 protected:
  at::Tensor apply_adapters(const at::Tensor& x, at::Tensor y) const;

 private:
  std::vector<std::shared_ptr<LayerAdapter>> adapters_;
};

class LinearWithAdaptersImpl : public torch::nn::Module, public AdaptableLayer {
 public:
  LinearWithAdaptersImpl(int64_t in_features, int64_t out_features, bool bias = true);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor base_forward(const at::Tensor& x) const;  // without adapters
  int64_t in_features, out_features;
  at::Tensor weight, bias;  // bias undefined when constructed without
};
TORCH_MODULE(LinearWithAdapters);

class Conv2dWithAdaptersImpl : public torch::nn::Module, public AdaptableLayer {
 public:
  Conv2dWithAdaptersImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1,
                         int64_t padding = 0, bool bias = true);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor base_forward(const at::Tensor& x) const;
  int64_t in_channels, out_channels, kernel, stride, padding;
  at::Tensor weight, bias;
};
TORCH_MODULE(Conv2dWithAdapters);

// GroupNorm computed in fp32 whatever the input dtype (LDM GroupNorm32).
class GroupNorm32Impl : public torch::nn::Module {
 public:
  GroupNorm32Impl(int64_t groups, int64_t channels, double eps);
  at::Tensor forward(const at::Tensor& x);
  int64_t groups, channels;
  double eps;
  at::Tensor weight, bias;
};
TORCH_MODULE(GroupNorm32);

class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(int64_t dim, double eps);
  at::Tensor forward(const at::Tensor& x);
  int64_t dim;
  double eps;
  at::Tensor weight, bias;
};
TORCH_MODULE(LayerNorm);

// Embedding table holding only `weight` [num, dim].
class EmbeddingTableImpl : public torch::nn::Module {
 public:
  EmbeddingTableImpl(int64_t num, int64_t dim);
  at::Tensor forward(const at::Tensor& ids);
  at::Tensor weight;
};
TORCH_MODULE(EmbeddingTable);

// A plain container whose children get the given names ("0", "2", ...), to reproduce LDM paths
// such as in_layers.2 or time_embed.0 without nn::Sequential's contiguous numbering.
std::shared_ptr<torch::nn::Module> make_container();

}  // namespace loraflow
