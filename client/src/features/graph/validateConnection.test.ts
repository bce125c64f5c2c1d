import { describe, expect, it } from 'vitest';
import { fixtureDefs } from '../../test/fixtureDefs.ts';
import type { FlowEdge, FlowNode } from './types.ts';
import { createsCycle, validateConnection } from './validateConnection.ts';

const node = (id: string, type: string): FlowNode => ({
  id,
  type: 'workflow',
  position: { x: 0, y: 0 },
  data: { type, version: '1.0.0', params: {} },
});
const nodes = [
  node('load', 'test/load-images'),
  node('model', 'test/load-model'),
  node('resize', 'test/resize'),
  node('train', 'test/train'),
  node('save', 'test/save'),
  node('ghost', 'vendor/unknown/node'),
];
const defs = fixtureDefs();
const check = (
  source: string,
  sourceHandle: string,
  target: string,
  targetHandle: string,
  edges: FlowEdge[] = [],
) => validateConnection({ source, sourceHandle, target, targetHandle }, nodes, edges, defs);

describe('connection validation (the server rule plus editor checks)', () => {
  it('allows equal socket types and ANY inputs', () => {
    expect(check('load', 'images', 'resize', 'images')).toEqual({ ok: true });
    expect(check('model', 'model', 'save', 'value')).toEqual({ ok: true });
    expect(check('load', 'images', 'train', 'regularization')).toEqual({ ok: true });
  });
  it('refuses mismatched types with the reason from canConnect', () => {
    expect(check('model', 'model', 'resize', 'images')).toEqual({
      ok: false,
      reason: 'MODEL output cannot connect to a IMAGES input',
    });
  });
  it('refuses self links, unknown sockets, placeholders, duplicates and cycles', () => {
    expect(check('resize', 'images', 'resize', 'images').ok).toBe(false);
    expect(check('load', 'nope', 'resize', 'images')).toEqual({
      ok: false,
      reason: 'Load Images has no output "nope"',
    });
    expect(check('load', 'images', 'resize', 'nope')).toEqual({
      ok: false,
      reason: 'Resize has no input "nope"',
    });
    expect(check('load', 'images', 'ghost', 'x').ok).toBe(false);
    const e: FlowEdge = {
      id: 'l1',
      source: 'load',
      target: 'resize',
      sourceHandle: 'images',
      targetHandle: 'images',
    };
    expect(check('load', 'images', 'resize', 'images', [e])).toEqual({
      ok: false,
      reason: 'These sockets are already connected',
    });
    const back: FlowEdge = {
      id: 'l2',
      source: 'resize',
      target: 'train',
      sourceHandle: 'images',
      targetHandle: 'images',
    };
    expect(createsCycle('train', 'resize', [back])).toBe(true);
    expect(createsCycle('load', 'resize', [back])).toBe(false);
    expect(validateConnection({ source: 'load', target: null }, nodes, [], defs)).toEqual({
      ok: false,
      reason: 'Drop the wire on a socket',
    });
  });
});
