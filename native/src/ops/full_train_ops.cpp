// Protocol op `train_full`: trains every weight of one component of a loaded SD1 model (finetune/full_trainer.h)
// and saves the whole model as a single-file LDM checkpoint.
//
// args: model_id, images (safetensors path with uint8 'images' [N,H,W,3]), captions? ([N] strings, unet),
// params {finetune/full_train_config.h}, out (checkpoint path), save_dtype? (fp16 | bf16 | fp32, default fp16),
// overwrite? (default false), metadata? {string: string}.
// Events: training.metrics as train_lora. The trained model is evicted from the cache afterwards: its weights
// no longer match the file it was loaded from; load `out` to use them.
#include <ATen/ATen.h>

#include "finetune/full_trainer.h"
#include "finetune/ldm_checkpoint_writer.h"
#include "io/safetensors_reader.h"
#include "models/model_cache.h"
#include "models/sd1_loader.h"
#include "models/sd1_model.h"
#include "protocol/op_registry.h"

using nlohmann::json;

namespace loraflow {

void register_full_train_ops(OpRegistry& r);

namespace {

json op_train_full(const json& args, OpContext& ctx) {
  const std::string model_id = arg<std::string>(args, "model_id");
  auto lm = engine_model_cache().get(model_id);
  const FullTrainConfig config = parse_full_train_config(arg_or<json>(args, "params", json::object()));
  const std::string out = arg<std::string>(args, "out");
  const bool overwrite = arg_or<bool>(args, "overwrite", false);
  const at::ScalarType save_dtype = resolve_dtype(arg_or<std::string>(args, "save_dtype", "fp16"), at::Device(at::kCPU));
  const std::string images_path = arg<std::string>(args, "images");
  auto file = SafetensorsFile::open(images_path);
  if (!file->has("images")) fail(errc::bad_request, images_path + " (argument 'images') has no tensor 'images'");
  FullTrainData data;
  data.images = file->load("images");
  data.captions = arg_or<std::vector<std::string>>(args, "captions", {});
  std::map<std::string, std::string> metadata;
  const json meta_arg = arg_or<json>(args, "metadata", json::object());
  for (const auto& [k, v] : meta_arg.items()) {
    if (!v.is_string()) fail(errc::bad_request, "argument 'metadata." + k + "' must be a string");
    metadata[k] = v.get<std::string>();
  }

  TrainCallbacks cb;
  cb.metrics = [&ctx](const json& m) { ctx.event({{"type", "training.metrics"}, {"data", m}}); };
  cb.log = [&ctx](const std::string& level, const std::string& msg) { ctx.log(level, msg); };
  cb.progress = [&ctx, &config](int64_t step, int64_t total) {
    ctx.progress(static_cast<double>(step), static_cast<double>(total), "training " + config.component);
  };
  cb.cancelled = [&ctx]() { return ctx.cancelled(); };
  const FullTrainResult r = train_full(*lm->model, lm->tokenizer.get(), data, config, cb);

  json result = {{"component", config.component}, {"steps", r.steps},
                 {"loss_first", r.loss_first},     {"loss_last", r.loss_last},
                 {"seconds", r.seconds},           {"peak_rss_mb", r.peak_rss_mb},
                 {"trained_parameters", r.trained_parameters}};
  if (!r.latent_std.empty()) {
    result["latent_mean"] = r.latent_mean;
    result["latent_std"] = r.latent_std;
  }
  metadata["loraflow.full_train." + config.component] =
      json{{"steps", r.steps}, {"batch", config.train_batch_size}, {"lr", config.learning_rate},
           {"te_lr", config.text_encoder_lr}, {"seed", config.seed}, {"loss_last", r.loss_last}}
          .dump();
  save_ldm_checkpoint(*lm->model, out, save_dtype, metadata, overwrite);
  engine_model_cache().erase(model_id);
  result["path"] = out;
  return result;
}

}  // namespace

void register_full_train_ops(OpRegistry& r) { r.add("train_full", op_train_full); }

}  // namespace loraflow
