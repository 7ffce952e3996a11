// Starts the chinwag-server binary and builds official SDK clients pointed at it.
'use strict';

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
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
 * An https:// front for `server`'s HTTP routes, as an operator puts a TLS proxy before the server:
 * 4.3.1 calls REST only over https. This process's https requests trust the front's certificate.
 * Resolves with `{host, close()}`.
 */
function httpsFront(server) {
  const { key, cert } = selfSigned();
  // Not `defaults.httpsAgent`: axios 0.18 deep-copies defaults, which turns an Agent into a plain object.
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
