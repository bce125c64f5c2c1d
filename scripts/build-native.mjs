#!/usr/bin/env node
// `npm run build:native`: only the native part of the setup (the engine's Debian packages, then
// native/build/loraflow-engine), with the same steps and source stamp as scripts/setup.mjs.
import { ensureDebianPackages, ensureNativeEngine } from './setup.mjs';

const messages = {
  built: 'native/build/loraflow-engine built',
  'up-to-date': 'native/build/loraflow-engine is up to date with native/ (nothing to build)',
  'no-sources': 'no native/CMakeLists.txt in this checkout: nothing to build',
};

ensureDebianPackages({ tests: false });
const outcome = ensureNativeEngine();
process.stdout.write(`[build:native] ${messages[outcome]}\n`);
if (outcome === 'no-sources') process.exitCode = 1;
