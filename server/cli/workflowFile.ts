import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { NodeRegistry } from '../../nodes/sdk/registry.ts';
import { type LoadResult, loadWorkflow } from '../workflow/load.ts';
import { formatNodeError } from '../workflow/nodeErrors.ts';
import { CliError, EXIT_FAILED } from './cliError.ts';

export type LoadedWorkflow = Extract<LoadResult, { ok: true }> & { path: string };

/** Reads, migrates and schema-checks a workflow file, with messages that say what to do. */
export async function readWorkflowFile(
  path: string | undefined,
  command: string,
  registry: NodeRegistry,
): Promise<LoadedWorkflow> {
  if (!path)
    throw new CliError(
      `loraflow ${command}: give the workflow file, e.g. loraflow ${command} my-workflow.json`,
    );
  const abs = resolve(path);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a folder, not a file'
          : (err as Error).message;
    throw new CliError(`cannot read workflow ${abs}: ${why}`, EXIT_FAILED);
  }
  const loaded = loadWorkflow(text, registry);
  if (!loaded.ok) {
    throw new CliError(
      `${abs} is not a valid loraflow workflow:\n${loaded.errors.map((e) => `  ${formatNodeError(e)}`).join('\n')}`,
      EXIT_FAILED,
    );
  }
  return { ...loaded, path: abs };
}
