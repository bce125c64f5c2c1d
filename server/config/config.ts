import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { SizeSchema } from './size.ts';

/** The default port, fixed and documented: ComfyUI uses 8188, so 8190 lets both run side by side. */
export const DEFAULT_PORT = 8190;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_CACHE_MAX_BYTES = 20 * 1024 ** 3;
export const CONFIG_FILE_NAME = 'loraflow.config.json';

/** The package root: bundled demo models (`models/`) and workflow templates (`workflows/`) live there. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * `loraflow.config.json`. Every field is optional; relative paths are resolved against the file's folder.
 * Strict, so a misspelt key is reported instead of silently ignored.
 */
export const ConfigFile = z.strictObject({
  host: z.string().min(1).optional(),
  port: z.number().int().min(0).max(65535).optional(),
  token: z.string().min(8, 'a token needs at least 8 characters').optional(),
  dataDir: z.string().min(1).optional(),
  workflows: z
    .strictObject({ templates: z.string().min(1).optional(), user: z.string().min(1).optional() })
    .optional(),
  roots: z
    .strictObject({
      dataset: z.array(z.string().min(1)).optional(),
      model: z.array(z.string().min(1)).optional(),
      output: z.string().min(1).optional(),
    })
    .optional(),
  cache: z.strictObject({ maxSize: SizeSchema.optional() }).optional(),
  engine: z.strictObject({ binary: z.string().min(1).optional() }).optional(),
});
export type ConfigFile = z.infer<typeof ConfigFile>;

/** The resolved configuration: every path absolute. */
export const Config = z.object({
  host: z.string().min(1),
  port: z.number().int().min(0).max(65535),
  /** When set, every HTTP route and the websocket require it. */
  token: z.string().min(8).optional(),
  dataDir: z.string(),
  workflows: z.object({
    /** Templates shipped with the package: listed and readable, never overwritten. */
    templates: z.string(),
    /** Where the editor saves workflows (default `<dataDir>/workflows`). */
    user: z.string(),
  }),
  roots: z.object({
    dataset: z.array(z.string()).min(1),
    model: z.array(z.string()).min(1),
    output: z.string(),
  }),
  cache: z.object({ maxBytes: z.number().int().nonnegative() }),
  engine: z.object({ binary: z.string() }),
  /** The config file that was read, if any. */
  configFile: z.string().optional(),
});
export type Config = z.infer<typeof Config>;

/** Values given on the command line; they win over the environment, which wins over the file. */
export interface ConfigOverrides {
  host?: string;
  port?: number;
  token?: string;
  dataDir?: string;
  configPath?: string;
  outputDir?: string;
  cacheMaxBytes?: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadConfigOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  overrides?: ConfigOverrides;
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = ConfigFile.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`config file ${path} is invalid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

function parsePort(text: string, source: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${source} must be a port number between 0 and 65535, got "${text}"`);
  }
  return n;
}

/** Defaults < config file < environment (LORAFLOW_*) < command-line overrides. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const o = options.overrides ?? {};

  const explicitFile = o.configPath ?? env.LORAFLOW_CONFIG;
  let configFile: string | undefined;
  if (explicitFile) {
    configFile = resolve(cwd, explicitFile);
    if (!existsSync(configFile)) throw new ConfigError(`config file ${configFile} does not exist`);
  } else if (existsSync(join(cwd, CONFIG_FILE_NAME))) {
    configFile = join(cwd, CONFIG_FILE_NAME);
  }
  const file: ConfigFile = configFile ? readConfigFile(configFile) : {};
  const fileDir = configFile ? dirname(configFile) : cwd;
  const fromFile = (p: string) => (isAbsolute(p) ? p : resolve(fileDir, p));
  const fromCwd = (p: string) => resolve(cwd, p);

  const envPort = env.LORAFLOW_PORT ? parsePort(env.LORAFLOW_PORT, 'LORAFLOW_PORT') : undefined;
  const dataDir =
    o.dataDir !== undefined
      ? fromCwd(o.dataDir)
      : env.LORAFLOW_DATA
        ? fromCwd(env.LORAFLOW_DATA)
        : file.dataDir
          ? fromFile(file.dataDir)
          : fromCwd('data');

  const token = o.token ?? (env.LORAFLOW_TOKEN || undefined) ?? file.token;

  const candidate = {
    host: o.host ?? env.LORAFLOW_HOST ?? file.host ?? DEFAULT_HOST,
    port: o.port ?? envPort ?? file.port ?? DEFAULT_PORT,
    token,
    dataDir,
    workflows: {
      templates: file.workflows?.templates ? fromFile(file.workflows.templates) : join(repoRoot, 'workflows'),
      user: file.workflows?.user ? fromFile(file.workflows.user) : join(dataDir, 'workflows'),
    },
    roots: {
      dataset: file.roots?.dataset?.map(fromFile) ?? [join(dataDir, 'datasets')],
      model: file.roots?.model?.map(fromFile) ?? [join(dataDir, 'models'), join(repoRoot, 'models')],
      output: o.outputDir
        ? fromCwd(o.outputDir)
        : file.roots?.output
          ? fromFile(file.roots.output)
          : join(dataDir, 'outputs'),
    },
    cache: { maxBytes: o.cacheMaxBytes ?? file.cache?.maxSize ?? DEFAULT_CACHE_MAX_BYTES },
    engine: {
      binary: env.LORAFLOW_ENGINE_BIN
        ? fromCwd(env.LORAFLOW_ENGINE_BIN)
        : file.engine?.binary
          ? fromFile(file.engine.binary)
          : join(repoRoot, 'native', 'build', 'loraflow-engine'),
    },
    configFile,
  };
  const parsed = Config.safeParse(candidate);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
