#include <gtest/gtest.h>

#include <map>
#include <set>

#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "lora/lora_adapter.h"
#include "lora/lora_apply.h"
#include "lora/lora_file.h"
#include "lora/lora_network.h"
#include "lora/lora_targets.h"
#include "lora_test_util.h"
#include "models/sd1_model.h"
#include "protocol/errors.h"

using namespace loraflow;
using loraflow::lora_testing::TempDir;
using loraflow::lora_testing::tiny_model;

namespace {
using Shape = std::vector<int64_t>;

std::map<std::string, std::pair<Shape, Shape>> shapes_of(const LoraNetwork& net) {
  std::map<std::string, std::pair<Shape, Shape>> out;
  for (const auto& e : net.save_entries()) out[e.name] = {e.down.sizes().vec(), e.up.sizes().vec()};
  return out;
}

// Gives every up matrix random values so the LoRA actually changes outputs.
void randomize_up(LoraNetwork& net, uint64_t seed) {
  torch::NoGradGuard ng;
  at::manual_seed(seed);
  for (const auto& m : net.modules()) m.adapter->up.normal_(0, 0.5);
}

at::Tensor unet_out(SD1Model& m) {
  torch::NoGradGuard ng;
  at::manual_seed(3);
  at::Tensor x = at::randn({1, 4, 8, 8});
  at::Tensor ctx = at::randn({1, 77, m.config.unet.context_dim});
  return m.unet->forward(x, at::full({1}, 500.0), ctx);
}

at::Tensor text_out(SD1Model& m) {
  torch::NoGradGuard ng;
  at::Tensor ids = at::arange(77, at::kLong).unsqueeze(0);
  return m.text->forward(ids);
}

std::string save_network(const LoraNetwork& net, const std::string& path, at::ScalarType dt = at::kFloat) {
  write_safetensors(path, lora_tensors_for_save(net.save_entries(), dt), {{"ss_network_module", "networks.lora"}});
  return path;
}
}  // namespace

TEST(LoraNetwork, FullSD15KeySetIs192UNetAnd72TextEncoderModules) {
  SD1Model model(sd1_full_config());  // parameters allocated, never touched
  LoraNetworkConfig c;
  c.rank = 4;
  LoraNetwork net(model, c);
  int unet = 0, te = 0;
  std::set<std::string> names;
  for (const auto& m : net.modules()) {
    (m.component == "unet" ? unet : te)++;
    EXPECT_TRUE(names.insert(m.name).second) << "duplicate " << m.name;
  }
  EXPECT_EQ(unet, 192);
  EXPECT_EQ(te, 72);
  EXPECT_EQ(net.save_entries().size() * 3, 792u);
  const auto s = shapes_of(net);
  EXPECT_EQ(s.at("lora_unet_down_blocks_0_attentions_0_proj_in").first, (Shape{4, 320, 1, 1}));
  EXPECT_EQ(s.at("lora_unet_down_blocks_0_attentions_0_proj_in").second, (Shape{320, 4, 1, 1}));
  EXPECT_EQ(s.at("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k").first, (Shape{4, 768}));
  EXPECT_EQ(s.at("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k").second, (Shape{320, 4}));
  EXPECT_EQ(s.at("lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj").first, (Shape{4, 1280}));
  EXPECT_EQ(s.at("lora_unet_mid_block_attentions_0_transformer_blocks_0_ff_net_0_proj").second, (Shape{10240, 4}));
  EXPECT_EQ(s.at("lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_attn1_to_out_0").first, (Shape{4, 320}));
  EXPECT_EQ(s.at("lora_unet_up_blocks_1_attentions_2_transformer_blocks_0_ff_net_2").first, (Shape{4, 5120}));
  EXPECT_EQ(s.at("lora_te_text_model_encoder_layers_11_mlp_fc1").first, (Shape{4, 768}));
  EXPECT_EQ(s.at("lora_te_text_model_encoder_layers_11_mlp_fc1").second, (Shape{3072, 4}));
  EXPECT_EQ(s.at("lora_te_text_model_encoder_layers_0_self_attn_q_proj").first, (Shape{4, 768}));
  EXPECT_EQ(s.count("lora_unet_down_blocks_0_resnets_0_conv1"), 0u);
}

TEST(LoraNetwork, LoConAddsResBlockAndSamplerConvs) {
  SD1Model model(sd1_full_config());
  LoraNetworkConfig c;
  c.rank = 8;
  c.conv_rank = 4;
  c.conv_alpha = 2;
  c.text_encoder = false;
  LoraNetwork net(model, c);
  const auto s = shapes_of(net);
  EXPECT_EQ(s.at("lora_unet_down_blocks_0_resnets_0_conv1").first, (Shape{4, 320, 3, 3}));
  EXPECT_EQ(s.at("lora_unet_down_blocks_0_resnets_0_conv1").second, (Shape{320, 4, 1, 1}));
  EXPECT_EQ(s.at("lora_unet_down_blocks_1_resnets_0_conv_shortcut").first, (Shape{8, 320, 1, 1}));
  EXPECT_EQ(s.at("lora_unet_down_blocks_0_resnets_0_time_emb_proj").first, (Shape{8, 1280}));
  EXPECT_EQ(s.at("lora_unet_down_blocks_0_downsamplers_0_conv").first, (Shape{4, 320, 3, 3}));
  EXPECT_EQ(s.at("lora_unet_up_blocks_0_upsamplers_0_conv").first, (Shape{4, 1280, 3, 3}));
  EXPECT_EQ(s.count("lora_unet_conv_in"), 0u);
  EXPECT_EQ(s.count("lora_unet_conv_out"), 0u);
  EXPECT_EQ(s.count("lora_unet_time_embedding_linear_1"), 0u);
  for (const auto& m : net.modules()) {
    if (m.name == "lora_unet_down_blocks_0_resnets_0_conv1") {
      EXPECT_DOUBLE_EQ(m.adapter->alpha, 2.0);
    }
    if (m.name == "lora_unet_down_blocks_0_resnets_0_time_emb_proj") {
      EXPECT_DOUBLE_EQ(m.adapter->alpha, 1.0);
    }
  }
}

TEST(LoraNetwork, EveryNameMapsToExactlyOneModuleIncludingLdmAliases) {
  auto model = tiny_model();
  LoraNetworkConfig c;
  c.conv_rank = 2;
  LoraNetwork net(*model, c);
  LoraNameIndex index(*model);
  std::set<const AdaptableLayer*> layers;
  for (const auto& m : net.modules()) {
    const AdaptableModule* a = index.find(m.name);
    ASSERT_NE(a, nullptr) << m.name;
    const AdaptableLayer* layer = a->linear ? static_cast<const AdaptableLayer*>(a->linear.get())
                                            : static_cast<const AdaptableLayer*>(a->conv.get());
    EXPECT_EQ(layer, m.layer) << m.name;
    EXPECT_TRUE(layers.insert(layer).second) << m.name << " shares a layer";
    if (a->component == "unet") {
      const AdaptableModule* ldm = index.find("lora_unet_" + kohya_underscored(a->ldm_path));
      ASSERT_NE(ldm, nullptr) << a->ldm_path;
      EXPECT_EQ(ldm->ldm_path, a->ldm_path);
    }
  }
  // Tiny: 2 transformer levels... every default target of the tiny UNet is named in diffusers style.
  EXPECT_NE(index.find("lora_unet_down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_q"), nullptr);
  EXPECT_NE(index.find("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"), nullptr);
  EXPECT_EQ(index.find("lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q")->ldm_path,
            "input_blocks.4.1.transformer_blocks.0.attn1.to_q");
  EXPECT_EQ(index.find("lora_unet_nonexistent_layer"), nullptr);
}

TEST(LoraNetwork, InitIsKaimingDownAndZeroUpSoOutputsAreUnchanged) {
  auto model = tiny_model();
  const at::Tensor base = unet_out(*model);
  LoraNetworkConfig c;
  c.rank = 4;
  c.alpha = 4;
  c.seed = 11;
  LoraNetwork net(*model, c);
  for (const auto& m : net.modules()) {
    EXPECT_EQ(m.adapter->up.abs().max().item<float>(), 0.0f);
    const int64_t fan_in = m.adapter->down[0].numel();
    const double bound = std::sqrt(1.0 / 3.0) * std::sqrt(3.0 / fan_in);  // gain sqrt(2/6)
    EXPECT_LE(m.adapter->down.abs().max().item<double>(), bound + 1e-6);
    EXPECT_GT(m.adapter->down.abs().max().item<double>(), bound * 0.5);
    EXPECT_TRUE(m.adapter->down.requires_grad());
  }
  net.attach();
  EXPECT_TRUE(at::equal(unet_out(*model), base));
  // Same seed -> same init.
  LoraNetwork net2(*model, c);
  EXPECT_TRUE(at::equal(net.modules()[0].adapter->down, net2.modules()[0].adapter->down));
}

TEST(LoraNetwork, ScaleIsAlphaOverRankTimesMultiplier) {
  auto model = tiny_model();
  LoraNetworkConfig c;
  c.rank = 4;
  c.alpha = 2;
  LoraNetwork net(*model, c);
  randomize_up(net, 1);
  const auto& m = net.modules().front();
  m.adapter->multiplier = 0.5;
  EXPECT_DOUBLE_EQ(m.adapter->scale(), 0.25);
  torch::NoGradGuard ng;
  at::Tensor x = at::randn({2, 3, m.adapter->down.size(1)});
  if (!m.adapter->is_conv) {
    at::Tensor expect = at::linear(at::linear(x, m.adapter->down), m.adapter->up) * 0.25;
    EXPECT_TRUE(at::allclose(m.adapter->delta(x), expect));
  }
}

TEST(LoraFile, SaveLoadRoundTripIsExact) {
  TempDir dir;
  auto model = tiny_model();
  LoraNetworkConfig c;
  c.rank = 3;
  c.alpha = 1.5;
  c.conv_rank = 2;
  LoraNetwork net(*model, c);
  randomize_up(net, 2);
  const std::string path = save_network(net, dir.file("a.safetensors"));
  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->tensors().size(), net.modules().size() * 3);
  EXPECT_EQ(f->info(net.modules()[0].name + ".alpha").shape.size(), 0u);
  LoraFileContents contents = read_lora_file(path);
  EXPECT_TRUE(contents.unsupported_keys.empty());
  ASSERT_EQ(contents.modules.size(), net.modules().size());
  LoraNetwork other(*model, [&] {
    auto c2 = c;
    c2.seed = 99;
    return c2;
  }());
  other.load(contents);
  for (size_t i = 0; i < net.modules().size(); ++i) {
    EXPECT_TRUE(at::equal(net.modules()[i].adapter->down, other.modules()[i].adapter->down));
    EXPECT_TRUE(at::equal(net.modules()[i].adapter->up, other.modules()[i].adapter->up));
    EXPECT_DOUBLE_EQ(contents.modules.at(net.modules()[i].name).alpha, net.modules()[i].adapter->alpha);
  }
}

TEST(LoraFile, RefusesToSaveNaNWeights) {
  TempDir dir;
  auto model = tiny_model();
  LoraNetwork net(*model, {});
  {
    torch::NoGradGuard ng;
    net.modules()[3].adapter->up.fill_(std::numeric_limits<float>::quiet_NaN());
  }
  EXPECT_THROW(save_network(net, dir.file("bad.safetensors")), EngineError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.safetensors")));
}

TEST(LoraApply, StrengthZeroIsExactStrengthOneChangesAndRemoveRestores) {
  TempDir dir;
  auto model = tiny_model();
  const at::Tensor base_u = unet_out(*model), base_t = text_out(*model);
  std::string path;
  {
    LoraNetwork net(*model, {});
    randomize_up(net, 5);
    path = save_network(net, dir.file("l.safetensors"), at::kHalf);
  }
  {
    auto a = apply_loras(*model, {{path, 0.0, 0.0}});
    EXPECT_TRUE(at::equal(unet_out(*model), base_u));
    EXPECT_TRUE(at::equal(text_out(*model), base_t));
    EXPECT_EQ(a->reports().at(0).unet_modules, 0);
  }
  at::Tensor fly_u, fly_t;
  {
    auto a = apply_loras(*model, {{path, 1.0, 1.0}});
    EXPECT_GT(a->reports().at(0).unet_modules, 0);
    EXPECT_GT(a->reports().at(0).te_modules, 0);
    EXPECT_TRUE(a->reports().at(0).unmatched_keys.empty());
    fly_u = unet_out(*model);
    fly_t = text_out(*model);
    EXPECT_FALSE(at::allclose(fly_u, base_u, 1e-4, 1e-4));
    EXPECT_FALSE(at::allclose(fly_t, base_t, 1e-4, 1e-4));
  }
  EXPECT_TRUE(at::equal(unet_out(*model), base_u));
  {
    auto a = apply_loras(*model, {{path, 1.0, 0.0}}, LoraApplyMode::merged);
    EXPECT_TRUE(at::allclose(unet_out(*model), fly_u, 1e-3, 1e-3));
    EXPECT_TRUE(at::equal(text_out(*model), base_t));
    a->remove();
    EXPECT_TRUE(at::equal(unet_out(*model), base_u));
  }
  // Two LoRAs stack; order of removal restores exactly.
  {
    auto a = apply_loras(*model, {{path, 0.5, 0.5}, {path, 0.5, 0.5}});
    EXPECT_TRUE(at::allclose(unet_out(*model), fly_u, 1e-4, 1e-4));
  }
  EXPECT_TRUE(at::equal(unet_out(*model), base_u));
}

TEST(LoraApply, LdmNamedFileLoadsAndUnknownKeysAreReportedByName) {
  TempDir dir;
  auto model = tiny_model();
  LoraNetwork net(*model, {});
  randomize_up(net, 6);
  LoraNameIndex index(*model);
  std::vector<LoraSaveEntry> entries;
  for (auto e : net.save_entries()) {
    const AdaptableModule* m = index.find(e.name);
    if (m->component == "unet") e.name = "lora_unet_" + kohya_underscored(m->ldm_path);
    entries.push_back(e);
  }
  entries.push_back({"lora_unet_input_blocks_99_1_proj_in", entries[0].down, entries[0].up, 1.0});
  auto tensors = lora_tensors_for_save(entries, at::kFloat);
  tensors.emplace_back("lora_unet_foo.hada_w1_a", at::zeros({2, 2}));
  write_safetensors(dir.file("ldm.safetensors"), tensors);
  const std::string diff = save_network(net, dir.file("diff.safetensors"));

  at::Tensor via_diffusers, via_ldm;
  {
    auto a = apply_loras(*model, {{diff, 1.0, 1.0}});
    via_diffusers = unet_out(*model);
  }
  {
    auto a = apply_loras(*model, {{dir.file("ldm.safetensors"), 1.0, 1.0}});
    via_ldm = unet_out(*model);
    const auto& r = a->reports().at(0);
    ASSERT_EQ(r.unmatched_keys.size(), 1u);
    EXPECT_EQ(r.unmatched_keys[0], "lora_unet_input_blocks_99_1_proj_in");
    ASSERT_EQ(r.unsupported_keys.size(), 1u);
    EXPECT_EQ(r.unsupported_keys[0], "lora_unet_foo.hada_w1_a");
  }
  EXPECT_TRUE(at::equal(via_diffusers, via_ldm));
  EXPECT_THROW(apply_loras(*model, {{dir.file("ldm.safetensors"), 1.0, 1.0}}, LoraApplyMode::on_the_fly, true),
               EngineError);
  // A failed strict apply leaves nothing attached.
  LoraNetwork clean(*model, {});  // detached: the model must be back to its base weights
  (void)clean;
  const at::Tensor after = unet_out(*model);
  auto b = apply_loras(*model, {{diff, 0.0, 0.0}});
  EXPECT_TRUE(at::equal(after, unet_out(*model)));
}

TEST(LoraApply, WrongShapesAndNonLoraFilesGiveClearErrors) {
  TempDir dir;
  auto model = tiny_model();
  write_safetensors(dir.file("peft.safetensors"), {{"unet.down_blocks.0.lora_A.weight", at::zeros({2, 2})}});
  try {
    apply_loras(*model, {{dir.file("peft.safetensors"), 1.0, 1.0}});
    FAIL() << "expected an error";
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find("peft.safetensors"), std::string::npos);
    EXPECT_NE(e.hint.find("PEFT"), std::string::npos);
  }
  write_safetensors(dir.file("wrong.safetensors"),
                    {{"lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight", at::zeros({4, 768})},
                     {"lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight", at::zeros({768, 4})}});
  try {
    apply_loras(*model, {{dir.file("wrong.safetensors"), 1.0, 1.0}});
    FAIL() << "expected an error";
  } catch (const EngineError& e) {
    EXPECT_NE(std::string(e.what()).find("lora_te_text_model_encoder_layers_0_self_attn_q_proj"), std::string::npos);
  }
}
