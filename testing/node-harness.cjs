// What the Node test suites share (the npm package's `bindings/wasm/tests` and the server's
// `crates/server/interop`): starting a fresh chinwag-server binary and waiting for events.
// Node built-ins only, so each suite keeps its own package.json and lockfile.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** The workspace root. */
const ROOT = path.resolve(__dirname, '..');
/** Cargo's target directory (`CARGO_TARGET_DIR`, relative to the root, or `target`). */
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target');
/** The server binary (`CHINWAG_SERVER_BIN`, or the debug build). */
const BIN = process.env.CHINWAG_SERVER_BIN || path.join(TARGET, 'debug/chinwag-server');

/** Data dirs this process made; removed when it exits (a restarted server reuses its dir until then). */
const madeDirs = new Set();
process.on('exit', () => {
  for (const dir of madeDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new empty data dir under the system temp dir, removed when this process exits. */
function madeDataDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.add(dir);
  return dir;
}

/**
 * Starts the server on a free port (or `listen`) with a fresh data dir (or `dataDir`, else a new one
 * named `tmpPrefix…`, removed when this process exits) and the extra `args`; with `masterKey` it
 * requires signatures (HMAC-SHA1 under that key) for sign-in and membership changes unless
 * `requireSignatures` is false. Resolves once it listens with `{host, ws, http, dataDir, log(),
 * stop()}`; `stop()` sends `stopSignal`.
 */
function startServer({
  dataDir,
  listen = '127.0.0.1:0',
  masterKey,
  requireSignatures = Boolean(masterKey),
  args: extraArgs = [],
  tmpPrefix = 'chinwag-test-',
  stopSignal = 'SIGTERM',
} = {}) {
  const dir = dataDir || madeDataDir(tmpPrefix);
  const args = ['--listen', listen, '--data-dir', dir];
  if (masterKey) args.push('--master-key', masterKey);
  if (requireSignatures) args.push('--require-signatures');
  args.push(...extraArgs);
  const child = spawn(BIN, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info' },
  });
  let log = '';
  const exited = new Promise((done) => child.on('exit', (code, signal) => done(code ?? signal)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 20000);
    exited.then((code) => reject(new Error(`server exited with ${code}:\n${log}`)));
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const match = /listening \(ws:\/\/([\d.]+:\d+)\/\)/.exec(log);
      if (match) {
        clearTimeout(timer);
        const host = match[1];
        resolve({
          host,
          ws: `ws://${host}/`,
          http: `http://${host}`,
          dataDir: dir,
          log: () => log,
          stop: () => {
            child.kill(stopSignal);
            return exited;
          },
        });
      }
    });
  });
}

/** Resolves when `predicate()` holds, polling; rejects after `ms`. */
async function until(predicate, what, ms = 10000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Resolves with the arguments of the next `event` of `emitter`; rejects after `ms`. */
function next(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within ${ms} ms`)), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

module.exports = { ROOT, TARGET, BIN, startServer, until, next };
