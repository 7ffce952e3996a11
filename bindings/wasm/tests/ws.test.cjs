// Without Node's experimental global WebSocket, the package falls back to the `ws` package.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const { PKG, startServer } = require('./harness.cjs');

test('Node without a global WebSocket uses the ws package', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const script = `
    if (typeof WebSocket !== 'undefined') throw new Error('expected no global WebSocket');
    const { Realtime, TextMessage } = require(${JSON.stringify(PKG)});
    (async () => {
      const realtime = new Realtime({ appId: 'npm-app', appKey: 'npm-key', RTMServers: ${JSON.stringify(server.ws)} });
      const tom = await realtime.createIMClient('Tom');
      const conv = await tom.createConversation({ members: ['Jerry'] });
      const sent = await conv.send(new TextMessage('over ws'));
      console.log(globalThis.WebSocket === require('ws'), typeof sent.id);
      await realtime.close();
    })().catch((e) => { console.error(e); process.exit(1); });`;
  // No --experimental-websocket here; `ws` resolves from this folder's node_modules.
  const out = execFileSync(process.execPath, ['-e', script], { cwd: __dirname, encoding: 'utf8', timeout: 20000,
    env: { ...process.env, NODE_PATH: require('node:path').join(__dirname, 'node_modules') } });
  assert.equal(out.trim(), 'true string');
});
