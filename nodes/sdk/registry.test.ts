import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testNodes, testNumber, testSink } from '../../tests/helpers/testNodes.ts';
import type { AnyNodeDefinition } from './defineNode.ts';
import { NodeDefinitionError, NodeRegistry } from './registry.ts';

const base = { ...testNumber } as AnyNodeDefinition;
const bad = (patch: Record<string, unknown>) => ({ ...base, ...patch }) as unknown as AnyNodeDefinition;

function problemsOf(def: AnyNodeDefinition, registry = new NodeRegistry()): string {
  try {
    registry.register(def);
  } catch (err) {
    expect(err).toBeInstanceOf(NodeDefinitionError);
    return (err as Error).message;
  }
  throw new Error('expected registration to fail');
}

describe('NodeRegistry.register', () => {
  it('accepts the test nodes and looks them up', () => {
    const r = new NodeRegistry().registerAll(testNodes);
    expect(r.get('test/basic/number')).toBe(testNumber);
    expect(r.has('test/basic/nope')).toBe(false);
    expect(r.list()).toHaveLength(testNodes.length);
    expect(r.entry('test/basic/add')?.inputs.b).toEqual({ type: 'PROMPTS', optional: true, list: false });
  });

  it('rejects a duplicate type id', () => {
    const r = new NodeRegistry().register(testNumber);
    expect(problemsOf(testNumber, r)).toMatch(/already registered/);
  });

  it.each([['number'], ['test/number'], ['Test/Basic/Number'], ['a//b'], ['a/b/c d']])(
    'rejects the non-namespaced id %s',
    (type) => {
      expect(problemsOf(bad({ type }))).toMatch(/owner\/category\/name/);
    },
  );

  it.each([['1'], ['1.0'], ['v1.0.0'], ['01.0.0']])('rejects the version %s', (version) => {
    expect(problemsOf(bad({ version }))).toMatch(/not semver/);
  });

  it('rejects an unknown socket type on inputs and outputs', () => {
    expect(problemsOf(bad({ inputs: { x: { type: 'LATENT' } } }))).toMatch(
      /input x: unknown socket type "LATENT"/,
    );
    expect(problemsOf(bad({ outputs: { y: { type: 'NOPE' } } }))).toMatch(
      /output y: unknown socket type "NOPE"/,
    );
  });

  it('rejects params that are not a zod object', () => {
    expect(problemsOf(bad({ params: { steps: 20 } }))).toMatch(/params must be a zod object/);
    expect(problemsOf(bad({ params: z.string() }))).toMatch(/params must be a zod object/);
  });

  it('rejects a param default that its own schema rejects', () => {
    const params = z.object({ steps: z.number().min(1).max(10).default(50) });
    expect(problemsOf(bad({ params }))).toMatch(/param steps: default 50 is invalid/);
  });

  it('rejects socket names that are not identifiers', () => {
    expect(problemsOf(bad({ inputs: { 'my input': { type: 'IMAGES' } } }))).toMatch(/input name "my input"/);
    expect(problemsOf(bad({ outputs: { '1st': { type: 'IMAGES' } } }))).toMatch(/output name "1st"/);
  });

  it('rejects params that cannot be shown as JSON Schema', () => {
    expect(problemsOf(bad({ params: z.object({ f: z.custom<string>() }) }))).toMatch(/JSON Schema/);
  });

  it('reports every problem at once', () => {
    const message = problemsOf(bad({ type: 'x', version: 'one', params: null, run: undefined }));
    expect(message).toMatch(/owner\/category\/name/);
    expect(message).toMatch(/semver/);
    expect(message).toMatch(/params must be a zod object/);
    expect(message).toMatch(/run must be a function/);
  });
});

describe('NodeRegistry.describe', () => {
  it('gives JSON-serialisable definitions with JSON Schema params, UI hints and socket colours', () => {
    const d = new NodeRegistry().registerAll([testNumber, testSink]).describe();
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
    expect(d.sockets.IMAGES.color).toMatch(/^#[0-9a-f]{6}$/);
    const number = d.nodes.find((n) => n.type === 'test/basic/number')!;
    expect(number.params).toMatchObject({
      type: 'object',
      properties: { value: { type: 'number', default: 0, minimum: -1e9, ui: { widget: 'slider', step: 1 } } },
    });
    // io: 'input' → params with defaults are not required
    expect(number.params.required ?? []).not.toContain('value');
    const sink = d.nodes.find((n) => n.type === 'test/basic/sink')!;
    expect(sink).toMatchObject({ output: true, heavy: false, cache: 'content' });
    expect(sink.inputs.value).toEqual({ type: 'ANY', optional: false, list: false });
  });
});
