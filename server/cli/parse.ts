import { type ParseArgsConfig, parseArgs } from 'node:util';
import { parseSize } from '../config/size.ts';
import { CliError } from './cliError.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with errors turned into CliErrors that name the command. */
export function parseCommandArgs<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = true,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new CliError(`loraflow ${command}: ${(err as Error).message}\nRun "loraflow help" for usage.`);
  }
}

export function parsePortArg(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new CliError(`--port must be a number between 0 and 65535, got "${text}"`);
  return n;
}

export function parseSizeArg(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const r = parseSize(text);
  if (!r.ok) throw new CliError(`${flag}: ${r.reason}`);
  return r.bytes;
}
