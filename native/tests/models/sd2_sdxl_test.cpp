// SD2.x and SDXL: architecture detection from key sets, tiny models in the exact Stability layout (load, weights,
// text conditioning, forward) and the full-size SDXL LoRA key set.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <set>

#include "io/safetensors_reader.h"
#include "lora/lora_network.h"
#include "model_test_util.h"
#include "models/arch_detect.h"
#include "models/checkpoint_index.h"
#include "models/make_model.h"
#include "models/openclip_mapping.h"
#include "models/random_init.h"
#include "models/sd1_loader.h"
#include "models/sd1_model.h"
#include "models/text_conditioning.h"
#include "models/unet.h"
#include "protocol/errors.h"

using namespace loraflow;
using loraflow::testing::cpu;
using loraflow::testing::expect_engine_error;
using loraflow::testing::TempDir;

namespace {

// One prompt's [1, 77] token ids: `tokens`, then `pad` to the end.
at::Tensor token_ids(std::initializer_list<int64_t> tokens, int64_t pad) {
  at::Tensor ids = at::full({1, 77}, pad, at::kLong);
  int64_t i = 0;
  for (int64_t t : tokens) ids[0][i++] = t;
  return ids;
}

std::string make(const TempDir& dir, const std::string& arch, uint64_t seed, bool v = false) {
  MakeModelOptions o;
  o.arch = arch;
  o.size = "tiny";
  o.seed = seed;
  o.v_prediction = v;
  o.out = dir.file(arch + (v ? "-v" : "") + "-" + std::to_string(seed) + ".safetensors");
  return make_model(o).path;
}

// Compares every loaded parameter with a model initialised from the same seed by canonical key.
void expect_weights_match_seed(SD1Model& loaded, uint64_t seed) {
  SD1Model ref(loaded.config);
  init_random(ref, seed);
  const auto a = loaded.ldm_named_parameters(), b = ref.ldm_named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].first, b[i].first);
    EXPECT_TRUE(at::equal(a[i].second, b[i].second)) << a[i].first;
  }
}

ArchDetection detect(const SD1Config& cfg, const TensorStd& std_fn = {}, const std::string& hint = "auto",
                     const std::map<std::string, std::string>& meta = {}) {
  return detect_checkpoint_arch(stability_file_shapes(cfg), meta, std_fn, "model.safetensors", hint);
}

}  // namespace

// ---- detection (full-size key sets, no data) ----

TEST(ArchDetection, FullSizeKeySetsOfEveryFamily) {
  EXPECT_EQ(detect(sd_preset("sd1", "full")).arch, "sd1");
  EXPECT_FALSE(detect(sd_preset("sd1", "full")).v_prediction);
  const auto xl = detect(sd_preset("sdxl", "full"));
  EXPECT_EQ(xl.arch, "sdxl");
  EXPECT_FALSE(xl.v_prediction);
  // SD2: 512-base vs 768-v by ComfyUI's norm1.bias std rule on output_blocks.11.1.
  std::string probed;
  auto std_of = [&probed](double v) {
    return [&probed, v](const std::string& k) {
      probed = k;
      return v;
    };
  };
  const auto base = detect(sd_preset("sd2", "full"), std_of(0.05));
  EXPECT_EQ(base.arch, "sd2");
  EXPECT_FALSE(base.v_prediction);
  EXPECT_EQ(probed, "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias");
  const auto v = detect(sd_preset("sd2", "full", true), std_of(0.21));
  EXPECT_EQ(v.arch, "sd2");
  EXPECT_TRUE(v.v_prediction);
  EXPECT_NE(v.prediction_source.find("0.210"), std::string::npos) << v.prediction_source;
  // The caller's flag and the file's metadata win over the heuristic.
  EXPECT_FALSE(detect(sd_preset("sd2", "full"), std_of(0.21), "eps").v_prediction);
  EXPECT_TRUE(detect(sd_preset("sd2", "full"), std_of(0.01), "v").v_prediction);
  EXPECT_TRUE(detect(sd_preset("sd2", "full"), std_of(0.01), "auto", {{"modelspec.prediction_type", "v"}}).v_prediction);
  auto keys = stability_file_shapes(sd_preset("sd2", "full"));
  keys["v_pred"] = {};
  EXPECT_TRUE(detect_checkpoint_arch(keys, {}, {}, "m", "auto").v_prediction);
  // SD2 is recognised by its text encoder keys and by the 1024-wide context alone.
  EXPECT_EQ(keys.count("cond_stage_model.model.transformer.resblocks.23.attn.in_proj_weight"), 1u);
  EXPECT_EQ(keys.at("cond_stage_model.model.transformer.resblocks.0.attn.in_proj_weight"), (std::vector<int64_t>{3072, 1024}));
  expect_engine_error([] { detect(sd_preset("sd1", "full"), {}, "maybe"); }, errc::bad_request, {"prediction", "maybe"});
}

TEST(ArchDetection, SdxlRefinerIsRefusedClearly) {
  KeyShapes refiner = {
      {"model.diffusion_model.input_blocks.0.0.weight", {384, 4, 3, 3}},
      {"model.diffusion_model.label_emb.0.0.weight", {1536, 2560}},
      {"conditioner.embedders.0.model.transformer.resblocks.0.attn.in_proj_weight", {3840, 1280}},
      {"conditioner.embedders.0.model.transformer.resblocks.9.mlp.c_proj.bias", {1280}}};
  expect_engine_error([&] { detect_checkpoint_arch(refiner, {}, {}, "refiner.safetensors"); }, errc::unsupported,
               {"refiner.safetensors", "SDXL refiner", "not supported"});
  // A UNet-only refiner (no encoders) is caught by its shapes.
  KeyShapes unet_only = {{"model.diffusion_model.input_blocks.0.0.weight", {384, 4, 3, 3}},
                         {"cond_stage_model.transformer.text_model.final_layer_norm.weight", {768}}};
  expect_engine_error([&] { detect_checkpoint_arch(unet_only, {}, {}, "r.safetensors"); }, errc::unsupported, {"refiner"});
  KeyShapes xl_unet = {{"model.diffusion_model.input_blocks.0.0.weight", {320, 4, 3, 3}},
                       {"model.diffusion_model.label_emb.0.0.weight", {1280, 2816}}};
  expect_engine_error([&] { detect_checkpoint_arch(xl_unet, {}, {}, "u.safetensors"); }, errc::unsupported,
               {"SDXL-style UNet", "text"});
}

// ---- tiny SD2 ----

TEST(SD2Tiny, LoadsTheStabilityLayoutWithSplitInProj) {
  TempDir d;
  const std::string path = make(d, "sd2", 3);
  const CheckpointIndex idx = open_sd_checkpoint(path);
  EXPECT_EQ(idx.arch, "sd2");
  EXPECT_FALSE(idx.v_prediction);
  // The file's last OpenCLIP block (index 5 of 0..5) and text_projection are not used.
  std::set<std::string> ignored(idx.ignored.begin(), idx.ignored.end());
  EXPECT_EQ(ignored.count("cond_stage_model.model.transformer.resblocks.5.attn.in_proj_weight"), 1u);
  EXPECT_EQ(ignored.count("cond_stage_model.model.text_projection"), 1u);
  auto m = load_sd1_model(idx, cpu());
  EXPECT_EQ(m->config.arch, "sd2");
  EXPECT_EQ(m->config.text.layers, 5);
  EXPECT_TRUE(m->config.text.gelu);
  EXPECT_TRUE(m->config.unet.use_linear_proj);
  EXPECT_EQ(m->config.unet.num_heads, -1);
  EXPECT_EQ(m->config.unet.num_head_channels, 16);
  EXPECT_EQ(m->config.unet.heads_for(64), 4);
  expect_weights_match_seed(*m, 3);
  // q, k, v are the three row blocks of in_proj, in that order.
  auto f = SafetensorsFile::open(path);
  at::Tensor in_proj = f->load("cond_stage_model.model.transformer.resblocks.2.attn.in_proj_weight");
  at::Tensor in_bias = f->load("cond_stage_model.model.transformer.resblocks.2.attn.in_proj_bias");
  const auto& layer = m->text->layers[2];
  EXPECT_TRUE(at::equal(in_proj.narrow(0, 0, 32), layer->q_proj->weight));
  EXPECT_TRUE(at::equal(in_proj.narrow(0, 32, 32), layer->k_proj->weight));
  EXPECT_TRUE(at::equal(in_proj.narrow(0, 64, 32), layer->v_proj->weight));
  EXPECT_TRUE(at::equal(in_bias.narrow(0, 64, 32), layer->v_proj->bias));
  EXPECT_TRUE(at::equal(f->load("cond_stage_model.model.ln_final.weight"), m->text->final_layer_norm->weight));
  EXPECT_TRUE(at::equal(f->load("cond_stage_model.model.positional_embedding"), m->text->position_embedding->weight));
}

TEST(SD2Tiny, TextUsesGeluAndAllKeptBlocksThenUNetForward) {
  TempDir d;
  auto m = load_sd1_model(make(d, "sd2", 4), cpu());
  torch::NoGradGuard ng;
  at::Tensor ids = token_ids({49406, 320, 49407}, 0);
  // Reference: the same blocks with exact GELU, then ln_final (= final_layer_norm).
  at::Tensor x = m->text->token_embedding->weight.index_select(0, ids[0]).unsqueeze(0) +
                 m->text->position_embedding->weight.unsqueeze(0);
  at::Tensor mask = at::full({77, 77}, -std::numeric_limits<float>::infinity()).triu(1);
  for (auto& layer : m->text->layers) {
    at::Tensor h = at::layer_norm(x, {32}, layer->layer_norm1->weight, layer->layer_norm1->bias, 1e-5);
    auto heads = [](const at::Tensor& t) { return t.view({1, 77, 4, 8}).transpose(1, 2); };
    at::Tensor q = heads(layer->q_proj(h)), k = heads(layer->k_proj(h)), v = heads(layer->v_proj(h));
    at::Tensor a = at::softmax(q.matmul(k.transpose(-1, -2)) / std::sqrt(8.0) + mask, -1).matmul(v);
    x = x + layer->out_proj(a.transpose(1, 2).reshape({1, 77, 32}));
    h = at::layer_norm(x, {32}, layer->layer_norm2->weight, layer->layer_norm2->bias, 1e-5);
    x = x + layer->fc2(at::gelu(layer->fc1(h)));
  }
  at::Tensor ref = at::layer_norm(x, {32}, m->text->final_layer_norm->weight, m->text->final_layer_norm->bias, 1e-5);
  at::Tensor got = encode_text_chunk(*m, ids, 1).context;
  EXPECT_TRUE(at::allclose(got, ref, 1e-4, 1e-5)) << (got - ref).abs().max();
  at::Tensor out = m->unet->forward(at::randn({2, 4, 16, 16}), at::tensor({10.0f, 900.0f}), got.expand({2, 77, 32}));
  EXPECT_EQ(out.sizes(), (at::IntArrayRef{2, 4, 16, 16}));
  EXPECT_TRUE(at::isfinite(out).all().item<bool>());
}

TEST(SD2Tiny, VPredictionFromMetadataOrCallerFlag) {
  TempDir d;
  auto v = load_sd1_model(make(d, "sd2", 5, true), cpu());
  EXPECT_TRUE(v->config.v_prediction);
  EXPECT_EQ(v->config.default_image_size(), 64);  // tiny
  EXPECT_EQ(sd_preset("sd2", "full", true).default_image_size(), 768);
  const std::string plain = make(d, "sd2", 5);
  EXPECT_FALSE(load_sd1_model(plain, cpu())->config.v_prediction);
  LoadOptions o = cpu();
  o.prediction = "v";
  EXPECT_TRUE(load_sd1_model(plain, o)->config.v_prediction);
  EXPECT_EQ(open_sd_checkpoint(plain, "v").prediction_source, "caller");
}

// ---- tiny SDXL ----

TEST(SDXLTiny, LoadsBothEncodersAndLabelEmbedding) {
  TempDir d;
  const std::string path = make(d, "sdxl", 6);
  auto m = load_sd1_model(path, cpu());
  const auto& c = m->config;
  EXPECT_EQ(c.arch, "sdxl");
  EXPECT_EQ(c.unet.context_dim, 64);
  EXPECT_EQ(c.unet.adm_in_channels, 80);
  EXPECT_EQ(c.unet.transformer_depth, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(c.unet.transformer_depth_middle, 2);
  EXPECT_EQ(c.text2.projection_dim, 32);
  EXPECT_EQ(c.size_embed_dim(), 8);
  EXPECT_FALSE(c.text.gelu);
  EXPECT_TRUE(c.text2.gelu);
  EXPECT_DOUBLE_EQ(c.vae.scaling_factor, 0.13025);
  EXPECT_EQ(SD1Model(sd_preset("sdxl", "full")).config.default_image_size(), 1024);
  expect_weights_match_seed(*m, 6);
  int64_t unet_params = 0;
  for (const auto& p : m->unet->parameters()) unet_params += p.numel();
  EXPECT_EQ(unet_params, 1976516);  // sd-architecture.md §9 tiny SDXL UNet
  auto f = SafetensorsFile::open(path);
  // text_projection is kept in OpenCLIP orientation [width, proj] and applied as x·P.
  EXPECT_TRUE(at::equal(f->load("conditioner.embedders.1.model.text_projection"), m->text2->text_projection));
  at::Tensor in_proj = f->load("conditioner.embedders.1.model.transformer.resblocks.4.attn.in_proj_weight");
  EXPECT_TRUE(at::equal(in_proj.narrow(0, 32, 32), m->text2->layers[4]->k_proj->weight));
}

TEST(SDXLTiny, ContextIsPenultimateOfBothAndPooledUsesZeroPaddedBigG) {
  TempDir d;
  auto m = load_sd1_model(make(d, "sdxl", 7), cpu());
  torch::NoGradGuard ng;
  at::Tensor ids = token_ids({49406, 320, 1125, 49407}, 49407);
  at::Tensor padded = openclip_padded_ids(ids);
  EXPECT_EQ(padded[0][3].item<int64_t>(), 49407);
  EXPECT_EQ(padded.slice(1, 4).abs().sum().item<int64_t>(), 0);
  EXPECT_TRUE(at::equal(padded.slice(1, 0, 4), ids.slice(1, 0, 4)));
  const TextConditioning tc = encode_text_chunk(*m, ids, 1);
  ASSERT_EQ(tc.context.sizes(), (at::IntArrayRef{1, 77, 64}));
  ASSERT_EQ(tc.pooled.sizes(), (at::IntArrayRef{1, 32}));
  // CLIP-L: 4 of 5 layers, no final norm; bigG on 0-padded ids: 4 of 5 blocks, no ln_final.
  EXPECT_TRUE(at::allclose(tc.context.slice(2, 0, 32), m->text->hidden_states(ids, 4)));
  EXPECT_TRUE(at::allclose(tc.context.slice(2, 32, 64), m->text2->hidden_states(padded, 4)));
  EXPECT_FALSE(at::allclose(tc.context.slice(2, 0, 32), m->text->forward(ids, 2)));  // that one has the final LN
  // pooled = ln_final(all 5 blocks)[EOS at 3] · P
  at::Tensor all = m->text2->forward(padded, 1);  // all blocks + final norm
  at::Tensor ref = all[0][3].unsqueeze(0).matmul(m->text2->text_projection);
  EXPECT_TRUE(at::allclose(tc.pooled, ref, 1e-5, 1e-6));
  // y: pooled, then cos-first 8-dim embeddings of (orig h, orig w, crop top, crop left, target h, target w).
  at::Tensor y = sdxl_y_vector(tc.pooled, {SizeConditioning{1000, 800, 12, 0, 1024, 768}}, 8);
  ASSERT_EQ(y.sizes(), (at::IntArrayRef{1, 80}));
  EXPECT_TRUE(at::equal(y.slice(1, 0, 32), tc.pooled));
  EXPECT_NEAR(y[0][32].item<double>(), std::cos(1000.0), 1e-3);        // orig h, frequency 1
  EXPECT_NEAR(y[0][36].item<double>(), std::sin(1000.0), 1e-3);
  EXPECT_NEAR(y[0][40].item<double>(), std::cos(800.0), 1e-3);         // orig w
  EXPECT_NEAR(y[0][48].item<double>(), std::cos(12.0), 1e-5);          // crop top
  EXPECT_NEAR(y[0][56].item<double>(), 1.0, 1e-6);                     // crop left 0: cos 0
  EXPECT_NEAR(y[0][72].item<double>(), std::cos(768.0), 1e-3);         // target w
  // The UNet uses y: another original size changes the prediction.
  at::Tensor x = at::randn({1, 4, 16, 16});
  at::Tensor t = at::tensor({500.0f});
  at::Tensor y2 = sdxl_y_vector(tc.pooled, {SizeConditioning{512, 512, 0, 0, 1024, 768}}, 8);
  at::Tensor a = m->unet->forward(x, t, tc.context, y), b = m->unet->forward(x, t, tc.context, y2);
  EXPECT_EQ(a.sizes(), x.sizes());
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-4);
  EXPECT_THROW(m->unet->forward(x, t, tc.context), c10::Error);  // y is required
}

// ---- full-size SDXL LoRA key set (modules built, memory never touched) ----

TEST(SDXLFull, LoraKeySetIs722UNetAnd264TextEncoderModules) {
  const SD1Config cfg = sd_preset("sdxl", "full");
  SD1Model model(cfg);
  LoraNetworkConfig c;
  c.rank = 4;
  LoraNetwork net(model, c);
  int unet = 0, te1 = 0, te2 = 0;
  std::map<std::string, std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes;
  for (const auto& e : net.save_entries()) shapes[e.name] = {e.down.sizes().vec(), e.up.sizes().vec()};
  for (const auto& m : net.modules()) {
    if (m.name.rfind("lora_unet_", 0) == 0) ++unet;
    else if (m.name.rfind("lora_te1_text_model_encoder_layers_", 0) == 0) ++te1;
    else if (m.name.rfind("lora_te2_text_model_encoder_layers_", 0) == 0) ++te2;
    else ADD_FAILURE() << "unexpected module " << m.name;
  }
  EXPECT_EQ(unet, 722);
  EXPECT_EQ(te1, 72);
  EXPECT_EQ(te2, 192);
  EXPECT_EQ(shapes.size(), 986u);
  using S = std::vector<int64_t>;
  auto expect = [&](const std::string& n, S down, S up) {
    ASSERT_EQ(shapes.count(n), 1u) << n;
    EXPECT_EQ(shapes[n].first, down) << n;
    EXPECT_EQ(shapes[n].second, up) << n;
  };
  expect("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q", {4, 640}, {640, 4});
  expect("lora_unet_input_blocks_4_1_proj_in", {4, 640}, {640, 4});  // linear projection
  expect("lora_unet_input_blocks_8_1_transformer_blocks_9_attn2_to_k", {4, 2048}, {1280, 4});
  expect("lora_unet_middle_block_1_transformer_blocks_9_ff_net_0_proj", {4, 1280}, {10240, 4});
  expect("lora_unet_output_blocks_0_1_transformer_blocks_9_ff_net_2", {4, 5120}, {1280, 4});
  expect("lora_unet_output_blocks_5_1_proj_out", {4, 640}, {640, 4});
  expect("lora_te1_text_model_encoder_layers_11_mlp_fc1", {4, 768}, {3072, 4});
  expect("lora_te2_text_model_encoder_layers_31_self_attn_q_proj", {4, 1280}, {1280, 4});
  expect("lora_te2_text_model_encoder_layers_0_mlp_fc2", {4, 5120}, {1280, 4});
  EXPECT_EQ(shapes.count("lora_unet_input_blocks_1_1_proj_in"), 0u);  // level 0 has no attention
  EXPECT_EQ(shapes.count("lora_unet_output_blocks_6_1_proj_in"), 0u);
  // Parameter counts of the full architecture (sd-architecture.md §3, §5).
  int64_t unet_params = 0, bigg = 0;
  for (const auto& p : model.unet->parameters()) unet_params += p.numel();
  for (const auto& p : model.text2->parameters()) bigg += p.numel();
  EXPECT_EQ(unet_params, 2567463684);
  EXPECT_EQ(bigg, 694659840);  // including text_projection
}

TEST(SD2Full, ParameterCountsAndLoraModules) {
  SD1Model model(sd_preset("sd2", "full"));
  int64_t unet = 0, text = 0;
  for (const auto& p : model.unet->parameters()) unet += p.numel();
  for (const auto& p : model.text->parameters()) text += p.numel();
  EXPECT_EQ(unet, 865910724);
  EXPECT_EQ(text, 340387840);  // 23 blocks, no projection
  LoraNetwork net(model, LoraNetworkConfig{});
  int u = 0, t = 0;
  for (const auto& m : net.modules()) {
    if (m.name.rfind("lora_unet_down_blocks_", 0) == 0 || m.name.rfind("lora_unet_mid_block_", 0) == 0 ||
        m.name.rfind("lora_unet_up_blocks_", 0) == 0)
      ++u;
    else if (m.name.rfind("lora_te_text_model_encoder_layers_", 0) == 0)
      ++t;
    else
      ADD_FAILURE() << m.name;
  }
  EXPECT_EQ(u, 192);
  EXPECT_EQ(t, 23 * 6);
}

// ---- diffusers folders ----

TEST(DiffusersLayout, Sd2AndSdxlFoldersLoadTheSameWeightsAsTheSingleFile) {
  TempDir d;
  for (const auto& [arch, v] : std::vector<std::pair<std::string, bool>>{{"sd2", true}, {"sdxl", false}}) {
    MakeModelOptions o;
    o.arch = arch;
    o.size = "tiny";
    o.seed = 8;
    o.v_prediction = v;
    o.layout = "diffusers";
    o.out = d.file(arch + "-diffusers");
    const CheckpointIndex idx = open_sd_checkpoint(make_model(o).path);
    EXPECT_EQ(idx.layout, "diffusers");
    EXPECT_EQ(idx.arch, arch);
    EXPECT_EQ(idx.v_prediction, v) << arch;
    EXPECT_EQ(idx.prediction_source, "scheduler_config.json prediction_type");
    EXPECT_TRUE(idx.unexpected.empty()) << idx.unexpected.front();
    auto a = load_sd1_model(idx, cpu());
    auto b = load_sd1_model(make(d, arch, 8, v), cpu());
    EXPECT_EQ(a->config.unet.transformer_depth, b->config.unet.transformer_depth);
    EXPECT_EQ(a->config.text.layers, b->config.text.layers);  // SD2: the 23-of-24 blocks diffusers stores
    EXPECT_EQ(a->config.text.heads, b->config.text.heads);
    EXPECT_EQ(a->config.text.gelu, b->config.text.gelu);
    EXPECT_EQ(a->config.text2.projection_dim, b->config.text2.projection_dim);
    EXPECT_DOUBLE_EQ(a->config.vae.scaling_factor, b->config.vae.scaling_factor);
    expect_weights_match_seed(*a, 8);  // includes text_projection, stored transposed as a Linear weight
  }
  // A refiner folder (text_encoder_2 without text_encoder) is refused by name.
  std::filesystem::rename(d.file("sdxl-diffusers/text_encoder"), d.file("text_encoder.moved"));
  expect_engine_error([&] { open_sd_checkpoint(d.file("sdxl-diffusers")); }, errc::unsupported, {"sdxl-diffusers", "refiner"});
}
