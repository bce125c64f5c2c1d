import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createNodeTestContext,
  type NodeTestContext,
  runNodeForTest,
} from '../../tests/helpers/nodeTestContext.ts';
import { makeTempDir } from '../../tests/helpers/tempDir.ts';
import { num, testAdd, testBadOutput, testSave, testSlow } from '../../tests/helpers/testNodes.ts';

let tmp: ReturnType<typeof makeTempDir>;
let t: NodeTestContext;
beforeEach(() => {
  tmp = makeTempDir();
  t = createNodeTestContext({ dataDir: tmp.dir, services: { greeting: 'hi' } });
});
afterEach(() => {
  t.close();
  tmp.cleanup();
});

describe('node context', () => {
  it('records progress, logs, warnings and events, and exposes services', async () => {
    t.ctx.progress(1, 2, 'half');
    t.ctx.log.warn('careful');
    t.ctx.log.info('fyi');
    t.ctx.emit({ type: 'metric', data: { loss: 0.1 } });
    expect(t.progress).toEqual([{ value: 1, max: 2, text: 'half' }]);
    expect(t.warnings).toEqual(['careful']);
    expect(t.logs.map((l) => l.level)).toEqual(['warn', 'info']);
    expect(t.events).toEqual([{ type: 'metric', data: { loss: 0.1 } }]);
    expect(t.ctx.services.greeting).toBe('hi');
    expect(() => t.ctx.emit({ type: '', data: null })).toThrow(/non-empty string type/);
  });

  it('progress and emit throw an AbortError once the signal is aborted', () => {
    t.abort();
    expect(() => t.ctx.progress(1, 2)).toThrow(expect.objectContaining({ name: 'AbortError' }));
    expect(() => t.ctx.emit({ type: 'x', data: 1 })).toThrow(expect.objectContaining({ name: 'AbortError' }));
  });

  it('stores artifacts in the real store', async () => {
    const hash = await t.ctx.store.put(Buffer.from('img'));
    expect((await t.store.get(hash)).toString()).toBe('img');
  });
});

describe('runNodeForTest', () => {
  it('parses params with defaults and validates outputs like the executor', async () => {
    expect(await runNodeForTest(testAdd, t, { a: num(2), b: num(3) }, { offset: 1 })).toEqual({
      outputs: { sum: num(6) },
    });
    await expect(runNodeForTest(testAdd, t, { a: num(1) }, { offset: 'x' })).rejects.toThrow(
      /bad params: offset/,
    );
    await expect(runNodeForTest(testBadOutput, t, {})).rejects.toThrow(/invalid outputs: output out.prompts/);
    const saved = await runNodeForTest(testSave, t, { value: num(9) });
    expect(saved.display).toEqual({ saved: 9 });
    expect(t.events).toEqual([{ type: 'saved', data: { value: 9 } }]);
  });

  it('a node that reports progress stops when the test context is aborted', async () => {
    const run = runNodeForTest(testSlow, t, {}, { steps: 1000, stepMs: 1 });
    t.abort();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(t.progress.length).toBe(0);
  });
});
