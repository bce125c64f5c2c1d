#!/usr/bin/env node
// Idempotent setup used by `npm start` and `npm test`: Debian packages, npm ci, native engine, client.
// Plain JavaScript with no dependencies, because it runs before node_modules exists. The steps are exported
// for scripts that need only some of them (`npm run build:native`: scripts/build-native.mjs).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const forTests = process.argv.includes('--tests');
const started = Date.now();

const basePackages = [
  'libtorch-dev',
  'libopenblas0-pthread',
  'cmake',
  'g++',
  'ninja-build',
  'nlohmann-json3-dev',
];
const testPackages = ['chromium', 'libgtest-dev', 'python3-torch'];

function log(msg) {
  process.stdout.write(`[setup] ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    log(`failed: ${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

function missingDebianPackages(pkgs) {
  const r = spawnSync('dpkg-query', ['-W', `-f=${'$'}{Package} ${'$'}{db:Status-Status}\n`, ...pkgs], {
    encoding: 'utf8',
  });
  const installed = new Set(
    (r.stdout || '')
      .split('\n')
      .filter((l) => l.endsWith(' installed'))
      .map((l) => l.split(' ')[0]),
  );
  return pkgs.filter((p) => !installed.has(p));
}

/** The Debian packages the engine build needs (`basePackages`), plus the test tools with `--tests`. */
export function ensureDebianPackages({ tests = forTests } = {}) {
  const wanted = tests ? [...basePackages, ...testPackages] : basePackages;
  const missing = missingDebianPackages(wanted);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    log('missing Debian packages. Install them, then run this command again:');
    process.stdout.write(`  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}\n`);
    process.exit(1);
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

function hashFiles(files) {
  const h = createHash('sha256');
  for (const f of files.sort()) {
    h.update(relative(root, f));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}

function listFiles(dir, skip) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (skip(p, entry)) continue;
    if (entry.isDirectory()) out.push(...listFiles(p, skip));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

function stampMatches(stampFile, hash) {
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8').trim() === hash;
}

function writeStamp(stampFile, hash) {
  mkdirSync(dirname(stampFile), { recursive: true });
  writeFileSync(stampFile, `${hash}\n`);
}

export function ensureNodeModules() {
  const lock = join(root, 'package-lock.json');
  const hash = hashFiles([lock, join(root, 'package.json')]);
  const stamp = join(root, 'node_modules', '.loraflow-setup-stamp');
  if (stampMatches(stamp, hash)) return;
  log('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund'], {
    env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
  });
  writeStamp(stamp, hash);
}

/**
 * Builds native/build/loraflow-engine unless its sources are unchanged since the last build.
 * Returns 'built', 'up-to-date' or 'no-sources' (no native/CMakeLists.txt).
 */
export function ensureNativeEngine() {
  const src = join(root, 'native');
  if (!existsSync(join(src, 'CMakeLists.txt'))) return 'no-sources';
  const files = listFiles(src, (_p, e) => e.isDirectory() && /^build/.test(e.name));
  const hash = hashFiles(files);
  const build = join(src, 'build');
  const stamp = join(build, '.loraflow-setup-stamp');
  if (stampMatches(stamp, hash) && existsSync(join(build, 'loraflow-engine'))) return 'up-to-date';
  log('building the native engine (native/build)');
  run('cmake', ['-S', src, '-B', build, '-G', 'Ninja', '-DCMAKE_BUILD_TYPE=Release']);
  run('cmake', ['--build', build, '-j', String(Math.max(1, Math.min(4, process.env.JOBS | 0 || 2)))]);
  writeStamp(stamp, hash);
  return 'built';
}

export function ensureClient() {
  const dir = join(root, 'client');
  if (!existsSync(join(dir, 'index.html'))) return;
  const files = listFiles(
    dir,
    (_p, e) => e.isDirectory() && (e.name === 'dist' || e.name === 'node_modules'),
  );
  const hash = hashFiles([...files, join(root, 'package-lock.json')]);
  const stamp = join(dir, 'dist', '.loraflow-setup-stamp');
  if (stampMatches(stamp, hash)) return;
  log('building the editor (client/dist)');
  run('npx', ['vite', 'build', '--config', 'client/vite.config.ts', '--logLevel', 'warn']);
  writeStamp(stamp, hash);
}

/**
 * The quickstart's concept images (`data/datasets/loraflow-demo/concept`), generated once for `npm start` in the
 * default data folder, so the quickstart workflow runs as soon as the editor opens. Skipped when the user points
 * the data folder elsewhere ($LORAFLOW_DATA) or the folder already exists.
 */
export function ensureDemoData() {
  if (process.env.LORAFLOW_DATA) return;
  const out = join(root, 'data', 'datasets', 'loraflow-demo');
  if (existsSync(join(out, 'concept'))) return;
  log('writing the quickstart demo images (data/datasets/loraflow-demo)');
  run(process.execPath, ['--import', 'tsx', 'scripts/demo/makeDemoData.ts', '--out', out, '--count', '0']);
}

const runDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runDirectly) {
  ensureDebianPackages();
  ensureNodeModules();
  ensureNativeEngine();
  ensureClient();
  if (!forTests) ensureDemoData();
  const ms = Date.now() - started;
  if (ms > 500) log(`ready in ${(ms / 1000).toFixed(1)} s`);
}
