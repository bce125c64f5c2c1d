import { createBuiltinRegistry } from '../../nodes/index.ts';
import type { NodeRegistry } from '../../nodes/sdk/registry.ts';

/**
 * The node catalogue of the CLI and the server: the built-in nodes, plus the test-only nodes when
 * LORAFLOW_TEST_NODES=1 (used by the CLI and integration tests, never in normal use).
 */
export async function loadRegistry(
  env: Record<string, string | undefined> = process.env,
): Promise<NodeRegistry> {
  const registry = createBuiltinRegistry();
  if (env.LORAFLOW_TEST_NODES === '1') {
    const { testNodes } = await import('../../tests/helpers/testNodes.ts');
    registry.registerAll(testNodes);
  }
  return registry;
}
