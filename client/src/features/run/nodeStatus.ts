import type { NodeStatus as ServerNodeStatus } from '../../../../server/queue/runTypes.ts';
import type { NodeStatus } from './executionStore.ts';

/** The server's persisted node status as the editor names it. */
export function fromServerStatus(s: ServerNodeStatus): NodeStatus {
  switch (s) {
    case 'pending':
      return 'queued';
    case 'running':
    case 'done':
    case 'cached':
    case 'failed':
    case 'skipped':
    case 'cancelled':
      return s;
    default: {
      const never: never = s;
      return never;
    }
  }
}
