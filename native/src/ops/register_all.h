#pragma once

namespace loraflow {
class OpRegistry;

// Registers every op the engine serves. Called once by `serve`.
void register_all_ops(OpRegistry& r);

// hello, sleep (protocol tests), safetensors_info. Defined in ops/system_ops.cpp.
void register_system_ops(OpRegistry& r);
// load_model, unload, encode_prompts, vae_encode, vae_decode, unet_forward (models engineer).
void register_model_ops(OpRegistry& r);

// Extra CLI commands (cli/cli.h add_cli_command), e.g. make-model. Called once by cli_main.
void register_all_cli_commands();
void register_model_cli_commands();  // models engineer
}  // namespace loraflow
