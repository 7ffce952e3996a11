// Helpers of the npm package tests: start a fresh chinwag-server serving the tests' apps, load the
// built package. The server start itself is shared with the server's interop suite.
'use strict';

const path = require('node:path');
const shared = require('../../../testing/node-harness.cjs');

const { ROOT, TARGET, until, next } = shared;
/** The built npm package (`cargo xtask wasm`). */
const PKG = process.env.CHINWAG_PKG || path.join(TARGET, 'npm/chinwag');

/**
 * Starts a server on a free port (or `listen`) with a fresh data dir (or `dataDir`); with `masterKey`
 * it requires signatures (HMAC-SHA1 under that key) for sign-in and membership changes; `args` are
 * more flags (e.g. `--session-ttl-secs`).
 */
function startServer({ dataDir, listen, masterKey, args = [] } = {}) {
  // The server checks app ids: besides the tests' own app, it serves the seed guide's app id (the guide's code
  // runs unchanged), the web-chat page's default (a plain `cargo run -p chinwag-server` serves it) and the benchmark's.
  const apps = ['x7WmVG0x63V6u8MCYM8qxKo8-gzGzoHsz', 'chinwag-local', 'bench'].join(',');
  return shared.startServer({
    dataDir,
    listen,
    masterKey,
    args: ['--app-id', 'npm-app', '--app-key', 'npm-key', '--other-app-ids', apps, ...args],
    tmpPrefix: 'chinwag-npm-',
    stopSignal: 'SIGKILL',
  });
}

/**
 * Starts a server (`serverOptions` as [`startServer`]) for test `t` and returns it with `realtime(options)`,
 * which makes a `Realtime` of the tests' app pointed at it; after the test, every such `Realtime` is
 * closed and the server stopped.
 */
async function serverWithRealtimes(t, serverOptions) {
  const { Realtime } = require(PKG);
  const server = await startServer(serverOptions);
  const realtimes = [];
  const realtime = (options = {}) => {
    const r = new Realtime({ appId: 'npm-app', appKey: 'npm-key', RTMServers: server.ws, ...options });
    realtimes.push(r);
    return r;
  };
  t.after(async () => {
    await Promise.all(realtimes.map((r) => r.close()));
    await server.stop();
  });
  return { server, realtime };
}

/**
 * What an app server's signing endpoint computes: `signed((timestamp, nonce) => text)` is
 * `{signature, timestamp, nonce}` with the HMAC-SHA1 of the text under `masterKey` (the official
 * signing demo's scheme), a fresh nonce and the current time in seconds.
 */
function signer(masterKey) {
  const crypto = require('node:crypto');
  return (text) => {
    const timestamp = Math.floor(Date.now() / 1000);
    const nonce = crypto.randomUUID();
    const signature = crypto.createHmac('sha1', masterKey).update(text(timestamp, nonce)).digest('hex');
    return { signature, timestamp, nonce };
  };
}

module.exports = { ROOT, PKG, startServer, serverWithRealtimes, signer, until, next };
