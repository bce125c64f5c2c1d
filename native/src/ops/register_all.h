#pragma once

namespace loraflow {
class OpRegistry;

// Registers every op the engine serves. Called once by `serve`.
void register_all_ops(OpRegistry& r);

// hello, sleep (protocol tests), safetensors_info. Defined in ops/system_ops.cpp.
void register_system_ops(OpRegistry& r);
// load_model, unload, encode_prompts, vae_encode, vae_decode, unet_forward (models engineer).
void register_model_ops(OpRegistry& r);
}  // namespace loraflow
