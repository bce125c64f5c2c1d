// Text-encoder key layouts of SD2.x and SDXL checkpoints (sd-architecture.md §5).
// The engine runs every text encoder as an HF-layout CLIP (separate q/k/v projections, so LoRA modules get
// kohya's names). OpenCLIP weights (SD2 `cond_stage_model.model.*`, SDXL bigG `conditioner.embedders.1.model.*`)
// are exposed under canonical keys "<file prefix>text_model.<HF name>"; the combined attn.in_proj_weight/bias
// [3d, ...] becomes three row slices q;k;v. text_projection keeps the OpenCLIP orientation [width, proj] and
// is applied as x·P (no transpose anywhere).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace loraflow {

// File prefixes.
inline constexpr const char* kSD2TextFilePrefix = "cond_stage_model.model.";
inline constexpr const char* kSDXLText1Prefix = "conditioner.embedders.0.transformer.text_model.";  // HF layout
inline constexpr const char* kSDXLText2FilePrefix = "conditioner.embedders.1.model.";
// Canonical (model) prefixes of the OpenCLIP encoders.
inline constexpr const char* kSD2TextPrefix = "cond_stage_model.model.text_model.";
inline constexpr const char* kSDXLText2Prefix = "conditioner.embedders.1.model.text_model.";

// Canonical prefixes of the arch's text encoders: {text, text2} ("" for none).
std::pair<std::string, std::string> text_encoder_prefixes(const std::string& arch);

struct OpenClipPart {
  std::string key;  // canonical HF-layout name, relative to the encoder ("encoder.layers.0.self_attn.q_proj.weight")
  int slice = -1;   // -1: the whole tensor; 0..2: row chunk of a [3d, ...] in_proj tensor
};
// OpenCLIP name relative to the encoder prefix ("transformer.resblocks.0.attn.in_proj_weight") -> parts.
// Empty for names with no HF counterpart (logit_scale, attn_mask) - callers list those as ignored.
std::vector<OpenClipPart> openclip_to_hf(const std::string& openclip_key);

// The inverse, for writers: HF name -> OpenCLIP name and slice (q 0, k 1, v 2 of in_proj; -1 otherwise).
OpenClipPart hf_to_openclip(const std::string& hf_key);

// "transformer.resblocks.N." index of an OpenCLIP key; -1 when it is not inside a resblock.
int openclip_block_index(const std::string& openclip_key);

}  // namespace loraflow
