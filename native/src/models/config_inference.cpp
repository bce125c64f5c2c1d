#include "models/config_inference.h"

#include "models/key_mapping.h"
#include "protocol/errors.h"

namespace loraflow {
namespace {

std::string U(const std::string& k) { return kLdmUNetPrefix + k; }
std::string V(const std::string& k) { return kLdmVAEPrefix + k; }
std::string T(const std::string& k) { return kLdmTextPrefix + k; }

int64_t dim(const CheckpointIndex& idx, const std::string& key, size_t d, size_t rank) {
  const auto s = idx.shape(key);
  if (s.size() != rank)
    fail(errc::bad_file, idx.path + ": tensor " + idx.describe(key) + " has rank " + std::to_string(s.size()) +
                             ", expected " + std::to_string(rank));
  return s[d];
}

int64_t count_while(const std::function<bool(int64_t)>& exists) {
  int64_t n = 0;
  while (exists(n)) ++n;
  return n;
}

int64_t exact_div(const CheckpointIndex& idx, int64_t a, int64_t b, const std::string& key) {
  if (b <= 0 || a % b != 0)
    fail(errc::bad_file, idx.path + ": tensor " + idx.describe(key) + " has " + std::to_string(a) +
                             " channels, not a multiple of the base width " + std::to_string(b));
  return a / b;
}

}  // namespace

UNetConfig infer_unet_config(const CheckpointIndex& idx) {
  UNetConfig c;
  c.model_channels = dim(idx, U("input_blocks.0.0.weight"), 0, 4);
  c.in_channels = dim(idx, U("input_blocks.0.0.weight"), 1, 4);
  c.out_channels = dim(idx, U("out.2.weight"), 0, 4);
  auto block_exists = [&](int64_t n) {
    const std::string p = U("input_blocks." + std::to_string(n) + ".");
    auto it = idx.tensors.lower_bound(p);
    return it != idx.tensors.end() && it->first.compare(0, p.size(), p) == 0;
  };
  const int64_t n_in = count_while(block_exists);
  int64_t first_down = -1;
  for (int64_t n = 1; n < n_in && first_down < 0; ++n)
    if (idx.has(U("input_blocks." + std::to_string(n) + ".0.op.weight"))) first_down = n;
  c.num_res_blocks = first_down > 0 ? first_down - 1 : n_in - 1;
  if (c.num_res_blocks < 1 || n_in % (c.num_res_blocks + 1) != 0)
    fail(errc::bad_file, idx.path + ": cannot make sense of " + std::to_string(n_in) +
                             " UNet input_blocks (num_res_blocks " + std::to_string(c.num_res_blocks) + ")");
  const int64_t levels = n_in / (c.num_res_blocks + 1);
  c.channel_mult.clear();
  c.transformer_depth.clear();
  auto depth_at = [&](const std::string& st) {
    return count_while([&](int64_t d) { return idx.has(st + ".transformer_blocks." + std::to_string(d) + ".norm1.weight"); });
  };
  std::string first_st;
  for (int64_t i = 0; i < levels; ++i) {
    const std::string n = std::to_string((c.num_res_blocks + 1) * i + 1);
    const std::string res_key = U("input_blocks." + n + ".0.out_layers.3.weight");
    c.channel_mult.push_back(exact_div(idx, dim(idx, res_key, 0, 4), c.model_channels, res_key));
    const std::string st = U("input_blocks." + n + ".1");
    c.transformer_depth.push_back(depth_at(st));
    if (first_st.empty() && c.transformer_depth.back() > 0) first_st = st;
  }
  c.transformer_depth_middle = depth_at(U("middle_block.1"));
  if (first_st.empty() && c.transformer_depth_middle > 0) first_st = U("middle_block.1");
  if (!first_st.empty()) {
    c.context_dim = dim(idx, first_st + ".transformer_blocks.0.attn2.to_k.weight", 1, 2);
    c.use_linear_proj = idx.shape(first_st + ".proj_in.weight").size() == 2;
  }
  if (idx.has(U("label_emb.0.0.weight"))) c.adm_in_channels = dim(idx, U("label_emb.0.0.weight"), 1, 2);
  c.num_heads = 8;  // SD1: fixed head count (v1-inference.yaml num_heads: 8)
  c.num_head_channels = -1;
  for (int64_t m : c.channel_mult) {
    if ((c.model_channels * m) % c.norm_groups != 0 || (c.model_channels * m) % c.num_heads != 0)
      fail(errc::bad_file, idx.path + ": UNet width " + std::to_string(c.model_channels * m) +
                               " is not divisible by 32 norm groups / 8 heads");
  }
  return c;
}

VAEConfig infer_vae_config(const CheckpointIndex& idx) {
  VAEConfig c;
  c.ch = dim(idx, V("encoder.conv_in.weight"), 0, 4);
  c.in_channels = dim(idx, V("encoder.conv_in.weight"), 1, 4);
  const int64_t levels =
      count_while([&](int64_t i) { return idx.has(V("encoder.down." + std::to_string(i) + ".block.0.conv1.weight")); });
  if (levels < 1) idx.shape(V("encoder.down.0.block.0.conv1.weight"));  // throws naming the key
  c.num_res_blocks =
      count_while([&](int64_t j) { return idx.has(V("encoder.down.0.block." + std::to_string(j) + ".conv1.weight")); });
  c.ch_mult.clear();
  for (int64_t i = 0; i < levels; ++i) {
    const std::string key = V("encoder.down." + std::to_string(i) + ".block.0.conv1.weight");
    c.ch_mult.push_back(exact_div(idx, dim(idx, key, 0, 4), c.ch, key));
  }
  c.z_channels = dim(idx, V("decoder.conv_in.weight"), 1, 4);
  c.embed_dim = dim(idx, V("post_quant_conv.weight"), 1, 4);
  c.out_channels = dim(idx, V("decoder.conv_out.weight"), 0, 4);
  c.scaling_factor = 0.18215;
  return c;
}

ClipTextConfig infer_clip_text_config(const CheckpointIndex& idx) {
  ClipTextConfig c;
  const std::string tok = T("embeddings.token_embedding.weight");
  c.vocab_size = dim(idx, tok, 0, 2);
  c.width = dim(idx, tok, 1, 2);
  c.max_positions = dim(idx, T("embeddings.position_embedding.weight"), 0, 2);
  c.layers = count_while(
      [&](int64_t i) { return idx.has(T("encoder.layers." + std::to_string(i) + ".self_attn.q_proj.weight")); });
  if (c.layers < 1) idx.shape(T("encoder.layers.0.self_attn.q_proj.weight"));
  c.intermediate = dim(idx, T("encoder.layers.0.mlp.fc1.weight"), 0, 2);
  auto it = idx.text_config_hints.find("num_attention_heads");
  c.heads = it != idx.text_config_hints.end() ? std::stoll(it->second) : clip_heads_for_width(c.width);
  if (c.heads <= 0 || c.width % c.heads != 0)
    fail(errc::bad_file, idx.path + ": text encoder width " + std::to_string(c.width) + " is not divisible by " +
                             std::to_string(c.heads) + " heads");
  return c;
}

SD1Config infer_sd1_config(const CheckpointIndex& idx) {
  return SD1Config{infer_unet_config(idx), infer_vae_config(idx), infer_clip_text_config(idx)};
}

}  // namespace loraflow
