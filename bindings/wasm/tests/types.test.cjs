// The package's TypeScript types compile a strict program written against the official API.
'use strict';

const test = require('node:test');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { PKG } = require('./harness.cjs');

test('index.d.ts types the leancloud-realtime API under --strict', () => {
  // Point `chinwag` at the built package's types (wherever CHINWAG_PKG / CARGO_TARGET_DIR put it).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chinwag-types-'));
  fs.copyFileSync(path.join(__dirname, 'types/usage.ts'), path.join(dir, 'usage.ts'));
  const config = JSON.parse(fs.readFileSync(path.join(__dirname, 'types/tsconfig.json'), 'utf8'));
  config.compilerOptions.paths.chinwag = [path.join(PKG, 'index.d.ts')];
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config));
  const tsc = path.join(__dirname, 'node_modules/typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', dir], { stdio: 'inherit' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
