import { describe, expect, it } from 'vitest';
import { fixtureDefs } from '../../test/fixtureDefs.ts';
import { compatibleNodes, searchNodes } from './compatibleNodes.ts';

describe('compatible nodes for a dangling wire', () => {
  const defs = fixtureDefs();
  it('offers nodes with a matching input for a wire from an output', () => {
    const c = compatibleNodes(defs, { nodeId: '1', handle: 'images', type: 'IMAGES', side: 'output' });
    expect(Object.fromEntries(c.map((x) => [x.def.type, x.socket]))).toEqual({
      'test/resize': 'images',
      'test/train': 'images',
      'test/save': 'value',
    });
  });
  it('offers nodes with a matching output for a wire pulled from an input', () => {
    const c = compatibleNodes(defs, { nodeId: '1', handle: 'model', type: 'MODEL', side: 'input' });
    expect(c.map((x) => [x.def.type, x.socket])).toEqual([['test/load-model', 'model']]);
  });
});

describe('node search', () => {
  const defs = fixtureDefs();
  const items = Object.values(defs.byType).map((def) => ({ def }));
  it('matches every word and ranks title prefixes first', () => {
    expect(searchNodes(items, 'load').map((i) => i.def.title)).toEqual(['Load Images', 'Load Model']);
    expect(searchNodes(items, 'lo tr').map((i) => i.def.title)).toEqual(['LoRA Train']);
    expect(searchNodes(items, 'dataset').map((i) => i.def.type)).toEqual(['test/load-images']);
    expect(searchNodes(items, '')).toHaveLength(5);
  });
});
