#include <gtest/gtest.h>

#include <fstream>

#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "model_test_util.h"
#include "models/checkpoint_index.h"
#include "models/config_inference.h"
#include "models/key_mapping.h"
#include "models/sd1_inference.h"
#include "models/sd1_loader.h"
#include "protocol/errors.h"

using namespace loraflow;
using loraflow::testing::cpu;
using loraflow::testing::expect_engine_error;
using loraflow::testing::TempDir;

namespace {

std::vector<std::pair<std::string, at::Tensor>> read_all(const std::string& path) {
  auto f = SafetensorsFile::open(path);
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& t : f->tensors()) out.emplace_back(t.name, f->load(t.name));
  return out;
}

// Writes the tiny LDM tensors after `edit` changed them.
std::string edited_copy(const TempDir& dir, const std::string& src, const std::string& name,
                        const std::function<void(std::vector<std::pair<std::string, at::Tensor>>&)>& edit) {
  auto ts = read_all(src);
  edit(ts);
  const std::string out = dir.file(name);
  write_safetensors(out, ts);
  return out;
}

}  // namespace

class ModelsLoading : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    ldm_ = loraflow::testing::make_tiny(*dir_, "ldm", 11);
    diffusers_ = loraflow::testing::make_tiny(*dir_, "diffusers", 11);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
  static std::string ldm_, diffusers_;
};
TempDir* ModelsLoading::dir_ = nullptr;
std::string ModelsLoading::ldm_, ModelsLoading::diffusers_;

TEST_F(ModelsLoading, InfersTinyConfigFromShapes) {
  auto idx = open_sd_checkpoint(ldm_);
  EXPECT_EQ(idx.layout, "ldm");
  EXPECT_EQ(idx.arch, "sd1");
  auto c = infer_sd1_config(idx);
  auto ref = sd1_tiny_config();
  EXPECT_EQ(c.unet.model_channels, 32);
  EXPECT_EQ(c.unet.channel_mult, ref.unet.channel_mult);
  EXPECT_EQ(c.unet.num_res_blocks, 2);
  EXPECT_EQ(c.unet.transformer_depth, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(c.unet.transformer_depth_middle, 1);
  EXPECT_EQ(c.unet.context_dim, 32);
  EXPECT_FALSE(c.unet.use_linear_proj);
  EXPECT_EQ(c.vae.ch, 32);
  EXPECT_EQ(c.vae.ch_mult, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(c.vae.num_res_blocks, 1);
  EXPECT_EQ(c.text.width, 32);
  EXPECT_EQ(c.text.layers, 5);
  EXPECT_EQ(c.text.heads, 4);
  EXPECT_EQ(c.text.intermediate, 37);
  EXPECT_EQ(c.text.vocab_size, 49408);
  // The harmless extras were recognised and skipped.
  std::set<std::string> ignored(idx.ignored.begin(), idx.ignored.end());
  EXPECT_TRUE(ignored.count("alphas_cumprod"));
  EXPECT_TRUE(ignored.count(std::string(kLdmTextPrefix) + "embeddings.position_ids"));
  auto d = infer_sd1_config(open_sd_checkpoint(diffusers_));
  EXPECT_EQ(d.unet.channel_mult, c.unet.channel_mult);
  EXPECT_EQ(d.unet.transformer_depth, c.unet.transformer_depth);
  EXPECT_EQ(d.text.heads, 4);
}

TEST_F(ModelsLoading, LdmAndDiffusersLayoutsGiveIdenticalOutputs) {
  auto a = load_sd1_model(ldm_, cpu());
  auto b = load_sd1_model(diffusers_, cpu());
  // Same weights under every key.
  auto pa = a->ldm_named_parameters(), pb = b->ldm_named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    ASSERT_EQ(pa[i].first, pb[i].first);
    EXPECT_TRUE(at::equal(pa[i].second, pb[i].second)) << pa[i].first;
  }
  torch::NoGradGuard ng;
  at::manual_seed(3);
  auto x = at::randn({1, 4, 16, 16}), ctx = at::randn({1, 77, 32}), t = at::tensor({321.0f});
  auto ua = a->unet->forward(x, t, ctx), ub = b->unet->forward(x, t, ctx);
  EXPECT_TRUE(at::equal(ua, ub));
  EXPECT_TRUE(at::isfinite(ua).all().item<bool>());
  auto img = at::randint(0, 256, {1, 32, 32, 3}, at::kByte);
  auto la = vae_encode_images(*a, img, false, 0), lb = vae_encode_images(*b, img, false, 0);
  EXPECT_EQ(la.sizes(), (std::vector<int64_t>{1, 4, 16, 16}));
  EXPECT_TRUE(at::equal(la, lb));
  EXPECT_TRUE(at::equal(vae_decode_latents(*a, la), vae_decode_latents(*b, lb)));
  auto ids = at::randint(0, 49408, {2, 77}, at::kLong);
  EXPECT_TRUE(at::equal(a->text->forward(ids, 1), b->text->forward(ids, 1)));
  EXPECT_TRUE(at::equal(a->text->forward(ids, 2), b->text->forward(ids, 2)));
}

TEST_F(ModelsLoading, DifferentSeedsGiveDifferentWeights) {
  TempDir d;
  auto other = load_sd1_model(loraflow::testing::make_tiny(d, "ldm", 12), cpu());
  auto a = load_sd1_model(ldm_, cpu());
  EXPECT_FALSE(at::equal(a->unet->out_conv->weight, other->unet->out_conv->weight));
}

TEST_F(ModelsLoading, LoadsIntoReducedPrecision) {
  LoadOptions o;
  o.device = "cpu";
  o.dtype = "bf16";
  auto m = load_sd1_model(ldm_, o);
  EXPECT_EQ(m->unet->out_conv->weight.scalar_type(), at::kBFloat16);
  torch::NoGradGuard ng;
  auto y = m->unet->forward(at::randn({1, 4, 8, 8}), at::tensor({10.0f}), at::randn({1, 77, 32}));
  EXPECT_EQ(y.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::isfinite(y.to(at::kFloat)).all().item<bool>());
}

TEST_F(ModelsLoading, TruncatedFileIsRejected) {
  TempDir d;
  const std::string out = d.file("truncated.safetensors");
  {
    std::ifstream in(ldm_, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream o(out, std::ios::binary);
    o.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  expect_engine_error([&] { load_sd1_model(out, cpu()); }, errc::bad_file, {out});
}

TEST_F(ModelsLoading, WrongShapeNamesTheKey) {
  TempDir d;
  const std::string key = std::string(kLdmUNetPrefix) + "input_blocks.4.1.transformer_blocks.0.attn2.to_v.weight";
  auto path = edited_copy(d, ldm_, "wrong.safetensors", [&](auto& ts) {
    for (auto& [k, t] : ts)
      if (k == key) t = at::zeros({64, 31});
  });
  expect_engine_error([&] { load_sd1_model(path, cpu()); }, errc::bad_file, {key, "wrong shape", "[64,31]"});
}

TEST_F(ModelsLoading, MissingKeyNamesTheKey) {
  TempDir d;
  const std::string key = std::string(kLdmTextPrefix) + "encoder.layers.3.mlp.fc2.bias";
  auto path = edited_copy(d, ldm_, "missing.safetensors", [&](auto& ts) {
    ts.erase(std::remove_if(ts.begin(), ts.end(), [&](const auto& kv) { return kv.first == key; }), ts.end());
  });
  expect_engine_error([&] { load_sd1_model(path, cpu()); }, errc::bad_file, {key, "missing"});
}

TEST_F(ModelsLoading, UnexpectedKeyIsReportedButEmaIsIgnored) {
  TempDir d;
  auto path = edited_copy(d, ldm_, "extra.safetensors", [&](auto& ts) {
    ts.emplace_back("model.diffusion_model.input_blocks.1.0.extra.weight", at::zeros({2}));
  });
  expect_engine_error([&] { load_sd1_model(path, cpu()); }, errc::bad_file,
                      {"model.diffusion_model.input_blocks.1.0.extra.weight", "unexpected"});
  auto ema = edited_copy(d, ldm_, "ema.safetensors", [&](auto& ts) {
    ts.emplace_back("model_ema.diffusion_modelout2weight", at::zeros({2}));
    ts.emplace_back("model_ema.num_updates", at::zeros({}, at::kInt));
    ts.emplace_back("betas", at::zeros({1000}));
  });
  EXPECT_NO_THROW(load_sd1_model(ema, cpu()));
}

TEST_F(ModelsLoading, RejectsSdxlSd2LoraAndVaeOnlyFiles) {
  TempDir d;
  const auto x = at::zeros({4});
  write_safetensors(d.file("sdxl.safetensors"),
                    {{"conditioner.embedders.1.model.transformer.resblocks.9.mlp.c_proj.bias", x},
                     {"model.diffusion_model.input_blocks.0.0.bias", x}});
  expect_engine_error([&] { load_sd1_model(d.file("sdxl.safetensors"), cpu()); }, errc::unsupported,
                      {"SDXL", "label_emb", "sdxl.safetensors"});
  // An SD2 file is recognised; this one lacks the UNet tensors the config is read from.
  write_safetensors(d.file("sd2.safetensors"), {{"cond_stage_model.model.token_embedding.weight", x},
                                                {"model.diffusion_model.input_blocks.0.0.bias", x}});
  expect_engine_error([&] { load_sd1_model(d.file("sd2.safetensors"), cpu()); }, errc::bad_file,
                      {"missing tensor", "sd2"});
  write_safetensors(d.file("lora.safetensors"), {{"lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight", x}});
  expect_engine_error([&] { load_sd1_model(d.file("lora.safetensors"), cpu()); }, errc::unsupported, {"LoRA"});
  write_safetensors(d.file("vae.safetensors"), {{"encoder.conv_in.bias", x}});
  expect_engine_error([&] { load_sd1_model(d.file("vae.safetensors"), cpu()); }, errc::unsupported, {"VAE"});
}

TEST_F(ModelsLoading, RejectsPickleCheckpointsAndEmptyFiles) {
  TempDir d;
  {
    std::ofstream f(d.file("model.ckpt"), std::ios::binary);
    f << "PK\x03\x04" << std::string(100, 'x');
  }
  expect_engine_error([&] { load_sd1_model(d.file("model.ckpt"), cpu()); }, errc::unsupported,
                      {"model.ckpt", ".safetensors"});
  {
    std::ofstream f(d.file("renamed.safetensors"), std::ios::binary);
    f << "\x80\x02}q\x00" << std::string(100, 'x');  // pickle protocol 2 with a misleading extension
  }
  expect_engine_error([&] { load_sd1_model(d.file("renamed.safetensors"), cpu()); }, errc::unsupported, {"pickle"});
  { std::ofstream f(d.file("empty.safetensors"), std::ios::binary); }
  expect_engine_error([&] { load_sd1_model(d.file("empty.safetensors"), cpu()); }, errc::bad_file, {"empty"});
  {
    std::ofstream f(d.file("junk.safetensors"), std::ios::binary);
    f << std::string(64, '\xff');
  }
  expect_engine_error([&] { load_sd1_model(d.file("junk.safetensors"), cpu()); }, errc::bad_file, {"junk.safetensors"});
  expect_engine_error([&] { load_sd1_model(d.file("nope.safetensors"), cpu()); }, errc::not_found, {"nope"});
}

TEST_F(ModelsLoading, DiffusersFolderErrorsNameTheFolder) {
  TempDir d;
  std::filesystem::create_directories(d.file("half/unet"));
  std::filesystem::copy_file(diffusers_ + "/unet/diffusion_pytorch_model.safetensors",
                             d.file("half/unet/diffusion_pytorch_model.safetensors"));
  expect_engine_error([&] { load_sd1_model(d.file("half"), cpu()); }, errc::not_found, {"half", "vae/"});
  std::filesystem::create_directories(d.file("xl/text_encoder_2"));
  std::filesystem::create_directories(d.file("xl/unet"));
  expect_engine_error([&] { load_sd1_model(d.file("xl"), cpu()); }, errc::unsupported, {"xl", "SDXL refiner"});
}

TEST(ModelsInference, ImageValidationGivesClearErrors) {
  expect_engine_error([] { validate_images(at::zeros({64, 64, 3}, at::kByte), "imgs.safetensors", 8); },
                      errc::bad_request, {"imgs.safetensors", "rank 4", "rank 3"});
  expect_engine_error([] { validate_images(at::zeros({1, 64, 64, 3}, at::kFloat), "x", 8); }, errc::bad_request,
                      {"uint8"});
  expect_engine_error([] { validate_images(at::zeros({1, 64, 64, 4}, at::kByte), "x", 8); }, errc::bad_request,
                      {"3 channels"});
  expect_engine_error([] { validate_images(at::zeros({1, 60, 64, 3}, at::kByte), "x", 8); }, errc::bad_request,
                      {"multiple of 8"});
  EXPECT_NO_THROW(validate_images(at::zeros({2, 64, 64, 3}, at::kByte), "x", 8));
}
