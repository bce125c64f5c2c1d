#include "models/config_inference.h"

#include "models/key_mapping.h"
#include "models/openclip_mapping.h"
#include "protocol/errors.h"

namespace loraflow {
namespace {

std::string U(const std::string& k) { return kLdmUNetPrefix + k; }
std::string V(const std::string& k) { return kLdmVAEPrefix + k; }

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
  if (idx.arch == "sd1" || idx.arch.empty()) {
    c.num_heads = 8;  // SD1: fixed head count (v1-inference.yaml num_heads: 8)
    c.num_head_channels = -1;
  } else {
    c.num_heads = -1;  // SD2 / SDXL: num_head_channels 64
    auto it = idx.unet_config_hints.find("num_head_channels");
    c.num_head_channels = it != idx.unet_config_hints.end() ? std::stoll(it->second) : 64;
  }
  for (size_t i = 0; i < c.channel_mult.size(); ++i) {
    const int64_t w = c.model_channels * c.channel_mult[i];
    const bool attn = c.transformer_depth[i] > 0 || (i + 1 == c.channel_mult.size() && c.transformer_depth_middle > 0);
    if (w % c.norm_groups != 0 || (attn && w % (c.num_heads > 0 ? c.num_heads : c.num_head_channels) != 0))
      fail(errc::bad_file, idx.path + ": UNet width " + std::to_string(w) + " is not divisible by " +
                               std::to_string(c.norm_groups) + " norm groups / " +
                               (c.num_heads > 0 ? std::to_string(c.num_heads) + " heads"
                                                : "head dim " + std::to_string(c.num_head_channels)));
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

ClipTextConfig infer_clip_text_config(const CheckpointIndex& idx, const std::string& prefix_in) {
  const std::string prefix = prefix_in.empty() ? text_encoder_prefixes(idx.arch).first : prefix_in;
  auto T = [&prefix](const std::string& k) { return prefix + k; };
  ClipTextConfig c;
  const std::string tok = T("embeddings.token_embedding.weight");
  c.vocab_size = dim(idx, tok, 0, 2);
  c.width = dim(idx, tok, 1, 2);
  c.max_positions = dim(idx, T("embeddings.position_embedding.weight"), 0, 2);
  c.layers = count_while(
      [&](int64_t i) { return idx.has(T("encoder.layers." + std::to_string(i) + ".self_attn.q_proj.weight")); });
  if (c.layers < 1) idx.shape(T("encoder.layers.0.self_attn.q_proj.weight"));
  c.intermediate = dim(idx, T("encoder.layers.0.mlp.fc1.weight"), 0, 2);
  auto it = idx.text_config_hints.find(prefix + "num_attention_heads");
  c.heads = it != idx.text_config_hints.end() ? std::stoll(it->second) : clip_heads_for_width(c.width);
  if (c.heads <= 0 || c.width % c.heads != 0)
    fail(errc::bad_file, idx.path + ": text encoder width " + std::to_string(c.width) + " is not divisible by " +
                             std::to_string(c.heads) + " heads");
  return c;
}

SD1Config infer_sd1_config(const CheckpointIndex& idx) {
  SD1Config c;
  c.arch = idx.arch.empty() ? "sd1" : idx.arch;
  c.v_prediction = idx.v_prediction;
  c.unet = infer_unet_config(idx);
  c.vae = infer_vae_config(idx);
  const auto [p1, p2] = text_encoder_prefixes(c.arch);
  c.text = infer_clip_text_config(idx, p1);
  c.text.gelu = c.arch == "sd2";
  if (!p2.empty()) {
    c.text2 = infer_clip_text_config(idx, p2);
    c.text2.gelu = true;
    c.text2.projection_dim = dim(idx, p2 + "text_projection", 1, 2);
    c.vae.scaling_factor = 0.13025;
    if (c.unet.adm_in_channels <= c.text2.projection_dim || (c.unet.adm_in_channels - c.text2.projection_dim) % 6 != 0)
      fail(errc::bad_file, idx.path + ": label_emb input " + std::to_string(c.unet.adm_in_channels) +
                               " is not the pooled width " + std::to_string(c.text2.projection_dim) +
                               " plus six size/crop embeddings");
    if (c.unet.context_dim != c.text.width + c.text2.width)
      fail(errc::bad_file, idx.path + ": UNet context " + std::to_string(c.unet.context_dim) +
                               " is not the sum of the text encoder widths " + std::to_string(c.text.width) + " + " +
                               std::to_string(c.text2.width));
  }
  return c;
}

}  // namespace loraflow
