// Numerical cross-check against an independent PyTorch 1.13 implementation (/usr/bin/python3, using
// torch.nn.MultiheadAttention and torch.nn.functional). Tensors travel via torch::pickle_save -> torch.load.
// Skipped when that interpreter or its torch is unavailable.
#include <gtest/gtest.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <cstdlib>
#include <fstream>

#include "model_test_util.h"
#include "models/key_mapping.h"
#include "models/random_init.h"
#include "models/sd1_model.h"

using namespace loraflow;

namespace {

const char* kPython = "/usr/bin/python3";

bool python_torch_available() {
  static const int rc = std::system("/usr/bin/python3 -c 'import torch' > /dev/null 2>&1");
  return rc == 0;
}

void save_dict(const std::string& path, const c10::Dict<std::string, at::Tensor>& d) {
  const std::vector<char> bytes = torch::jit::pickle_save(c10::IValue(d));
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

int run_python(const std::string& script_path, const std::string& script, const std::string& data) {
  {
    std::ofstream f(script_path);
    f << script;
  }
  const std::string cmd = std::string(kPython) + " " + script_path + " " + data;
  return std::system(cmd.c_str());
}

const char* kClipScript = R"PY(
import sys, torch
import torch.nn.functional as F
d = torch.load(sys.argv[1])
W, H, L = 32, 4, 5
ids = d['ids']
x = d['embeddings.token_embedding.weight'][ids] + d['embeddings.position_embedding.weight'][: ids.shape[1]]
mask = torch.full((77, 77), float('-inf')).triu(1)
hidden = [x]
for i in range(L):
    p = 'encoder.layers.%d.' % i
    h = F.layer_norm(x, (W,), d[p + 'layer_norm1.weight'], d[p + 'layer_norm1.bias'], 1e-5)
    mha = torch.nn.MultiheadAttention(W, H, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([d[p + 'self_attn.%s_proj.weight' % n] for n in 'qkv']))
        mha.in_proj_bias.copy_(torch.cat([d[p + 'self_attn.%s_proj.bias' % n] for n in 'qkv']))
        mha.out_proj.weight.copy_(d[p + 'self_attn.out_proj.weight'])
        mha.out_proj.bias.copy_(d[p + 'self_attn.out_proj.bias'])
        a, _ = mha(h, h, h, attn_mask=mask, need_weights=False)
    x = x + a
    h = F.layer_norm(x, (W,), d[p + 'layer_norm2.weight'], d[p + 'layer_norm2.bias'], 1e-5)
    h = F.linear(h, d[p + 'mlp.fc1.weight'], d[p + 'mlp.fc1.bias'])
    h = h * torch.sigmoid(1.702 * h)
    x = x + F.linear(h, d[p + 'mlp.fc2.weight'], d[p + 'mlp.fc2.bias'])
    hidden.append(x)
fw, fb = d['final_layer_norm.weight'], d['final_layer_norm.bias']
ok = True
for skip in (1, 2, 3):
    ref = F.layer_norm(hidden[-skip], (W,), fw, fb, 1e-5)
    diff = (ref - d['out%d' % skip]).abs().max().item()
    print('clip_skip %d max abs diff %.3g' % (skip, diff))
    ok = ok and diff < 1e-4
sys.exit(0 if ok else 1)
)PY";

// UNet input_blocks.4 of the tiny model: ResBlock 32->64 then a SpatialTransformer (8 heads of 8, conv proj).
const char* kStageScript = R"PY(
import sys, torch
import torch.nn.functional as F
d = torch.load(sys.argv[1])
x, emb, ctx = d['x'], d['emb'], d['ctx']
p = 'input_blocks.4.0.'
h = F.conv2d(F.silu(F.group_norm(x, 32, d[p + 'in_layers.0.weight'], d[p + 'in_layers.0.bias'], 1e-5)),
             d[p + 'in_layers.2.weight'], d[p + 'in_layers.2.bias'], padding=1)
h = h + F.linear(F.silu(emb), d[p + 'emb_layers.1.weight'], d[p + 'emb_layers.1.bias'])[:, :, None, None]
h = F.conv2d(F.silu(F.group_norm(h, 32, d[p + 'out_layers.0.weight'], d[p + 'out_layers.0.bias'], 1e-5)),
             d[p + 'out_layers.3.weight'], d[p + 'out_layers.3.bias'], padding=1)
x = F.conv2d(x, d[p + 'skip_connection.weight'], d[p + 'skip_connection.bias']) + h
p = 'input_blocks.4.1.'
B, C, Hh, Ww = x.shape
t = F.group_norm(x, 32, d[p + 'norm.weight'], d[p + 'norm.bias'], 1e-6)
t = F.conv2d(t, d[p + 'proj_in.weight'], d[p + 'proj_in.bias'])
t = t.flatten(2).transpose(1, 2)
q = p + 'transformer_blocks.0.'
def attn(name, h, c):
    m = torch.nn.MultiheadAttention(C, 8, batch_first=True, kdim=c.shape[-1], vdim=c.shape[-1], bias=True)
    with torch.no_grad():
        if c.shape[-1] == C:
            m.in_proj_weight.copy_(torch.cat([d[q + name + '.to_%s.weight' % n] for n in 'qkv']))
        else:
            m.q_proj_weight.copy_(d[q + name + '.to_q.weight'])
            m.k_proj_weight.copy_(d[q + name + '.to_k.weight'])
            m.v_proj_weight.copy_(d[q + name + '.to_v.weight'])
        m.in_proj_bias.zero_()
        m.out_proj.weight.copy_(d[q + name + '.to_out.0.weight'])
        m.out_proj.bias.copy_(d[q + name + '.to_out.0.bias'])
        return m(h, c, c, need_weights=False)[0]
ln = lambda h, n: F.layer_norm(h, (C,), d[q + n + '.weight'], d[q + n + '.bias'], 1e-5)
h = ln(t, 'norm1'); t = t + attn('attn1', h, h)
t = t + attn('attn2', ln(t, 'norm2'), ctx)
v, g = F.linear(ln(t, 'norm3'), d[q + 'ff.net.0.proj.weight'], d[q + 'ff.net.0.proj.bias']).chunk(2, -1)
t = t + F.linear(v * F.gelu(g), d[q + 'ff.net.2.weight'], d[q + 'ff.net.2.bias'])
t = t.transpose(1, 2).reshape(B, C, Hh, Ww)
y = F.conv2d(t, d[p + 'proj_out.weight'], d[p + 'proj_out.bias']) + x
diff = (y - d['y']).abs().max().item()
print('unet input_blocks.4 max abs diff %.3g (|y| max %.3g)' % (diff, y.abs().max().item()))
sys.exit(0 if diff < 1e-4 else 1)
)PY";

}  // namespace

TEST(ModelsCrossCheck, ClipTextMatchesPyTorchReference) {
  if (!python_torch_available()) GTEST_SKIP() << "/usr/bin/python3 with torch not available";
  loraflow::testing::TempDir dir;
  ClipTextModel text(sd1_tiny_config().text);
  init_random(*text, kLdmTextPrefix, 21);
  c10::Dict<std::string, at::Tensor> d;
  for (const auto& kv : text->named_parameters()) d.insert(kv.key(), kv.value().detach());
  at::manual_seed(1);
  at::Tensor ids = at::randint(0, 49408, {2, 77}, at::kLong);
  d.insert("ids", ids);
  torch::NoGradGuard ng;
  for (int skip = 1; skip <= 3; ++skip) d.insert("out" + std::to_string(skip), text->forward(ids, skip));
  save_dict(dir.file("clip.pt"), d);
  EXPECT_EQ(run_python(dir.file("clip.py"), kClipScript, dir.file("clip.pt")), 0);
}

TEST(ModelsCrossCheck, UNetResBlockAndTransformerMatchPyTorchReference) {
  if (!python_torch_available()) GTEST_SKIP() << "/usr/bin/python3 with torch not available";
  loraflow::testing::TempDir dir;
  UNet unet(sd1_tiny_config().unet);
  init_random(*unet, kLdmUNetPrefix, 22);
  c10::Dict<std::string, at::Tensor> d;
  for (const auto& kv : unet->named_parameters())
    if (kv.key().rfind("input_blocks.4.", 0) == 0) d.insert(kv.key(), kv.value().detach());
  at::manual_seed(2);
  auto x = at::randn({2, 32, 8, 8}), emb = at::randn({2, 128}), ctx = at::randn({2, 77, 32});
  torch::NoGradGuard ng;
  d.insert("x", x);
  d.insert("emb", emb);
  d.insert("ctx", ctx);
  d.insert("y", unet->input_blocks.at(4)->forward(x, emb, ctx));
  save_dict(dir.file("stage.pt"), d);
  EXPECT_EQ(run_python(dir.file("stage.py"), kStageScript, dir.file("stage.pt")), 0);
}
