import { describe, expect, it } from 'vitest';
import { builtinNodes, createBuiltinRegistry } from './index.ts';
import { checkNodeDefinition } from './sdk/registry.ts';

describe('built-in node catalogue', () => {
  it.each(builtinNodes.map((def) => [def.type, def] as const))('%s is a valid definition', (_type, def) => {
    const check = checkNodeDefinition(def);
    expect(check.ok ? [] : check.problems).toEqual([]);
  });

  it('registers every catalogued node and describes them as JSON', () => {
    const registry = createBuiltinRegistry();
    expect(registry.list().map((d) => d.type)).toEqual(builtinNodes.map((d) => d.type));
    const description = registry.describe();
    expect(JSON.parse(JSON.stringify(description))).toEqual(description);
    expect(Object.keys(description.sockets)).toContain('IMAGES');
  });
});
