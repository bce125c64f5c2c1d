#include "training/checkpointed_unet.h"

#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <functional>

#include "lora/lora_adapter.h"
#include "lora/lora_network.h"
#include "models/unet.h"

namespace loraflow {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct StageBody {
  std::function<at::Tensor(const at::Tensor& x, const at::Tensor& emb, const at::Tensor& ctx)> fn;
  std::vector<at::Tensor> params;
};

struct CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
  static variable_list forward(AutogradContext* ctx, int64_t body_addr, at::TensorList acts, at::TensorList params) {
    const auto* body = reinterpret_cast<const StageBody*>(body_addr);
    ctx->saved_data["body"] = body_addr;
    ctx->saved_data["n_params"] = static_cast<int64_t>(params.size());
    c10::List<bool> needs;
    for (const auto& a : acts) needs.push_back(a.requires_grad());
    ctx->saved_data["needs"] = needs;
    at::Generator gen = at::globalContext().defaultGenerator(acts[0].device());
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      ctx->saved_data["rng"] = gen.get_state();
    }
    ctx->save_for_backward(acts.vec());
    return {body->fn(acts[0], acts[1], acts[2])};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_out) {
    const auto* body = reinterpret_cast<const StageBody*>(ctx->saved_data["body"].toInt());
    const int64_t n_params = ctx->saved_data["n_params"].toInt();
    const auto needs = ctx->saved_data["needs"].toBoolList();
    variable_list saved = ctx->get_saved_variables();
    variable_list acts;
    for (size_t i = 0; i < saved.size(); ++i) acts.push_back(saved[i].detach().requires_grad_(static_cast<bool>(needs[i])));
    at::Generator gen = at::globalContext().defaultGenerator(acts[0].device());
    at::Tensor rng_now;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      rng_now = gen.get_state();
      gen.set_state(ctx->saved_data["rng"].toTensor());
    }
    at::Tensor out;
    {
      torch::AutoGradMode enable(true);
      out = body->fn(acts[0], acts[1], acts[2]);
    }
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng_now);
    }
    variable_list targets;
    std::vector<int> where;  // index in the result list
    for (size_t i = 0; i < acts.size(); ++i)
      if (static_cast<bool>(needs[i])) {
        targets.push_back(acts[i]);
        where.push_back(static_cast<int>(1 + i));
      }
    for (int64_t i = 0; i < n_params; ++i)
      if (body->params[i].requires_grad()) {
        targets.push_back(body->params[i]);
        where.push_back(static_cast<int>(1 + acts.size() + i));
      }
    variable_list result(1 + acts.size() + n_params);
    if (targets.empty() || !out.requires_grad()) return result;
    variable_list grads = torch::autograd::grad({out}, targets, {grad_out[0]}, false, false, true);
    for (size_t k = 0; k < grads.size(); ++k) result[where[k]] = grads[k];
    return result;
  }
};

std::string stage_of(const std::string& ldm_path) {
  // "input_blocks.4.1.proj_in" -> "input_blocks.4"; "middle_block.1...." -> "middle_block"
  const size_t a = ldm_path.find('.');
  if (a == std::string::npos) return ldm_path;
  const std::string head = ldm_path.substr(0, a);
  if (head == "middle_block") return head;
  const size_t b = ldm_path.find('.', a + 1);
  return ldm_path.substr(0, b);
}

}  // namespace

UNetRunner::UNetRunner(UNetImpl& unet, const LoraNetwork* network, bool checkpointing)
    : unet_(unet), checkpointing_(checkpointing) {
  if (!network) return;
  for (const auto& m : network->modules()) {
    if (m.component != "unet") continue;
    auto& v = stage_params_[stage_of(m.ldm_path)];
    v.push_back(m.adapter->down);
    v.push_back(m.adapter->up);
  }
}

at::Tensor UNetRunner::forward(const at::Tensor& x, const at::Tensor& timesteps, const at::Tensor& context,
                              const at::Tensor& y) {
  if (!checkpointing_) return unet_.forward(x, timesteps, context, y);
  const auto& cfg = unet_.config;
  const auto dtype = unet_.time_embed_1->weight.scalar_type();
  at::Tensor t = timesteps.reshape({-1});
  if (t.numel() == 1 && x.size(0) > 1) t = t.expand({x.size(0)});
  at::Tensor emb =
      unet_.time_embed_2(at::silu(unet_.time_embed_1(timestep_embedding(t, cfg.model_channels).to(dtype))));
  if (cfg.adm_in_channels > 0) {
    TORCH_CHECK(y.defined() && y.size(-1) == cfg.adm_in_channels, "UNet: missing y [B,", cfg.adm_in_channels,
                "] conditioning");
    emb = emb + unet_.label_emb_2(at::silu(unet_.label_emb_1(y.to(dtype))));
  }
  at::Tensor ctx = context.to(dtype);
  if (ctx.size(0) == 1 && x.size(0) > 1) ctx = ctx.expand({x.size(0), ctx.size(1), ctx.size(2)});
  auto run = [&](UNetStage& stage, const std::string& name, const at::Tensor& h) {
    auto body = std::make_shared<StageBody>();
    UNetStageImpl* s = stage.get();
    body->fn = [s](const at::Tensor& a, const at::Tensor& e, const at::Tensor& c) { return s->forward(a, e, c); };
    auto it = stage_params_.find(name);
    if (it != stage_params_.end()) body->params = it->second;
    keep_.push_back(body);
    return CheckpointFunction::apply(reinterpret_cast<int64_t>(body.get()), at::TensorList({h, emb, ctx}),
                                     at::TensorList(body->params))[0];
  };
  keep_.clear();
  at::Tensor h = x.to(dtype);
  std::vector<at::Tensor> skips;
  for (size_t i = 0; i < unet_.input_blocks.size(); ++i) {
    h = run(unet_.input_blocks[i], "input_blocks." + std::to_string(i), h);
    skips.push_back(h);
  }
  h = run(unet_.middle_block, "middle_block", h);
  for (size_t i = 0; i < unet_.output_blocks.size(); ++i) {
    h = at::cat({h, skips.back()}, 1);
    skips.pop_back();
    h = run(unet_.output_blocks[i], "output_blocks." + std::to_string(i), h);
  }
  return unet_.out_conv(at::silu(unet_.out_norm(h)));
}

}  // namespace loraflow
