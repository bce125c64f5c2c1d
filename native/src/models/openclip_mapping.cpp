#include "models/openclip_mapping.h"

#include <cstdlib>
#include <utility>

#include "models/key_mapping.h"

namespace loraflow {
namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

const char* kBlocks = "transformer.resblocks.";
const char* kLayers = "encoder.layers.";

// Inside one block: OpenCLIP sub-name -> HF sub-name (whole tensors).
const std::vector<std::pair<std::string, std::string>> kBlockNames = {
    {"ln_1.", "layer_norm1."},          {"ln_2.", "layer_norm2."},  {"attn.out_proj.", "self_attn.out_proj."},
    {"mlp.c_fc.", "mlp.fc1."},          {"mlp.c_proj.", "mlp.fc2."}};
const std::vector<std::pair<std::string, std::string>> kTopNames = {
    {"token_embedding.weight", "embeddings.token_embedding.weight"},
    {"positional_embedding", "embeddings.position_embedding.weight"},
    {"ln_final.weight", "final_layer_norm.weight"},
    {"ln_final.bias", "final_layer_norm.bias"},
    {"text_projection", "text_projection"}};
const char* kQkv[3] = {"q_proj", "k_proj", "v_proj"};

}  // namespace

std::pair<std::string, std::string> text_encoder_prefixes(const std::string& arch) {
  if (arch == "sd2") return {kSD2TextPrefix, ""};
  if (arch == "sdxl") return {kSDXLText1Prefix, kSDXLText2Prefix};
  return {kLdmTextPrefix, ""};
}

int openclip_block_index(const std::string& key) {
  if (!starts_with(key, kBlocks)) return -1;
  const std::string rest = key.substr(std::string(kBlocks).size());
  const auto dot = rest.find('.');
  if (dot == 0 || dot == std::string::npos) return -1;
  for (size_t i = 0; i < dot; ++i)
    if (rest[i] < '0' || rest[i] > '9') return -1;
  return std::atoi(rest.substr(0, dot).c_str());
}

std::vector<OpenClipPart> openclip_to_hf(const std::string& key) {
  for (const auto& [from, to] : kTopNames)
    if (key == from) return {{to, -1}};
  const int n = openclip_block_index(key);
  if (n < 0) return {};
  const std::string head = std::string(kBlocks) + std::to_string(n) + ".";
  const std::string rest = key.substr(head.size());
  const std::string layer = std::string(kLayers) + std::to_string(n) + ".";
  for (const char* suffix : {"weight", "bias"}) {
    if (rest == std::string("attn.in_proj_") + suffix) {
      std::vector<OpenClipPart> parts;
      for (int i = 0; i < 3; ++i) parts.push_back({layer + "self_attn." + kQkv[i] + "." + suffix, i});
      return parts;
    }
  }
  for (const auto& [from, to] : kBlockNames)
    if (starts_with(rest, from)) return {{layer + to + rest.substr(from.size()), -1}};
  return {};
}

OpenClipPart hf_to_openclip(const std::string& key) {
  for (const auto& [from, to] : kTopNames)
    if (key == to) return {from, -1};
  if (!starts_with(key, kLayers)) return {key, -1};
  const std::string rest0 = key.substr(std::string(kLayers).size());
  const auto dot = rest0.find('.');
  const std::string n = rest0.substr(0, dot);
  const std::string rest = rest0.substr(dot + 1);
  const std::string block = std::string(kBlocks) + n + ".";
  for (int i = 0; i < 3; ++i) {
    const std::string p = std::string("self_attn.") + kQkv[i] + ".";
    if (starts_with(rest, p)) return {block + "attn.in_proj_" + rest.substr(p.size()), i};
  }
  for (const auto& [from, to] : kBlockNames)
    if (starts_with(rest, to)) return {block + from + rest.substr(to.size()), -1};
  return {key, -1};
}

}  // namespace loraflow
