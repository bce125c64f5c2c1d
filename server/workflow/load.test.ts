import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTestRegistry } from '../../tests/helpers/testNodes.ts';
import { loadWorkflow, serializeWorkflow } from './load.ts';
import { migrateDocument } from './migrations.ts';

const fixturesDir = join(import.meta.dirname, '../../tests/fixtures/workflows');
const fixture = (name: string) => readFileSync(join(fixturesDir, name), 'utf8');
const registry = createTestRegistry();

function loaded(text: string) {
  const r = loadWorkflow(text, registry);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r;
}

describe('golden fixtures', () => {
  it.each(readdirSync(fixturesDir).filter((f) => f.endsWith('.json')))('%s still loads', (name) => {
    const r = loadWorkflow(fixture(name), registry);
    expect(r.ok ? [] : r.errors).toEqual([]);
  });

  it('v1-basic loads unchanged and keeps extra meta keys', () => {
    const text = fixture('v1-basic.json');
    const r = loaded(text);
    expect(r.fromVersion).toBe(1);
    expect(r.doc).toEqual(JSON.parse(text));
    expect(r.doc.meta.author).toBe('fixtures');
  });

  it('v0-prerelease migrates links, positions and meta to v1', () => {
    const r = loaded(fixture('v0-prerelease.json'));
    expect(r.fromVersion).toBe(0);
    expect(r.doc.version).toBe(1);
    expect(r.doc.meta).toMatchObject({
      name: 'Pre-release sum',
      description: expect.stringContaining('v0 editor'),
    });
    expect(r.doc.nodes[0]).toEqual({
      id: 'a',
      type: 'test/basic/number',
      version: '1.0.0',
      params: { value: 4 },
      position: { x: 10, y: 20 },
    });
    expect(r.doc.links[2]).toEqual({
      id: '3',
      from: { node: 'sum', output: 'sum' },
      to: { node: 'out', input: 'value' },
    });
  });

  it('an unknown node type loads as a placeholder and survives a save round trip unchanged', () => {
    const text = fixture('v1-unknown-node.json');
    const r = loaded(text);
    expect(r.placeholders).toEqual(['x']);
    const saved = serializeWorkflow(r.doc);
    const original = JSON.parse(text);
    expect(JSON.parse(saved)).toEqual(original);
    const again = loaded(saved);
    expect(again.doc.nodes.find((n) => n.id === 'x')).toEqual(original.nodes[1]);
  });

  it('migrates params of an older node major through def.migrate, and reports one it cannot', () => {
    const r = loaded(fixture('v1-old-node-version.json'));
    expect(r.migratedNodes).toEqual([{ nodeId: 's', type: 'test/basic/scale', from: '1.4.0', to: '2.1.0' }]);
    expect(r.doc.nodes.find((n) => n.id === 's')).toMatchObject({ version: '2.1.0', params: { factor: 3 } });
    expect(r.nodeErrors).toEqual([
      expect.objectContaining({
        nodeId: 'old',
        kind: 'node-version',
        message: expect.stringMatching(
          /0\.9\.0 to 2\.1\.0: params from version 0\.9\.0 predate the factor param/,
        ),
      }),
    ]);
    expect(r.doc.nodes.find((n) => n.id === 'old')).toMatchObject({ version: '0.9.0', params: { times: 2 } });
  });
});

describe('loadWorkflow errors', () => {
  it('rejects non-JSON and foreign formats with a clear reason', () => {
    const bad = loadWorkflow('{nope', registry);
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors[0]!.message).toMatch(/not valid JSON/);
    const foreign = loadWorkflow({ format: 'comfyui', version: 1 }, registry);
    expect(!foreign.ok && foreign.errors[0]!.message).toMatch(/not a loraflow workflow/);
  });

  it('rejects a newer format version', () => {
    const r = migrateDocument({ format: 'loraflow.workflow', version: 99 });
    expect(r).toEqual({ ok: false, reason: expect.stringMatching(/newer loraflow.*update loraflow/) });
  });

  it('names the path of every bad field', () => {
    const doc = JSON.parse(fixture('v1-basic.json'));
    doc.nodes[1].position.x = 'left';
    doc.nodes[2].params = [1, 2];
    doc.links[0].to = { node: 'sum' };
    doc.nodes[3].selected = true;
    const r = loadWorkflow(doc, registry);
    expect(r.ok).toBe(false);
    const fields = !r.ok ? r.errors.map((e) => `${e.nodeId ?? '-'} ${e.field}: ${e.message}`) : [];
    expect(fields).toEqual(
      expect.arrayContaining([
        'b nodes[1].position.x: must be a number (got "left")',
        'sum nodes[2].params: must be a record (got a list)',
        '- links[0].to.input: is required (expected a string)',
        'out nodes[3]: unknown field selected',
      ]),
    );
  });

  it('rejects duplicate node and link ids', () => {
    const doc = JSON.parse(fixture('v1-basic.json'));
    doc.nodes.push({ ...doc.nodes[0] });
    doc.links.push({ ...doc.links[0] });
    const r = loadWorkflow(doc, registry);
    const fields = !r.ok ? r.errors.map((e) => `${e.nodeId ?? '-'} ${e.field}: ${e.message}`) : [];
    expect(fields).toEqual(['a nodes[4].id: duplicate node id a', '- links[3].id: duplicate link id l1']);
  });
});
