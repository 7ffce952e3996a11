// Shared helpers of the npm package tests: start a fresh chinwag-server, load the built package.
'use strict';

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../../..');
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target');
const BIN = process.env.CHINWAG_SERVER_BIN || path.join(TARGET, 'debug/chinwag-server');
/** The built npm package (`cargo xtask wasm`). */
const PKG = process.env.CHINWAG_PKG || path.join(TARGET, 'npm/chinwag');

/**
 * Starts a server on a free port (or `listen`) with a fresh data dir (or `dataDir`); with `masterKey`
 * it requires signatures (HMAC-SHA1 under that key) for sign-in and membership changes.
 */
function startServer({ dataDir, listen = '127.0.0.1:0', masterKey } = {}) {
  const dir = dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'chinwag-npm-'));
  // The server checks app ids: besides the tests' own app, it serves the seed guide's app id (the guide's code
  // runs unchanged), the web-chat page's default (a plain `cargo run -p chinwag-server` serves it) and the benchmark's.
  const apps = ['x7WmVG0x63V6u8MCYM8qxKo8-gzGzoHsz', 'chinwag-local', 'bench'].join(',');
  const args = ['--listen', listen, '--data-dir', dir, '--app-id', 'npm-app', '--app-key', 'npm-key', '--other-app-ids', apps];
  // A master key alone only enables the REST API; the tests that give one are about signatures.
  if (masterKey) args.push('--master-key', masterKey, '--require-signatures');
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
            child.kill('SIGKILL');
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

/** The next `event` of `emitter`, with its arguments. */
function next(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

module.exports = { ROOT, PKG, startServer, until, next };
