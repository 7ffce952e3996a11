// Starts the chinwag-server binary and builds official SDK clients pointed at it.
'use strict';

const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../../..');
const TARGET = process.env.CARGO_TARGET_DIR ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target');
const BIN = process.env.CHINWAG_SERVER_BIN || path.join(TARGET, 'debug/chinwag-server');

/** Starts a server on a free port with a fresh data dir (plus `args`); resolves once it listens. */
function startServer({ dataDir, listen = '127.0.0.1:0', masterKey, requireSignatures = Boolean(masterKey), args: extraArgs = [] } = {}) {
  const dir = dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'chinwag-interop-'));
  // v5 allows one Realtime per app id per process, so every `realtime()` gets its own app id and
  // the server is told to accept any (sessions, tokens and signatures stay tied to the app id used).
  const args = ['--listen', listen, '--data-dir', dir, '--app-id', 'interop-app', '--app-key', 'interop-key', '--allow-any-app-id'];
  if (masterKey) args.push('--master-key', masterKey);
  // Most interop tests that give a master key are about signatures, so that is the default.
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
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
  });
}

const SDKS = {
  lc4: require('lc4'),
  lc5: require('lc5'),
};

let instances = 0;

/** A `Realtime` of SDK `name` ('lc4' | 'lc5') pointed at `server`. */
function realtime(name, server, extra = {}) {
  const sdk = SDKS[name];
  instances += 1;
  // v5 allows one Realtime per app id per process, so each instance gets its own app id (the
  // server runs with --allow-any-app-id).
  const options = { appId: `interop-${name}-${instances}`, appKey: 'interop-key', RTMServers: server.ws, ...extra };
  if (name === 'lc5') options.server = server.http;
  return new sdk.Realtime(options);
}

/** Resolves with the arguments of the next `event` of `emitter` (fails after 10 s). */
function next(emitter, event, ms = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event in ${ms} ms`)), ms);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

let certificate;

/** A self-signed certificate for 127.0.0.1 (made once per process with the openssl CLI). */
function selfSigned() {
  if (!certificate) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chinwag-tls-'));
    const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    certificate = { key: fs.readFileSync(key), cert: fs.readFileSync(cert) };
  }
  return certificate;
}

/**
 * An https:// front for `server`'s HTTP routes, as an operator puts a TLS proxy before the server:
 * 4.3.1 calls REST only over https. This process's https requests (the SDK's axios uses the global
 * agent) trust its certificate. Resolves with `{host, close()}`.
 */
function httpsFront(server) {
  const { key, cert } = selfSigned();
  https.globalAgent.options.ca = cert;
  const target = new URL(server.http);
  const front = https.createServer({ key, cert }, (request, response) => {
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', (error) => {
      response.writeHead(502);
      response.end(String(error));
    });
    request.pipe(upstream);
  });
  return new Promise((resolve) => {
    front.listen(0, '127.0.0.1', () => resolve({
      host: `127.0.0.1:${front.address().port}`,
      close: () => {
        front.closeAllConnections();
        return new Promise((done) => front.close(done));
      },
    }));
  });
}

module.exports = { startServer, realtime, next, httpsFront, SDKS };
