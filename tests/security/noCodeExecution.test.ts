import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { repoRoot } from '../../server/config/config.ts';
import { makeTempDir } from '../helpers/tempDir.ts';

// Every spawn goes through this spy, so the test sees the exact command, argument vector and options.
vi.mock('node:child_process', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:child_process')>();
  return { ...real, spawn: vi.fn(real.spawn) };
});
const childProcess = await import('node:child_process');
const { EngineClient, defaultEngineBinary } = await import('../../server/engine/engineClient.ts');

/** Production sources of the server and the nodes (tests and test helpers excluded). */
function sources(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'testing' && e.name !== 'node_modules') walk(p);
      } else if (/\.(ts|mts|mjs|js)$/.test(e.name) && !/\.test\.|\.bench\./.test(e.name)) {
        out.push({ file: relative(repoRoot, p), text: readFileSync(p, 'utf8') });
      }
    }
  };
  walk(join(repoRoot, 'server'));
  walk(join(repoRoot, 'nodes'));
  return out;
}

/** Code only: comments and string contents blanked, so prose and messages cannot trigger or hide a match. */
function codeOf(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

function offenders(
  pattern: RegExp,
  allowed: (file: string, line: string) => boolean = () => false,
): string[] {
  const found: string[] = [];
  for (const { file, text } of sources()) {
    codeOf(text)
      .split('\n')
      .forEach((line, i) => {
        if (pattern.test(line) && !allowed(file, line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
  }
  return found;
}

describe('workflows are data: no code from a user ever runs', () => {
  it('has no eval, Function constructor, vm, dynamic require or computed dynamic import in server/ and nodes/', () => {
    expect(offenders(/\beval\s*\(|\bnew\s+Function\s*\(|\bFunction\s*\(\s*['"`]/)).toEqual([]);
    expect(offenders(/from\s+['"](node:)?vm['"]|require\(\s*['"](node:)?vm['"]/)).toEqual([]);
    expect(offenders(/\brequire\s*\(/)).toEqual([]);
    // Only literal module paths may be imported lazily; a param can never name a module to load.
    expect(offenders(/\bimport\s*\(\s*[^'"`\s]/)).toEqual([]);
    expect(offenders(/\bimport\s*\(\s*`[^`]*\$\{/)).toEqual([]);
  });

  it('starts processes only in the process gateway, with spawn and never a shell', () => {
    const importers = offenders(/from\s+['"](node:)?child_process['"]/);
    expect(importers.map((l) => l.split(':')[0])).toEqual(['server/engine/processGateway.ts']);
    expect(importers[0]).toMatch(/import \{ type ChildProcessWithoutNullStreams, spawn \} from/);
    expect(offenders(/\b(execSync|execFileSync|execFile|spawnSync|fork)\s*\(/)).toEqual([]);
    expect(offenders(/\bexec\s*\(\s*['"`]/)).toEqual([]);
    expect(offenders(/shell\s*:\s*(true|['"`])/)).toEqual([]);
  });

  it('compares tokens only through the constant-time tokensMatch', () => {
    const compares = offenders(
      /\btoken\w*\s*[!=]==?\s*(?!undefined\b|null\b|['"`])\w|\w\s*[!=]==?\s*token\b/i,
    );
    // Only the server handles access tokens (the caption nodes' `token` ids are vocabulary, not secrets).
    expect(compares.filter((l) => l.startsWith('server/'))).toEqual([]);
    const auth = readFileSync(join(repoRoot, 'server/auth/token.ts'), 'utf8');
    expect(auth).toMatch(/timingSafeEqual\(a, b\)/);
  });

  it('decodes user images with sharp only through openImage (pixel limit), or raw pixels it made itself', () => {
    const direct = offenders(
      /\bsharp\s*\(/,
      (file, line) =>
        file === 'nodes/image/openImage.ts' || /\bsharp\s*\([^,)]*,\s*(\{\s*raw\s*:|rawOpts\b)/.test(line),
    );
    expect(direct).toEqual([]);
  });
});

describe('the engine is spawned with an argument vector, never through a shell', () => {
  const tmp = makeTempDir('loraflow-sec-spawn-');
  afterEach(() => vi.mocked(childProcess.spawn).mockClear());

  it('passes hostile work-dir and op arguments as data: nothing is executed', async () => {
    // A shell would run these substitutions and create the marker files.
    const marker = join(tmp.dir, 'PWNED');
    const workDir = join(tmp.dir, `work $(touch ${marker}) \`touch ${marker}2\`; touch ${marker}3`);
    const fake = join(tmp.dir, 'fake-engine.mjs');
    const { writeFileSync } = await import('node:fs');
    // A stand-in engine: answers every request with an error naming the path it was given.
    writeFileSync(
      fake,
      `process.stdin.setEncoding('utf8');let b='';process.stdin.on('data',d=>{b+=d;let i;while((i=b.indexOf('\\n'))>=0){const m=JSON.parse(b.slice(0,i));b=b.slice(i+1);if(m.op==='shutdown')process.exit(0);process.stdout.write(JSON.stringify({id:m.id,type:'error',error:{code:'bad_file',message:String(m.args.path)}})+'\\n');}});`,
    );
    const client = new EngineClient({ workDir, command: process.execPath, commandArgs: [fake, workDir] });
    try {
      const path = `$(touch ${marker}4).safetensors; touch ${marker}5 | sh`;
      await expect(client.request('load_model', { path })).rejects.toThrow();
    } finally {
      await client.close();
    }
    const calls = vi.mocked(childProcess.spawn).mock.calls;
    expect(calls).toHaveLength(1);
    const [command, args, options] = calls[0]!;
    expect(command).toBe(process.execPath);
    expect(args).toEqual([fake, workDir]);
    expect(options).toMatchObject({ shell: false });
    for (const suffix of ['', '2', '3', '4', '5']) expect(existsSync(`${marker}${suffix}`)).toBe(false);
  });

  it.skipIf(!existsSync(defaultEngineBinary()))(
    'starts the real engine binary as `serve --work-dir <dir>` with shell: false',
    async () => {
      const workDir = join(tmp.dir, 'engine; touch PWNED');
      const client = new EngineClient({ workDir, binPath: defaultEngineBinary() });
      try {
        const hello = await client.hello();
        expect(hello.engine_version).toBeTruthy();
        const hostile = join(tmp.dir, '$(touch PWNED-load).safetensors');
        await expect(client.request('load_model', { path: hostile })).rejects.toThrow(/PWNED-load/);
      } finally {
        await client.close();
      }
      const [command, args, options] = vi.mocked(childProcess.spawn).mock.calls[0]!;
      expect(command).toBe(defaultEngineBinary());
      expect(args).toEqual(['serve', '--work-dir', workDir]);
      expect(options).toMatchObject({ shell: false });
      for (const dir of [tmp.dir, process.cwd(), workDir]) {
        expect(existsSync(join(dir, 'PWNED'))).toBe(false);
        expect(existsSync(join(dir, 'PWNED-load).safetensors'))).toBe(false);
      }
    },
  );
});
