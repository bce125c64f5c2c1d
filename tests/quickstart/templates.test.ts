import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBuiltinRegistry } from '../../nodes/index.ts';
import { DEFAULT_OUT } from '../../scripts/demo/write.ts';
import { loadConfig, repoRoot } from '../../server/config/config.ts';
import { loadWorkflow } from '../../server/workflow/load.ts';
import type { WorkflowDocument } from '../../server/workflow/schema.ts';
import { validateWorkflow } from '../../server/workflow/validate.ts';

const registry = createBuiltinRegistry();
const DEMO_MODEL = join(repoRoot, 'models', 'demo', 'loraflow-demo-sd1.safetensors');

function load(name: string): WorkflowDocument {
  const text = readFileSync(join(repoRoot, 'workflows', name), 'utf8');
  const r = loadWorkflow(text, registry);
  if (!r.ok) throw new Error(`${name} does not load: ${JSON.stringify(r.errors)}`);
  expect(r.placeholders).toEqual([]);
  expect(r.nodeErrors).toEqual([]);
  expect(r.migratedNodes).toEqual([]);
  return r.doc;
}

/** Node types the template uses that this registry lacks (the test skips, naming them). */
function missingTypes(name: string): string[] {
  const doc = JSON.parse(readFileSync(join(repoRoot, 'workflows', name), 'utf8')) as {
    nodes: { type: string }[];
  };
  return [...new Set(doc.nodes.map((n) => n.type))].filter((t) => !registry.get(t));
}

const byId = (doc: WorkflowDocument, id: string) => {
  const n = doc.nodes.find((x) => x.id === id);
  if (!n) throw new Error(`no node ${id}`);
  return n;
};
const linked = (doc: WorkflowDocument, from: string, to: string) =>
  doc.links.some((l) => `${l.from.node}.${l.from.output}` === from && `${l.to.node}.${l.to.input}` === to);

/** The guide's recommended settings (lora-training-reference): rank 32 / alpha 16, AdamW8bit, UNet 1e-4, TE 5e-5. */
function expectGuideSettings(train: Record<string, unknown>) {
  expect(train).toMatchObject({
    network_dim: 32,
    network_alpha: 16,
    optimizer_type: 'AdamW8bit',
    unet_lr: 1e-4,
    text_encoder_lr: 5e-5,
    max_train_epochs: 10,
    save_every_n_epochs: 1,
    resolution: 512,
  });
  expect(train.train_batch_size).toBeGreaterThanOrEqual(1);
  expect(train.train_batch_size).toBeLessThanOrEqual(2);
}

describe.each([
  { file: 'sd15-character-lora.json', captioner: 'tag', captionParam: 'model', regularization: true },
  { file: 'sd15-style-lora.json', captioner: 'blip', captionParam: 'model', regularization: false },
])('template $file', ({ file, captioner, captionParam, regularization }) => {
  it('loads with the built-in nodes; validation names exactly the paths the user must set', (ctx) => {
    const missing = missingTypes(file);
    if (missing.length > 0) ctx.skip(`node types not registered yet: ${missing.join(', ')}`);
    const doc = load(file);
    const v = validateWorkflow(doc, registry);
    expect(v.ok).toBe(false);
    // Field-level problems only (the wording is validation's; it may name where to get the file).
    const problems = v.ok ? [] : v.errors.map((e) => `${e.nodeId} ${e.field} ${e.kind}`);
    expect(problems.sort()).toEqual(
      [
        `${captioner} params.${captionParam} bad-param`,
        'ckpt params.file bad-param',
        'load params.folder bad-param',
      ].sort(),
    );
    if (!v.ok) for (const e of v.errors) expect(e.message.length).toBeGreaterThan(5);

    // Filled in, the template is valid as it stands: nothing else needs changing.
    byId(doc, 'ckpt').params.file = 'v1-5-pruned-emaonly.safetensors';
    byId(doc, 'load').params.folder = 'mychar';
    byId(doc, captioner).params[captionParam] = 'tagger-or-blip-folder';
    expect(validateWorkflow(doc, registry)).toEqual({ ok: true });
  });

  it("uses the guide's settings, puts the trigger first and samples with and without it", (ctx) => {
    const missing = missingTypes(file);
    if (missing.length > 0) ctx.skip(`node types not registered yet: ${missing.join(', ')}`);
    const doc = load(file);
    const train = byId(doc, 'train');
    expectGuideSettings(train.params);
    expect(linked(doc, 'reg.images', 'train.regularization')).toBe(regularization);
    expect(doc.nodes.some((n) => n.type === 'loraflow/sample/regularization')).toBe(regularization);
    expect(linked(doc, `${captioner}.images`, 'edit.images')).toBe(true);
    expect(linked(doc, 'edit.images', 'train.images')).toBe(true);
    expect(linked(doc, 'train.lora', 'save.lora')).toBe(true);
    expect(byId(doc, 'crop').params).toMatchObject({ mode: 'buckets', resolution: 512 });
    // Sampling follows the checkpoint ("auto": 512 on SD1.5); training stays at the guide's 512 like Crop/Resize.
    const samplers = doc.nodes.filter((n) => n.type.startsWith('loraflow/sample/'));
    expect(samplers.length).toBeGreaterThanOrEqual(2);
    for (const n of samplers) expect([n.params.width, n.params.height], n.id).toEqual(['auto', 'auto']);

    const trigger = byId(doc, 'edit').params.prefix as string;
    expect(trigger.length).toBeGreaterThan(0);
    const [withTrigger, without] = (byId(doc, 'sampleLora').params.prompt as string).split('\n');
    expect(withTrigger?.startsWith(trigger)).toBe(true);
    expect(without).toBeDefined();
    expect(without!.includes(trigger)).toBe(false);
    expect(linked(doc, 'save.lora', 'sampleLora.loras')).toBe(true);
    expect(doc.links.some((l) => l.to.node === 'sampleBase' && l.to.input === 'loras')).toBe(false);
    expect(byId(doc, 'sampleBase').params.prompt).toBe(byId(doc, 'sampleLora').params.prompt);
  });
});

describe('quickstart.json (draft)', () => {
  const file = 'quickstart.json';

  it('validates as it stands and points at the demo model and the demo concept set', (ctx) => {
    const missing = missingTypes(file);
    if (missing.length > 0) ctx.skip(`node types not registered yet: ${missing.join(', ')}`);
    const doc = load(file);
    expect(validateWorkflow(doc, registry)).toEqual({ ok: true });
    expect(doc.meta.description).toMatch(
      /^REQUIRES the bundled demo model models\/demo\/loraflow-demo-sd1\.safetensors/,
    );

    // With the default roots (no config file), the paths are the repository's demo model and the folder
    // `npm run make:demo-data` writes by default.
    const config = loadConfig({ cwd: repoRoot, env: {} });
    const modelRoot = join(repoRoot, 'models');
    expect(config.roots.model).toContain(modelRoot);
    expect(join(modelRoot, byId(doc, 'ckpt').params.file as string)).toBe(DEMO_MODEL);
    expect(config.roots.dataset).toEqual([join(repoRoot, 'data', 'datasets')]);
    expect(join(config.roots.dataset[0]!, byId(doc, 'load').params.folder as string)).toBe(
      join(repoRoot, DEFAULT_OUT, 'concept'),
    );

    expect(byId(doc, 'edit').params.prefix).toBe('zkz');
    const prompts = (byId(doc, 'sampleLora').params.prompt as string).split('\n');
    expect(prompts.filter((p) => p.startsWith('zkz, ')).length).toBeGreaterThan(0);
    expect(prompts.filter((p) => !p.includes('zkz')).length).toBeGreaterThan(0);
    for (const id of ['crop', 'reg', 'train', 'sampleLora', 'sampleBase']) {
      const p = byId(doc, id).params;
      for (const k of ['resolution', 'width', 'height']) if (k in p) expect(p[k], `${id}.${k}`).toBe(64);
    }
  });
});
