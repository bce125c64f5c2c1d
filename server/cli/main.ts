import { loraflowVersion } from '../api/system/systemInfo.ts';
import { ConfigError } from '../config/config.ts';
import { CliError, EXIT_OK, EXIT_USAGE } from './cliError.ts';
import { USAGE } from './usage.ts';

async function dispatch(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    // Commands are imported on demand so that `--version` and `help` start fast.
    case 'serve':
      return (await import('./commands/serve.ts')).serveCommand(rest);
    case 'run':
      return (await import('./commands/run.ts')).runCommand(rest);
    case 'validate':
      return (await import('./commands/validate.ts')).validateCommand(rest);
    case 'nodes':
      return (await import('./commands/nodes.ts')).nodesCommand(rest);
    case 'cache':
      return (await import('./commands/cache.ts')).cacheCommand(rest);
    case '--version':
    case 'version':
      process.stdout.write(`${loraflowVersion()}\n`);
      return EXIT_OK;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return EXIT_OK;
    default:
      throw new CliError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

// `loraflow nodes | head` closes the pipe early; that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

try {
  const code = await dispatch(process.argv.slice(2));
  // serve keeps the process alive through its server; other commands end here.
  if (code !== EXIT_OK || process.argv[2] !== 'serve') process.exitCode = code;
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else if (err instanceof ConfigError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = EXIT_USAGE;
  } else {
    process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
