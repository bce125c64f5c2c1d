// Writes trained LoRA files in kohya format with the ss_* / sshs_* / modelspec.* metadata of
// lora-training-reference.md §2 plus loraflow.workflow. sshs_model_hash is the SHA-256 of the bytes after the
// header and sshs_legacy_hash the first 8 hex of the SHA-256 of 64 KiB at 0x100000, both of the file as
// serialised with its ss_* metadata only (kohya precalculate_safetensors_hashes). Writes are atomic.
#pragma once
#include <map>
#include <string>

namespace loraflow {

class LoraNetwork;

struct SavedLora {
  std::string path;
  std::string model_hash;   // sshs_model_hash
  std::string legacy_hash;  // sshs_legacy_hash
};

// metadata: ss_* and the rest; the sshs_* hashes are added here. save_precision: fp32 | fp16 | bf16.
SavedLora save_lora_file(const std::string& path, const LoraNetwork& net, const std::string& save_precision,
                         std::map<std::string, std::string> metadata);

// kohya's legacy model hash of a checkpoint file: first 8 hex of SHA-256 of 64 KiB at offset 0x100000.
std::string legacy_model_hash(const std::string& model_path);

}  // namespace loraflow
