import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_HOST, DEFAULT_PORT, loadConfig, repoRoot } from './config.ts';
import { parseSize } from './size.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loraflow-config-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('uses documented defaults relative to the working directory', () => {
    const c = loadConfig({ cwd: dir, env: {} });
    expect(c.host).toBe(DEFAULT_HOST);
    expect(c.port).toBe(DEFAULT_PORT);
    expect(c.port).toBe(8190);
    expect(c.token).toBeUndefined();
    expect(c.dataDir).toBe(join(dir, 'data'));
    expect(c.workflows).toEqual({
      templates: join(repoRoot, 'workflows'),
      user: join(dir, 'data', 'workflows'),
    });
    expect(c.roots).toEqual({
      dataset: [join(dir, 'data', 'datasets')],
      model: [join(dir, 'data', 'models'), join(repoRoot, 'models')],
      output: join(dir, 'data', 'outputs'),
    });
    expect(c.configFile).toBeUndefined();
  });

  it('reads loraflow.config.json from the cwd, resolving paths against it', () => {
    writeFileSync(
      join(dir, 'loraflow.config.json'),
      JSON.stringify({
        port: 9000,
        dataDir: 'state',
        roots: { dataset: ['/srv/photos'] },
        cache: { maxSize: '2GB' },
      }),
    );
    const c = loadConfig({ cwd: dir, env: {} });
    expect(c.port).toBe(9000);
    expect(c.dataDir).toBe(join(dir, 'state'));
    expect(c.roots.dataset).toEqual(['/srv/photos']);
    expect(c.roots.output).toBe(join(dir, 'state', 'outputs'));
    expect(c.cache.maxBytes).toBe(2 * 1024 ** 3);
    expect(c.configFile).toBe(join(dir, 'loraflow.config.json'));
  });

  it('lets the environment override the file and the command line override both', () => {
    writeFileSync(join(dir, 'loraflow.config.json'), JSON.stringify({ port: 9000, token: 'from-file-123' }));
    const env = { LORAFLOW_PORT: '9100', LORAFLOW_DATA: 'envdata', LORAFLOW_TOKEN: 'from-env-123' };
    const viaEnv = loadConfig({ cwd: dir, env });
    expect(viaEnv.port).toBe(9100);
    expect(viaEnv.dataDir).toBe(join(dir, 'envdata'));
    expect(viaEnv.token).toBe('from-env-123');
    const viaFlags = loadConfig({
      cwd: dir,
      env,
      overrides: { port: 9200, dataDir: 'flagdata', outputDir: 'out' },
    });
    expect(viaFlags.port).toBe(9200);
    expect(viaFlags.dataDir).toBe(join(dir, 'flagdata'));
    expect(viaFlags.roots.output).toBe(join(dir, 'out'));
  });

  it('reports misspelt keys and bad values with their path', () => {
    const path = join(dir, 'custom.json');
    writeFileSync(path, JSON.stringify({ prot: 1, cache: { maxSize: 'lots' } }));
    expect(() => loadConfig({ cwd: dir, env: {}, overrides: { configPath: path } })).toThrow(ConfigError);
    try {
      loadConfig({ cwd: dir, env: {}, overrides: { configPath: path } });
    } catch (err) {
      expect((err as Error).message).toContain('prot');
      expect((err as Error).message).toContain('cache.maxSize');
    }
  });

  it('refuses a missing explicit config file, invalid JSON and a bad port', () => {
    expect(() => loadConfig({ cwd: dir, env: {}, overrides: { configPath: 'nope.json' } })).toThrow(
      /does not exist/,
    );
    writeFileSync(join(dir, 'loraflow.config.json'), '{ nope');
    expect(() => loadConfig({ cwd: dir, env: {} })).toThrow(/not valid JSON/);
    rmSync(join(dir, 'loraflow.config.json'));
    expect(() => loadConfig({ cwd: dir, env: { LORAFLOW_PORT: 'http' } })).toThrow(/LORAFLOW_PORT/);
  });
});

describe('parseSize', () => {
  it('parses units and rejects garbage', () => {
    expect(parseSize('512')).toEqual({ ok: true, bytes: 512 });
    expect(parseSize('1.5 KB')).toEqual({ ok: true, bytes: 1536 });
    expect(parseSize('20GB')).toEqual({ ok: true, bytes: 20 * 1024 ** 3 });
    expect(parseSize('3 parsecs').ok).toBe(false);
    expect(parseSize('').ok).toBe(false);
  });
});
