// CLIP text transformer in the HF layout (names relative to "text_model."): embeddings.token_embedding,
// embeddings.position_embedding, encoder.layers.N.{self_attn.{q,k,v,out}_proj, layer_norm1, mlp.fc1, mlp.fc2,
// layer_norm2}, final_layer_norm; optional text_projection [width, proj]. quick_gelu (OpenAI) or gelu
// (OpenCLIP), causal mask.
#pragma once
#include <vector>

#include "models/layers.h"
#include "models/model_config.h"

namespace loraflow {

class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  ClipEncoderLayerImpl(int64_t width, int64_t heads, int64_t intermediate, double eps, bool gelu = false);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask);
  int64_t heads;
  bool gelu;
  LinearWithAdapters q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, out_proj{nullptr};
  LinearWithAdapters fc1{nullptr}, fc2{nullptr};
  LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

class ClipTextModelImpl : public torch::nn::Module {
 public:
  explicit ClipTextModelImpl(const ClipTextConfig& c);
  // ids [B, L<=max_positions] (int32/int64). clip_skip in A1111 semantics: 1 = last layer, N >= 2 = output of
  // hidden_states[-N]; final_layer_norm is applied in every case. Returns [B, L, width] in the model dtype.
  at::Tensor forward(const at::Tensor& ids, int64_t clip_skip = 1);
  // SDXL use: the raw output of the first `layers_run` blocks (no final norm). With `pooled` given, all blocks
  // run and *pooled = final_layer_norm(last)[argmax(ids)] · text_projection ([B, projection_dim]).
  at::Tensor hidden_states(const at::Tensor& ids, int64_t layers_run, at::Tensor* pooled = nullptr);
  ClipTextConfig config;
  at::Tensor text_projection;  // [width, projection_dim] when config.projection_dim > 0 (x·P, OpenCLIP layout)
  EmbeddingTable token_embedding{nullptr}, position_embedding{nullptr};
  std::vector<ClipEncoderLayer> layers;
  LayerNorm final_layer_norm{nullptr};
};
TORCH_MODULE(ClipTextModel);

}  // namespace loraflow
