#include "training/lora_saver.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>

#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "lora/lora_file.h"
#include "lora/lora_network.h"
#include "training/sha256.h"

namespace fs = std::filesystem;

namespace loraflow {

std::string legacy_model_hash(const std::string& model_path) {
  std::error_code ec;
  if (model_path.empty() || !fs::is_regular_file(model_path, ec)) return "";
  return sha256_file_range(model_path, 0x100000, 0x10000).substr(0, 8);
}

SavedLora save_lora_file(const std::string& path, const LoraNetwork& net, const std::string& save_precision,
                         std::map<std::string, std::string> metadata) {
  const auto tensors = lora_tensors_for_save(net.save_entries(), parse_save_precision(save_precision));
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  // Hash the file as kohya does: serialised with the ss_* metadata only.
  std::map<std::string, std::string> ss;
  for (const auto& [k, v] : metadata)
    if (k.rfind("ss_", 0) == 0) ss[k] = v;
  const std::string probe = path + ".hash-probe";
  write_safetensors(probe, tensors, ss);
  SavedLora out;
  out.path = path;
  try {
    uint64_t data_offset = 0;
    {
      auto f = SafetensorsFile::open(probe);
      data_offset = f->file_size();
      for (const auto& t : f->tensors()) data_offset -= t.nbytes();
    }
    out.model_hash = sha256_file_range(probe, data_offset, UINT64_MAX);
    out.legacy_hash = sha256_file_range(probe, 0x100000, 0x10000).substr(0, 8);
  } catch (...) {
    fs::remove(probe);
    throw;
  }
  fs::remove(probe);
  metadata["sshs_model_hash"] = out.model_hash;
  metadata["sshs_legacy_hash"] = out.legacy_hash;
  write_safetensors(path, tensors, metadata);
  return out;
}

}  // namespace loraflow
