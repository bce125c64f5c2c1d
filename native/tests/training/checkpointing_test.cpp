#include <gtest/gtest.h>

#include "lora/lora_adapter.h"
#include "lora/lora_network.h"
#include "train_test_util.h"
#include "training/checkpointed_unet.h"

using namespace loraflow;
using namespace loraflow::train_testing;

namespace {

struct Grads {
  at::Tensor out;
  std::vector<at::Tensor> grads;
  at::Tensor ctx_grad;
};

Grads run(bool checkpointing, double dropout) {
  auto model = tiny_model(4);
  LoraNetworkConfig c;
  c.rank = 4;
  c.conv_rank = 2;
  c.dropout = dropout;
  c.text_encoder = false;
  LoraNetwork net(*model, c);
  {
    torch::NoGradGuard ng;
    at::manual_seed(8);
    for (const auto& m : net.modules()) m.adapter->up.normal_(0, 0.1);
  }
  net.attach();
  net.set_training(true);
  UNetRunner runner(*model->unet, &net, checkpointing);
  at::manual_seed(5);
  at::Tensor x = at::randn({2, 4, 8, 8});
  at::Tensor ctx = at::randn({2, 77, 32}).set_requires_grad(true);
  at::Tensor t = at::tensor({10, 700}, at::kLong);
  at::manual_seed(77);  // dropout masks
  Grads g;
  g.out = runner.forward(x, t, ctx);
  g.out.pow(2).mean().backward();
  for (const auto& p : net.all_parameters()) g.grads.push_back(p.grad().clone());
  g.ctx_grad = ctx.grad().clone();
  return g;
}

}  // namespace

TEST(TrainingCheckpointing, RecomputedGradientsEqualPlainBackward) {
  for (double dropout : {0.0, 0.3}) {
    const Grads a = run(false, dropout), b = run(true, dropout);
    EXPECT_TRUE(at::allclose(a.out, b.out, 1e-6, 1e-6));
    ASSERT_EQ(a.grads.size(), b.grads.size());
    int nonzero = 0;
    for (size_t i = 0; i < a.grads.size(); ++i) {
      EXPECT_TRUE(at::allclose(a.grads[i], b.grads[i], 1e-5, 1e-6)) << "param " << i << " dropout " << dropout;
      if (a.grads[i].abs().sum().item<double>() > 0) ++nonzero;
    }
    EXPECT_GT(nonzero, static_cast<int>(a.grads.size()) / 2);
    EXPECT_TRUE(at::allclose(a.ctx_grad, b.ctx_grad, 1e-5, 1e-6));
  }
}
