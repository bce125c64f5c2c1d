#include "models/key_mapping.h"

#include <cstdlib>
#include <vector>

namespace loraflow {
namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    out.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

// Joins parts[from..] with dots.
std::string tail(const std::vector<std::string>& parts, size_t from) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) {
    if (!out.empty()) out += '.';
    out += parts[i];
  }
  return out;
}

std::string join(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "." + b;
}

bool parse_int(const std::string& s, int64_t& v) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  v = std::atoll(s.c_str());
  return true;
}

// Renames the first path segment(s) inside a block. pairs: {from, to}; from may be two segments.
std::optional<std::string> rename_head(const std::vector<std::string>& parts, size_t from,
                                       const std::vector<std::pair<std::string, std::string>>& pairs,
                                       bool keep_unmatched) {
  const std::string rest = tail(parts, from);
  for (const auto& [a, b] : pairs) {
    if (rest == a) return b;
    if (rest.compare(0, a.size() + 1, a + ".") == 0) return b + rest.substr(a.size());
  }
  if (keep_unmatched) return rest;
  return std::nullopt;
}

const std::vector<std::pair<std::string, std::string>> kResLdmToDiff = {
    {"in_layers.0", "norm1"},  {"in_layers.2", "conv1"},  {"emb_layers.1", "time_emb_proj"},
    {"out_layers.0", "norm2"}, {"out_layers.3", "conv2"}, {"skip_connection", "conv_shortcut"}};

std::vector<std::pair<std::string, std::string>> reversed(const std::vector<std::pair<std::string, std::string>>& v) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [a, b] : v) out.emplace_back(b, a);
  return out;
}

}  // namespace

std::optional<std::string> unet_ldm_to_diffusers(const std::string& path, const UNetConfig& cfg) {
  const auto p = split(path);
  const int64_t R = cfg.num_res_blocks;
  int64_t n = 0, k = 0;
  auto res = [&](const std::string& base, size_t from) -> std::optional<std::string> {
    auto r = rename_head(p, from, kResLdmToDiff, false);
    if (!r) return std::nullopt;
    return join(base, *r);
  };
  if (p[0] == "time_embed" && p.size() >= 2) {
    if (p[1] == "0") return join("time_embedding.linear_1", tail(p, 2));
    if (p[1] == "2") return join("time_embedding.linear_2", tail(p, 2));
    return std::nullopt;
  }
  if (p[0] == "label_emb" && p.size() >= 3 && p[1] == "0") {
    if (p[2] == "0") return join("add_embedding.linear_1", tail(p, 3));
    if (p[2] == "2") return join("add_embedding.linear_2", tail(p, 3));
    return std::nullopt;
  }
  if (p[0] == "out" && p.size() >= 2) {
    if (p[1] == "0") return join("conv_norm_out", tail(p, 2));
    if (p[1] == "2") return join("conv_out", tail(p, 2));
    return std::nullopt;
  }
  if (p[0] == "input_blocks" && p.size() >= 3 && parse_int(p[1], n) && parse_int(p[2], k)) {
    if (n == 0) return k == 0 ? std::optional<std::string>(join("conv_in", tail(p, 3))) : std::nullopt;
    const int64_t i = (n - 1) / (R + 1), j = (n - 1) % (R + 1);
    const std::string lvl = "down_blocks." + std::to_string(i);
    if (j < R && k == 0) return res(lvl + ".resnets." + std::to_string(j), 3);
    if (j < R && k == 1) return join(lvl + ".attentions." + std::to_string(j), tail(p, 3));
    if (j == R && k == 0 && p.size() >= 4 && p[3] == "op") return join(lvl + ".downsamplers.0.conv", tail(p, 4));
    return std::nullopt;
  }
  if (p[0] == "middle_block" && p.size() >= 2 && parse_int(p[1], k)) {
    if (k == 0) return res("mid_block.resnets.0", 2);
    if (k == 2) return res("mid_block.resnets.1", 2);
    if (k == 1) return join("mid_block.attentions.0", tail(p, 2));
    return std::nullopt;
  }
  if (p[0] == "output_blocks" && p.size() >= 3 && parse_int(p[1], n) && parse_int(p[2], k)) {
    const int64_t i = n / (R + 1), j = n % (R + 1);
    const std::string lvl = "up_blocks." + std::to_string(i);
    if (k == 0) return res(lvl + ".resnets." + std::to_string(j), 3);
    if ((k == 1 || k == 2) && p.size() >= 4 && p[3] == "conv" && j == R)
      return join(lvl + ".upsamplers.0.conv", tail(p, 4));
    if (k == 1) return join(lvl + ".attentions." + std::to_string(j), tail(p, 3));
    return std::nullopt;
  }
  return std::nullopt;
}

DiffusersUNetLayout diffusers_unet_layout(const std::set<std::string>& keys) {
  DiffusersUNetLayout layout;
  int64_t max_res = -1;
  for (const auto& key : keys) {
    const auto p = split(key);
    int64_t i = 0, j = 0;
    if (p.size() >= 4 && p[0] == "down_blocks" && p[1] == "0" && p[2] == "resnets" && parse_int(p[3], j))
      max_res = std::max(max_res, j);
    if (p.size() >= 3 && p[0] == "up_blocks" && parse_int(p[1], i) && p[2] == "attentions")
      layout.up_blocks_with_attention.insert(i);
  }
  if (max_res >= 0) layout.layers_per_block = max_res + 1;
  return layout;
}

std::optional<std::string> unet_diffusers_to_ldm(const std::string& path, const DiffusersUNetLayout& layout) {
  const auto p = split(path);
  const int64_t R = layout.layers_per_block;
  auto res = [&](const std::string& base, size_t from) -> std::optional<std::string> {
    auto r = rename_head(p, from, reversed(kResLdmToDiff), false);
    if (!r) return std::nullopt;
    return join(base, *r);
  };
  auto starts = [&](const std::string& a) { return path == a || path.compare(0, a.size() + 1, a + ".") == 0; };
  auto rest_after = [&](const std::string& a) { return path.size() > a.size() ? path.substr(a.size() + 1) : ""; };
  for (const auto& [d, l] : std::vector<std::pair<std::string, std::string>>{
           {"time_embedding.linear_1", "time_embed.0"},
           {"time_embedding.linear_2", "time_embed.2"},
           {"add_embedding.linear_1", "label_emb.0.0"},
           {"add_embedding.linear_2", "label_emb.0.2"},
           {"conv_in", "input_blocks.0.0"},
           {"conv_norm_out", "out.0"},
           {"conv_out", "out.2"}}) {
    if (starts(d)) return join(l, rest_after(d));
  }
  int64_t i = 0, j = 0;
  if (p.size() >= 4 && p[0] == "down_blocks" && parse_int(p[1], i)) {
    if (p[2] == "resnets" && parse_int(p[3], j)) return res("input_blocks." + std::to_string((R + 1) * i + j + 1) + ".0", 4);
    if (p[2] == "attentions" && parse_int(p[3], j))
      return join("input_blocks." + std::to_string((R + 1) * i + j + 1) + ".1", tail(p, 4));
    if (p[2] == "downsamplers" && p[3] == "0" && p.size() >= 5 && p[4] == "conv")
      return join("input_blocks." + std::to_string((R + 1) * (i + 1)) + ".0.op", tail(p, 5));
    return std::nullopt;
  }
  if (p.size() >= 4 && p[0] == "mid_block") {
    if (p[1] == "resnets" && p[2] == "0") return res("middle_block.0", 3);
    if (p[1] == "resnets" && p[2] == "1") return res("middle_block.2", 3);
    if (p[1] == "attentions" && p[2] == "0") return join("middle_block.1", tail(p, 3));
    return std::nullopt;
  }
  if (p.size() >= 4 && p[0] == "up_blocks" && parse_int(p[1], i)) {
    if (p[2] == "resnets" && parse_int(p[3], j)) return res("output_blocks." + std::to_string((R + 1) * i + j) + ".0", 4);
    if (p[2] == "attentions" && parse_int(p[3], j))
      return join("output_blocks." + std::to_string((R + 1) * i + j) + ".1", tail(p, 4));
    if (p[2] == "upsamplers" && p[3] == "0" && p.size() >= 5 && p[4] == "conv") {
      const int64_t slot = layout.up_blocks_with_attention.count(i) ? 2 : 1;
      return join("output_blocks." + std::to_string((R + 1) * i + R) + "." + std::to_string(slot) + ".conv",
                  tail(p, 5));
    }
  }
  return std::nullopt;
}

namespace {
const std::vector<std::pair<std::string, std::string>> kVaeMidLdmToDiff = {
    {"mid.attn_1.norm", "mid_block.attentions.0.group_norm"},
    {"mid.attn_1.q", "mid_block.attentions.0.to_q"},
    {"mid.attn_1.k", "mid_block.attentions.0.to_k"},
    {"mid.attn_1.v", "mid_block.attentions.0.to_v"},
    {"mid.attn_1.proj_out", "mid_block.attentions.0.to_out.0"},
    {"norm_out", "conv_norm_out"},
    {"conv_in", "conv_in"},
    {"conv_out", "conv_out"}};
const std::vector<std::pair<std::string, std::string>> kVaeOldAttnNames = {
    {"mid_block.attentions.0.query", "mid.attn_1.q"},
    {"mid_block.attentions.0.key", "mid.attn_1.k"},
    {"mid_block.attentions.0.value", "mid.attn_1.v"},
    {"mid_block.attentions.0.proj_attn", "mid.attn_1.proj_out"}};
const std::vector<std::pair<std::string, std::string>> kVaeResnet = {{"nin_shortcut", "conv_shortcut"},
                                                                     {"norm1", "norm1"},
                                                                     {"norm2", "norm2"},
                                                                     {"conv1", "conv1"},
                                                                     {"conv2", "conv2"}};
}  // namespace

std::optional<std::string> vae_ldm_to_diffusers(const std::string& path, int64_t levels) {
  const auto p = split(path);
  if (p[0] == "quant_conv" || p[0] == "post_quant_conv") return path;
  if (p[0] != "encoder" && p[0] != "decoder") return std::nullopt;
  const bool enc = p[0] == "encoder";
  int64_t i = 0, j = 0;
  if (p.size() >= 4 && p[1] == (enc ? "down" : "up") && parse_int(p[2], i)) {
    const int64_t di = enc ? i : levels - 1 - i;
    const std::string base = p[0] + (enc ? ".down_blocks." : ".up_blocks.") + std::to_string(di);
    if (p[3] == "block" && p.size() >= 5 && parse_int(p[4], j)) {
      auto r = rename_head(p, 5, kVaeResnet, false);
      if (!r && p.size() > 5) return std::nullopt;
      return join(base + ".resnets." + std::to_string(j), r.value_or(""));
    }
    if (p[3] == (enc ? "downsample" : "upsample"))
      return join(base + (enc ? ".downsamplers.0" : ".upsamplers.0"), tail(p, 4));
    return std::nullopt;
  }
  if (p.size() >= 3 && p[1] == "mid" && (p[2] == "block_1" || p[2] == "block_2")) {
    auto inner = rename_head(p, 3, kVaeResnet, false);
    if (!inner && p.size() > 3) return std::nullopt;
    return join(p[0] + ".mid_block.resnets." + (p[2] == "block_1" ? "0" : "1"), inner.value_or(""));
  }
  auto r = rename_head(p, 1, kVaeMidLdmToDiff, false);
  if (!r) return std::nullopt;
  return p[0] + "." + *r;
}

std::optional<std::string> vae_diffusers_to_ldm(const std::string& path, int64_t levels) {
  const auto p = split(path);
  if (p[0] == "quant_conv" || p[0] == "post_quant_conv") return path;
  if (p[0] != "encoder" && p[0] != "decoder") return std::nullopt;
  const bool enc = p[0] == "encoder";
  int64_t i = 0, j = 0;
  if (p.size() >= 4 && p[1] == (enc ? "down_blocks" : "up_blocks") && parse_int(p[2], i)) {
    const int64_t li = enc ? i : levels - 1 - i;
    if (li < 0) return std::nullopt;
    const std::string base = p[0] + (enc ? ".down." : ".up.") + std::to_string(li);
    if (p[3] == "resnets" && p.size() >= 5 && parse_int(p[4], j)) {
      auto r = rename_head(p, 5, reversed(kVaeResnet), false);
      if (!r && p.size() > 5) return std::nullopt;
      return join(base + ".block." + std::to_string(j), r.value_or(""));
    }
    if (p[3] == (enc ? "downsamplers" : "upsamplers") && p.size() >= 5 && p[4] == "0")
      return join(base + (enc ? ".downsample" : ".upsample"), tail(p, 5));
    return std::nullopt;
  }
  if (p.size() >= 4 && p[1] == "mid_block" && p[2] == "resnets" && (p[3] == "0" || p[3] == "1")) {
    auto r = rename_head(p, 4, reversed(kVaeResnet), false);
    if (!r && p.size() > 4) return std::nullopt;
    return join(p[0] + (p[3] == "0" ? ".mid.block_1" : ".mid.block_2"), r.value_or(""));
  }
  auto r = rename_head(p, 1, kVaeOldAttnNames, false);
  if (!r) r = rename_head(p, 1, reversed(kVaeMidLdmToDiff), false);
  if (!r) return std::nullopt;
  return p[0] + "." + *r;
}

int64_t diffusers_vae_levels(const std::set<std::string>& keys) {
  int64_t max_i = -1;
  for (const auto& key : keys) {
    const auto p = split(key);
    int64_t i = 0;
    if (p.size() >= 3 && p[0] == "decoder" && p[1] == "up_blocks" && parse_int(p[2], i)) max_i = std::max(max_i, i);
  }
  return max_i + 1;
}

}  // namespace loraflow
