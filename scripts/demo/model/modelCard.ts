// models/demo/README.md: what the demo model is, how it was made, and how well it draws what it is asked for.
import { IMAGE_SIZE } from '../dataset.ts';
import type { QualityReport } from '../quality.ts';
import type { DemoModelOptions, DemoModelReport } from './pipeline.ts';

const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

function table(title: string, rows: QualityReport['shape']): string {
  const lines = Object.entries(rows).map(
    ([k, t]) => `| ${k} | ${t.correct}/${t.total} | ${pct(t.accuracy)} |`,
  );
  return [`| ${title} | correct | accuracy |`, '| --- | --- | --- |', ...lines].join('\n');
}

function placement(jitter: number | undefined): string {
  return jitter === undefined || jitter >= IMAGE_SIZE / 2
    ? 'anywhere in the frame'
    : `centred within ${jitter} px of the middle`;
}

export function modelCard(o: DemoModelOptions, r: DemoModelReport, command: string): string {
  return `# loraflow demo model (SD1 architecture, 64 px)

A tiny Stable Diffusion 1 model trained from scratch by \`npm run make:demo-model\` on procedurally drawn shapes.
It exists so that the quickstart trains a real LoRA on a laptop CPU in minutes: it knows six shapes (circle,
square, triangle, ring, cross, diamond), eight colours (red, green, blue, white, black, purple, orange, grey as
backgrounds) and the words of their captions, and nothing else. It has never seen a star or the colour yellow.

## Files
- \`loraflow-demo-sd1.safetensors\`: single-file LDM layout (\`model.diffusion_model.*\`, \`first_stage_model.*\`,
  \`cond_stage_model.transformer.text_model.*\`), fp16, ${r.parameters.toLocaleString('en')} parameters.
- \`loraflow-demo-sd1.tokenizer/\`: CLIP BPE tokenizer files (\`vocab.json\`, \`merges.txt\`) in the real format,
  with a small vocabulary (byte symbols plus whole-word merges for the caption words); BOS/EOS at 49406/49407.

## Architecture
- UNet: model_channels 32, channel_mult [1, 2, 4], 1 res block per level, cross-attention transformers at the
  8x8 and 4x4 levels and in the middle block (8 heads), context 64, conv proj_in/out (as SD1).
- VAE: ch 32, ch_mult [1, 2, 2] (downscale 4: 64x64 images <-> 16x16x4 latents), 1 res block per level.
  After training, its latent space was reparametrised exactly so that latents x 0.18215 have zero mean and unit
  variance per channel, so the standard SD1 scaling factor applies.
- Text encoder: CLIP, 4 layers, width 64, 1 head, MLP 256, 77 positions, the full 49408-entry embedding table.

## Training data
${r.images} images rendered by the demo data generator (\`scripts/demo/\`, seed ${o.seed}): every (shape, colour)
pair equally often, small or large, ${placement(o.positionJitter)}, on plain or two-tone backgrounds, captioned
like "a small red circle on a blue background".

## Training (${command})
| stage | steps | batch | lr | time | loss first 5 % -> last 10 % |
| --- | --- | --- | --- | --- | --- |
| VAE (L1 + 1e-6 KL, ${o.vae.crop}px random crops, flips) | ${r.vae.steps} | ${o.vae.batch} | ${o.vae.lr} | ${r.vae.seconds.toFixed(0)} s | ${r.vae.lossFirst.toFixed(4)} -> ${r.vae.lossLast.toFixed(4)} |
| UNet + text encoder (eps, ${o.unet.minSnrGamma > 0 ? `min-SNR-${o.unet.minSnrGamma} weighted, ` : ''}10 % caption dropout) | ${r.unet.steps} | ${o.unet.batch} | ${o.unet.lr} / TE ${o.unet.textEncoderLr} | ${r.unet.seconds.toFixed(0)} s | ${r.unet.lossFirst.toFixed(4)} -> ${r.unet.lossLast.toFixed(4)} |

AdamW (weight decay 0.01), cosine schedule with 5 % warmup, gradient clipping at 1.0, fp32, on the CPU${
    o.unet.emaDecay > 0
      ? `; the UNet and text encoder are saved as the moving average of their weights (EMA decay ${o.unet.emaDecay})`
      : ''
  }.
Total wall time of the script: ${(r.totalSeconds / 60).toFixed(1)} min on this machine (2 cores).

## Quality
${r.quality.images} samples (${o.quality.perPrompt} seeds per prompt for each of the 42 "a large <colour> <shape> on a <colour>
background" prompts; ${o.quality.steps} DPM++ 2M steps, CFG ${o.quality.cfgScale}), classified by the template matcher in
\`scripts/demo/evaluate.ts\` (background from the border, largest foreground blob, nearest palette colour,
shape by correlation with rendered templates). Right shape and colour together: **${pct(r.quality.both.accuracy)}**.

${table('shape', r.quality.shape)}

${table('colour', r.quality.color)}

## License
The weights, the tokenizer files and the generator that made the data are part of loraflow (MIT license). The
training data is synthetic; no third-party images or weights were used.
`;
}
