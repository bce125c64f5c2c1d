import { type LoraflowServer, StartupError, startServer } from '../../app.ts';
import { isLoopbackHost } from '../../auth/bind.ts';
import { generateToken } from '../../auth/token.ts';
import { loadConfig } from '../../config/config.ts';
import { CliError, EXIT_OK } from '../cliError.ts';
import { parseCommandArgs, parsePortArg } from '../parse.ts';
import { loadRegistry } from '../registry.ts';

/** `loraflow serve`: the editor and API until SIGINT/SIGTERM. */
export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    'serve',
    argv,
    {
      host: { type: 'string' },
      port: { type: 'string' },
      data: { type: 'string' },
      token: { type: 'string' },
      config: { type: 'string' },
    },
    false,
  );
  const tokenArg = values.token ?? process.env.LORAFLOW_TOKEN;
  const generated = tokenArg === 'auto' ? generateToken() : undefined;
  const port = parsePortArg(values.port);
  const config = loadConfig({
    env: { ...process.env, LORAFLOW_TOKEN: undefined },
    overrides: {
      ...(values.host ? { host: values.host } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(values.data ? { dataDir: values.data } : {}),
      ...(values.config ? { configPath: values.config } : {}),
      ...(generated ? { token: generated } : tokenArg ? { token: tokenArg } : {}),
    },
  });
  const registry = await loadRegistry();
  let server: LoraflowServer;
  try {
    server = await startServer({ config, registry });
  } catch (err) {
    if (err instanceof StartupError) throw new CliError(err.message, 1);
    throw err;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write(`\n${signal}: stopping; an active run resumes on the next start\n`);
    server.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  // One write, after the signal handlers: whoever reads the banner can rely on all of it.
  const lines = [`loraflow ${server.url}  (data: ${config.dataDir})`];
  if (!isLoopbackHost(config.host)) lines.push(`listening on ${config.host}: reachable from the network`);
  if (generated) {
    // Printed once: it is not stored anywhere.
    lines.push(`token: ${generated}`, `open: ${server.url}/?token=${encodeURIComponent(generated)}`);
  } else if (config.token) {
    lines.push('a token is required (Authorization: Bearer <token>, or open the editor with ?token=<token>)');
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT_OK;
}
