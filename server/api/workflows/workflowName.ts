import { z } from 'zod';

/** Names become file names, so they are restricted: no separators, no leading dot, bounded length. */
export const WorkflowName = z
  .string()
  .transform((s) => s.replace(/\.json$/i, ''))
  .pipe(
    z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,100}$/,
        'a workflow name starts with a letter or digit and contains only letters, digits, spaces, _ . and - (at most 101 characters)',
      ),
  );

export function workflowFileName(name: string): string {
  return `${name}.json`;
}
