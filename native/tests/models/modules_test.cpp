#include <gtest/gtest.h>

#include "models/adaptable_modules.h"
#include "models/key_mapping.h"
#include "models/mac_count.h"
#include "models/random_init.h"
#include "models/sd1_model.h"

using namespace loraflow;

namespace {
int64_t count_params(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

std::shared_ptr<SD1Model> tiny_model(uint64_t seed = 7) {
  auto m = std::make_shared<SD1Model>(sd1_tiny_config());
  init_random(*m, seed);
  return m;
}

struct ConstantAdapter : LayerAdapter {
  double value;
  explicit ConstantAdapter(double v) : value(v) {}
  at::Tensor delta(const at::Tensor& x) override { return at::full({1}, value, x.options()); }
};
}  // namespace

TEST(ModelsModules, TinyParameterCountsMatchReference) {
  SD1Model m(sd1_tiny_config());
  EXPECT_EQ(count_params(*m.unet), 1427012);
  EXPECT_EQ(m.unet->parameters().size(), 304u);
  EXPECT_EQ(count_params(*m.vae), 658375);
  EXPECT_EQ(count_params(*m.text), 1617529);
}

TEST(ModelsModules, FullSizeParameterCountsMatchSD15) {
  SD1Model m(sd1_full_config());  // parameters are allocated but never touched
  EXPECT_EQ(count_params(*m.unet), 859520964);
  EXPECT_EQ(m.unet->parameters().size(), 686u);
  EXPECT_EQ(count_params(*m.vae), 83653863);
  EXPECT_EQ(m.vae->parameters().size(), 248u);
  EXPECT_EQ(count_params(*m.text), 123060480);
  EXPECT_EQ(count_params(*m.vae->encoder) + count_params(*m.vae->quant_conv), 34163664);
}

TEST(ModelsModules, ParameterNamesAreLdmKeys) {
  SD1Model m(sd1_full_config());
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [k, t] : m.ldm_named_parameters()) shapes[k] = t.sizes().vec();
  const std::string u = kLdmUNetPrefix;
  EXPECT_EQ(shapes.at(u + "input_blocks.1.1.transformer_blocks.0.attn1.to_q.weight"), (std::vector<int64_t>{320, 320}));
  EXPECT_EQ(shapes.at(u + "input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"), (std::vector<int64_t>{320, 768}));
  EXPECT_EQ(shapes.at(u + "input_blocks.1.1.transformer_blocks.0.ff.net.0.proj.weight"),
            (std::vector<int64_t>{2560, 320}));
  EXPECT_EQ(shapes.at(u + "input_blocks.1.1.proj_in.weight"), (std::vector<int64_t>{320, 320, 1, 1}));
  EXPECT_EQ(shapes.at(u + "input_blocks.4.0.skip_connection.weight"), (std::vector<int64_t>{640, 320, 1, 1}));
  EXPECT_EQ(shapes.at(u + "input_blocks.3.0.op.weight"), (std::vector<int64_t>{320, 320, 3, 3}));
  EXPECT_EQ(shapes.at(u + "output_blocks.2.1.conv.weight"), (std::vector<int64_t>{1280, 1280, 3, 3}));
  EXPECT_EQ(shapes.at(u + "output_blocks.5.2.conv.weight"), (std::vector<int64_t>{1280, 1280, 3, 3}));
  EXPECT_EQ(shapes.at(u + "time_embed.0.weight"), (std::vector<int64_t>{1280, 320}));
  EXPECT_EQ(shapes.at(u + "out.2.weight"), (std::vector<int64_t>{4, 320, 3, 3}));
  EXPECT_EQ(shapes.count(u + "input_blocks.4.1.transformer_blocks.0.attn1.to_q.bias"), 0u);
  EXPECT_EQ(shapes.at(std::string(kLdmVAEPrefix) + "encoder.mid.attn_1.q.weight"), (std::vector<int64_t>{512, 512, 1, 1}));
  EXPECT_EQ(shapes.at(std::string(kLdmVAEPrefix) + "decoder.up.3.upsample.conv.weight"),
            (std::vector<int64_t>{512, 512, 3, 3}));
  EXPECT_EQ(shapes.count(std::string(kLdmVAEPrefix) + "decoder.up.0.upsample.conv.weight"), 0u);
  EXPECT_EQ(shapes.at(std::string(kLdmTextPrefix) + "embeddings.token_embedding.weight"),
            (std::vector<int64_t>{49408, 768}));
  EXPECT_EQ(shapes.at(std::string(kLdmTextPrefix) + "encoder.layers.11.mlp.fc1.weight"),
            (std::vector<int64_t>{3072, 768}));
}

TEST(ModelsModules, TinyOutputShapes) {
  auto m = tiny_model();
  torch::NoGradGuard ng;
  at::manual_seed(0);
  auto x = at::randn({2, 4, 16, 16});
  auto ctx = at::randn({2, 77, 32});
  auto y = m->unet->forward(x, at::tensor({10.0f, 900.0f}), ctx);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_TRUE(at::isfinite(y).all().item<bool>());
  // Timestep and context both change the output.
  EXPECT_FALSE(at::allclose(y, m->unet->forward(x, at::tensor({500.0f, 900.0f}), ctx)));
  EXPECT_FALSE(at::allclose(y, m->unet->forward(x, at::tensor({10.0f, 900.0f}), ctx * 2)));

  auto img = at::rand({1, 3, 64, 64}) * 2 - 1;
  auto moments = m->vae->encode_moments(img);
  EXPECT_EQ(moments.sizes(), (std::vector<int64_t>{1, 8, 32, 32}));
  auto mean = m->vae->posterior(moments);
  EXPECT_EQ(mean.sizes(), (std::vector<int64_t>{1, 4, 32, 32}));
  EXPECT_TRUE(at::equal(mean, moments.narrow(1, 0, 4)));
  auto rec = m->vae->decode(mean);
  EXPECT_EQ(rec.sizes(), img.sizes());
  EXPECT_TRUE(at::isfinite(rec).all().item<bool>());

  auto ids = at::randint(0, 49408, {3, 77}, at::kLong);
  auto h1 = m->text->forward(ids, 1);
  EXPECT_EQ(h1.sizes(), (std::vector<int64_t>{3, 77, 32}));
  auto h2 = m->text->forward(ids, 2);
  EXPECT_FALSE(at::allclose(h1, h2));
  // Causal: changing a late token leaves earlier positions unchanged.
  auto ids2 = ids.clone();
  ids2.index_put_({0, 50}, (ids[0][50].item<int64_t>() + 1) % 49408);
  auto h3 = m->text->forward(ids2, 1);
  EXPECT_TRUE(at::equal(h1[0].narrow(0, 0, 50), h3[0].narrow(0, 0, 50)));
  EXPECT_FALSE(at::allclose(h1[0].narrow(0, 50, 1), h3[0].narrow(0, 50, 1)));
}

TEST(ModelsModules, ClipSkipUsesEarlierHiddenStateThenFinalNorm) {
  auto m = tiny_model();
  torch::NoGradGuard ng;
  auto ids = at::randint(0, 49408, {1, 77}, at::kLong);
  // Manual: embeddings, first L-1 layers, final LN == clip_skip 2.
  auto x = m->text->token_embedding(ids) + m->text->position_embedding(at::arange(77, at::kLong)).unsqueeze(0);
  auto mask = at::triu(at::full({77, 77}, -std::numeric_limits<float>::infinity()), 1);
  for (int i = 0; i < 4; ++i) x = m->text->layers[i](x, mask);
  EXPECT_TRUE(at::allclose(m->text->final_layer_norm(x), m->text->forward(ids, 2), 1e-5, 1e-5));
  EXPECT_THROW(m->text->forward(ids, 6), c10::Error);
}

TEST(ModelsModules, TimestepEmbeddingIsCosFirst) {
  auto e = timestep_embedding(at::tensor({0.0f, 3.0f}), 8);
  ASSERT_EQ(e.sizes(), (std::vector<int64_t>{2, 8}));
  EXPECT_TRUE(at::allclose(e[0], at::tensor({1.f, 1.f, 1.f, 1.f, 0.f, 0.f, 0.f, 0.f})));
  EXPECT_NEAR(e[1][0].item<float>(), std::cos(3.0), 1e-6);
  EXPECT_NEAR(e[1][4].item<float>(), std::sin(3.0), 1e-6);
  EXPECT_NEAR(e[1][1].item<float>(), std::cos(3.0 * std::exp(-std::log(1e4) / 4)), 1e-6);
}

TEST(ModelsModules, VaeDownsamplePadsRightAndBottomOnly) {
  VAEConfig c = sd1_tiny_config().vae;
  VAEEncoder enc(c);
  auto conv = enc->downsample.at(0);
  torch::NoGradGuard ng;
  conv->weight.zero_();
  conv->bias.zero_();
  conv->weight.index_put_({0, 0, 0, 0}, 1.0);  // output(i,j) = padded input(2i, 2j): top-left tap
  auto x = at::arange(16, at::kFloat).reshape({1, 1, 4, 4}).expand({1, 32, 4, 4}).contiguous();
  auto y = vae_downsample(*conv, x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 32, 2, 2}));
  EXPECT_TRUE(at::equal(y[0][0], at::tensor({0.f, 2.f, 8.f, 10.f}).reshape({2, 2})));
}

TEST(ModelsModules, PosteriorSampleClampsLogvar) {
  VAEConfig c = sd1_tiny_config().vae;
  AutoencoderKL vae(c);
  auto moments = at::zeros({1, 8, 2, 2});
  moments.narrow(1, 4, 4).fill_(100.0);  // clamped to 20 -> std e^10
  auto noise = at::ones({1, 4, 2, 2});
  auto s = vae->posterior(moments, noise);
  EXPECT_NEAR(s[0][0][0][0].item<float>(), std::exp(10.0), 1.0);
}

TEST(ModelsModules, MacCountsMatchReferenceTable) {
  const auto full = sd1_full_config();
  EXPECT_NEAR(unet_macs(full.unet, 64, 64).total() / 1e9, 401.6, 0.05);
  EXPECT_NEAR(unet_macs(full.unet, 64, 64).conv / 1e9, 222.0, 0.05);
  EXPECT_NEAR(unet_macs(full.unet, 64, 64).linear / 1e9, 116.6, 0.05);
  EXPECT_NEAR(unet_macs(full.unet, 64, 64).attention / 1e9, 63.0, 0.05);
  EXPECT_NEAR(vae_encode_macs(full.vae, 512, 512).total() / 1e9, 558.3, 0.05);
  EXPECT_NEAR(vae_decode_macs(full.vae, 512, 512).total() / 1e9, 1257.3, 0.05);
  EXPECT_NEAR(vae_encode_macs(full.vae, 1024, 1024).total() / 1e9, 2439.5, 0.05);
  EXPECT_NEAR(vae_decode_macs(full.vae, 1024, 1024).total() / 1e9, 5235.2, 0.05);
  EXPECT_NEAR(clip_text_macs(full.text).total() / 1e9, 6.65, 0.01);
  EXPECT_NEAR(unet_macs(sd1_tiny_config().unet, 32, 32).total() / 1e9, 0.53, 0.005);
  EXPECT_NEAR(unet_macs(full.unet, 64, 64, 77, 2).total() / 1e9, 803.3, 0.05);
}

TEST(ModelsModules, UNetKeyMappingRoundTripsForEveryParameter) {
  for (const auto& cfg : {sd1_tiny_config(), sd1_full_config()}) {
    UNet unet(cfg.unet);
    std::set<std::string> diffusers, all;
    std::vector<std::string> names;
    for (const auto& kv : unet->named_parameters()) names.push_back(kv.key());
    for (const auto& k : names) {
      auto d = unet_ldm_to_diffusers(k, cfg.unet);
      ASSERT_TRUE(d.has_value()) << k;
      EXPECT_TRUE(diffusers.insert(*d).second) << "duplicate diffusers name " << *d;
    }
    auto layout = diffusers_unet_layout(diffusers);
    EXPECT_EQ(layout.layers_per_block, cfg.unet.num_res_blocks);
    for (const auto& k : names) EXPECT_EQ(unet_diffusers_to_ldm(*unet_ldm_to_diffusers(k, cfg.unet), layout), k);
  }
  const auto c = sd1_full_config().unet;
  EXPECT_EQ(*unet_ldm_to_diffusers("input_blocks.4.0.skip_connection.weight", c),
            "down_blocks.1.resnets.0.conv_shortcut.weight");
  EXPECT_EQ(*unet_ldm_to_diffusers("input_blocks.3.0.op.weight", c), "down_blocks.0.downsamplers.0.conv.weight");
  EXPECT_EQ(*unet_ldm_to_diffusers("output_blocks.2.1.conv.bias", c), "up_blocks.0.upsamplers.0.conv.bias");
  EXPECT_EQ(*unet_ldm_to_diffusers("output_blocks.5.2.conv.weight", c), "up_blocks.1.upsamplers.0.conv.weight");
  EXPECT_EQ(*unet_ldm_to_diffusers("middle_block.2.emb_layers.1.weight", c), "mid_block.resnets.1.time_emb_proj.weight");
  EXPECT_EQ(*unet_ldm_to_diffusers("time_embed.2.bias", c), "time_embedding.linear_2.bias");
  EXPECT_EQ(*unet_ldm_to_diffusers("out.0.weight", c), "conv_norm_out.weight");
  EXPECT_EQ(*unet_ldm_to_diffusers("output_blocks.9.1.transformer_blocks.0.attn2.to_out.0.weight", c),
            "up_blocks.3.attentions.0.transformer_blocks.0.attn2.to_out.0.weight");
}

TEST(ModelsModules, VaeKeyMappingRoundTripsForEveryParameter) {
  for (const auto& cfg : {sd1_tiny_config(), sd1_full_config()}) {
    AutoencoderKL vae(cfg.vae);
    std::set<std::string> seen;
    for (const auto& kv : vae->named_parameters()) {
      auto d = vae_ldm_to_diffusers(kv.key(), cfg.vae.levels());
      ASSERT_TRUE(d.has_value()) << kv.key();
      EXPECT_TRUE(seen.insert(*d).second) << *d;
      EXPECT_EQ(vae_diffusers_to_ldm(*d, cfg.vae.levels()), kv.key());
    }
    EXPECT_EQ(diffusers_vae_levels(seen), cfg.vae.levels());
  }
  EXPECT_EQ(*vae_ldm_to_diffusers("decoder.up.3.block.0.conv1.weight", 4), "decoder.up_blocks.0.resnets.0.conv1.weight");
  EXPECT_EQ(*vae_ldm_to_diffusers("decoder.up.1.upsample.conv.weight", 4), "decoder.up_blocks.2.upsamplers.0.conv.weight");
  EXPECT_EQ(*vae_ldm_to_diffusers("encoder.down.1.block.0.nin_shortcut.bias", 4),
            "encoder.down_blocks.1.resnets.0.conv_shortcut.bias");
  EXPECT_EQ(*vae_ldm_to_diffusers("encoder.mid.attn_1.proj_out.weight", 4), "encoder.mid_block.attentions.0.to_out.0.weight");
  EXPECT_EQ(*vae_ldm_to_diffusers("decoder.norm_out.bias", 4), "decoder.conv_norm_out.bias");
  EXPECT_EQ(*vae_diffusers_to_ldm("encoder.mid_block.attentions.0.query.weight", 4), "encoder.mid.attn_1.q.weight");
  EXPECT_EQ(*vae_diffusers_to_ldm("decoder.mid_block.attentions.0.proj_attn.bias", 4), "decoder.mid.attn_1.proj_out.bias");
}

TEST(ModelsModules, AdaptableModulesGiveKohyaNames) {
  SD1Model m(sd1_full_config());
  auto unet = adaptable_modules(m, "unet");
  auto text = adaptable_modules(m, "text_encoder");
  int unet_targets = 0, text_targets = 0;
  std::set<std::string> names;
  for (const auto& a : unet) {
    unet_targets += a.default_lora_target;
    EXPECT_TRUE(names.insert(a.kohya_name).second) << a.kohya_name;
    EXPECT_FALSE(a.diffusers_path.empty()) << a.ldm_path;
  }
  for (const auto& a : text) text_targets += a.default_lora_target;
  EXPECT_EQ(unet_targets, 192);  // 16 transformers x (proj_in, proj_out, 8 attention, 2 ff)
  EXPECT_EQ(text_targets, 72);   // 12 layers x (q, k, v, out, fc1, fc2)
  auto find = [&](const std::vector<AdaptableModule>& v, const std::string& kohya) {
    for (const auto& a : v)
      if (a.kohya_name == kohya) return a;
    return AdaptableModule{};
  };
  auto q = find(unet, "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q");
  ASSERT_TRUE(q.linear);
  EXPECT_EQ(q.ldm_path, "input_blocks.1.1.transformer_blocks.0.attn1.to_q");
  EXPECT_TRUE(q.default_lora_target);
  auto pin = find(unet, "lora_unet_up_blocks_3_attentions_2_proj_in");
  ASSERT_TRUE(pin.conv);
  EXPECT_EQ(pin.ldm_path, "output_blocks.11.1.proj_in");
  auto res = find(unet, "lora_unet_down_blocks_0_resnets_0_conv1");
  ASSERT_TRUE(res.conv);
  EXPECT_FALSE(res.default_lora_target);
  auto tq = find(text, "lora_te_text_model_encoder_layers_0_self_attn_q_proj");
  ASSERT_TRUE(tq.linear);
  EXPECT_EQ(tq.ldm_path, "encoder.layers.0.self_attn.q_proj");
}

TEST(ModelsModules, AdaptersChangeOutputAndCanBeCleared) {
  auto m = tiny_model();
  torch::NoGradGuard ng;
  auto x = at::randn({1, 4, 16, 16});
  auto ctx = at::randn({1, 77, 32});
  auto t = at::tensor({100.0f});
  auto base = m->unet->forward(x, t, ctx);
  auto mods = adaptable_modules(*m, "unet");
  std::shared_ptr<LinearWithAdaptersImpl> target;
  for (auto& a : mods)
    if (a.ldm_path == "input_blocks.4.1.transformer_blocks.0.attn2.to_v") target = a.linear;
  ASSERT_TRUE(target);
  target->add_adapter(std::make_shared<ConstantAdapter>(0.5));
  auto adapted = m->unet->forward(x, t, ctx);
  EXPECT_FALSE(at::allclose(base, adapted));
  EXPECT_EQ(m->unet->named_parameters().size(), 304u);  // adapters are not parameters of the base model
  target->clear_adapters();
  EXPECT_TRUE(at::equal(base, m->unet->forward(x, t, ctx)));
}
