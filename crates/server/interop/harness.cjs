// Starts the chinwag-server binary and builds official SDK clients pointed at it.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const shared = require('../../../testing/node-harness.cjs');

const { next } = shared;

/** Starts a server on a free port with a fresh data dir (plus `args`); resolves once it listens. */
function startServer({ dataDir, listen, masterKey, requireSignatures = Boolean(masterKey), args = [] } = {}) {
  // v5 allows one Realtime per app id per process, so every `realtime()` gets its own app id and
  // the server is told to accept any (sessions, tokens and signatures stay tied to the app id used).
  // Most interop tests that give a master key are about signatures, so requiring them is the default.
  return shared.startServer({
    dataDir,
    listen,
    masterKey,
    requireSignatures,
    args: ['--app-id', 'interop-app', '--app-key', 'interop-key', '--allow-any-app-id', ...args],
    tmpPrefix: 'chinwag-interop-',
  });
}

const SDKS = {
  lc4: require('lc4'),
  lc5: require('lc5'),
};

let instances = 0;

/** A `Realtime` of SDK `name` ('lc4' | 'lc5') pointed at `server`; `extra` options override. */
function realtime(name, server, extra = {}) {
  const sdk = SDKS[name];
  instances += 1;
  // v5 allows one Realtime per app id per process, so each instance gets its own app id (the
  // server runs with --allow-any-app-id).
  const base = { appId: `interop-${name}-${instances}`, appKey: 'interop-key', RTMServers: server.ws };
  if (name === 'lc5') base.server = server.http;
  return new sdk.Realtime({ ...base, ...extra });
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
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return certificate;
}

/** The axios instance leancloud-realtime 4.3.1 makes its REST calls with. */
const lc4Axios = require(require.resolve('axios', { paths: [path.dirname(require.resolve('lc4'))] }));
// 4.3.1 logs a failed call as "Cannot read properties of undefined (reading 'status')" when there was
// no HTTP answer at all (TLS, proxy, refused): say what the transport said.
lc4Axios.interceptors.response.use(undefined, (error) => {
  if (!error.response) console.error(`4.3.1 REST call without an answer: ${error.code} ${error.message}`);
  throw error;
});
// axios 0.18 sends even 127.0.0.1 through an `https_proxy` of the environment and reads no `no_proxy`.
lc4Axios.defaults.proxy = false;

/**
 * An https:// and wss:// front for `server`, as an operator puts a TLS proxy before the server
 * (4.3.1 calls REST only over https). Like nginx or Caddy set up for it, it tells the server with
 * `X-Forwarded-Proto: https`, and passes WebSocket upgrades through. This process's https requests
 * trust the front's certificate (`ws` connections need it passed: `cert`). Resolves with
 * `{host, cert, upgrades(), close()}`, `upgrades()` counting the WebSocket connections it carried.
 */
function httpsFront(server) {
  const { key, cert } = selfSigned();
  // Not `defaults.httpsAgent`: axios 0.18 deep-copies defaults, which turns an Agent into a plain object.
  https.globalAgent.options.ca = cert;
  const target = new URL(server.http);
  const forwarded = (headers) => ({ ...headers, 'x-forwarded-proto': 'https' });
  const front = https.createServer({ key, cert }, (request, response) => {
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: request.method, path: request.url, headers: forwarded(request.headers) },
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
  let upgrades = 0;
  const tunnels = new Set();
  front.on('upgrade', (request, socket, head) => {
    upgrades += 1;
    const upstream = net.connect(Number(target.port), target.hostname, () => {
      const lines = [`${request.method} ${request.url} HTTP/1.1`];
      for (let n = 0; n < request.rawHeaders.length; n += 2) lines.push(`${request.rawHeaders[n]}: ${request.rawHeaders[n + 1]}`);
      lines.push('X-Forwarded-Proto: https');
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    for (const end of [socket, upstream]) {
      tunnels.add(end);
      end.on('error', () => { socket.destroy(); upstream.destroy(); });
      end.on('close', () => { tunnels.delete(end); socket.destroy(); upstream.destroy(); });
    }
  });
  return new Promise((resolve) => {
    front.listen(0, '127.0.0.1', () => resolve({
      host: `127.0.0.1:${front.address().port}`,
      cert,
      upgrades: () => upgrades,
      close: () => {
        for (const end of tunnels) end.destroy();
        front.closeAllConnections();
        return new Promise((done) => front.close(done));
      },
    }));
  });
}

/**
 * v5 adapters (`setAdapters`) that trust `front`'s certificate, as a deployment's CA would be
 * trusted: `ws` and v5's superagent requests do not read `https.globalAgent`'s CA list.
 */
function trustingAdapters(front) {
  const PlainWebSocket = SDKS.lc5.getAdapter('WebSocket');
  class WebSocket extends PlainWebSocket {
    constructor(url, protocols) {
      super(url, protocols, { ca: front.cert });
    }
  }
  // The shape of @leancloud/platform-adapters-node's request: `{ok, status, headers, data}`.
  const request = (url, { method = 'GET', data, headers = {} } = {}) => new Promise((resolve, reject) => {
    const body = data === undefined ? undefined : JSON.stringify(data);
    const sent = https.request(url, { method, headers: { 'Content-Type': 'application/json', ...headers }, ca: front.cert }, (answer) => {
      let text = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk) => { text += chunk; });
      answer.on('end', () => {
        let parsed = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON: kept as text */ }
        resolve({ ok: answer.statusCode < 400, status: answer.statusCode, headers: answer.headers, data: parsed });
      });
    });
    sent.on('error', reject);
    sent.end(body);
  });
  return { WebSocket, request };
}

module.exports = { startServer, realtime, next, httpsFront, trustingAdapters, SDKS };
