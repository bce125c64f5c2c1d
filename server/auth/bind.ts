import { isIP } from 'node:net';

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return h.slice(7).startsWith('127.');
  return false;
}

/** Listening beyond loopback without a token would let anyone on the network run workflows and read files. */
export function checkBind(
  host: string,
  token: string | undefined,
): { ok: true } | { ok: false; reason: string } {
  if (isLoopbackHost(host) || token) return { ok: true };
  return {
    ok: false,
    reason:
      `refusing to listen on ${host} without a token: anyone who can reach this address could run workflows. ` +
      'Pass --token <secret>, set LORAFLOW_TOKEN, or use --token auto to generate one.',
  };
}
