// A tiny static server for the web-chat page: the page from this folder, the npm package `chinwag`
// (built by `cargo xtask wasm`) under /chinwag/, and /config.json naming the chat server.
//
//   node examples/web-chat/serve.cjs [--port 8080] [--server ws://127.0.0.1:8282/]
'use strict';

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css',
  '.wasm': 'application/wasm', '.json': 'application/json', '.png': 'image/png' };

/** Starts the static server; resolves to `{url, close}`. */
function serve({ port = 0, server = 'ws://127.0.0.1:8282/', pkg } = {}) {
  const root = __dirname;
  const pkgDir = pkg || path.resolve(__dirname, '../../target/npm/chinwag');
  const handler = (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (url.pathname === '/config.json') {
      res.writeHead(200, { 'content-type': TYPES['.json'] });
      res.end(JSON.stringify({ server }));
      return;
    }
    let file;
    if (url.pathname.startsWith('/chinwag/')) file = path.join(pkgDir, url.pathname.slice('/chinwag/'.length));
    else file = path.join(root, url.pathname === '/' ? 'index.html' : url.pathname);
    const base = url.pathname.startsWith('/chinwag/') ? pkgDir : root;
    if (!path.resolve(file).startsWith(path.resolve(base)) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404);
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  };
  const httpServer = http.createServer(handler);
  return new Promise((resolve) => {
    httpServer.listen(port, '127.0.0.1', () => {
      const { port: bound } = httpServer.address();
      resolve({ url: `http://127.0.0.1:${bound}/`, close: () => new Promise((r) => httpServer.close(r)) });
    });
  });
}

module.exports = { serve };

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  serve({ port: Number(opt('--port', 8080)), server: opt('--server', 'ws://127.0.0.1:8282/') })
    .then(({ url }) => console.log(`web-chat: ${url}`));
}
