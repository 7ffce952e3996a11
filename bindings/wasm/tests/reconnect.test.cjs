// The server restarts (same port and data): clients reconnect by themselves, nothing is lost or doubled.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { PKG, startServer, until, next } = require('./harness.cjs');

const { Realtime, TextMessage, Event } = require(PKG);

test('reconnect after a server restart: no lost or duplicated messages', async (t) => {
  let server = await startServer();
  const options = { appId: 'npm-app', appKey: 'npm-key', RTMServers: server.ws };
  const a = new Realtime(options);
  const b = new Realtime(options);
  t.after(async () => {
    await Promise.all([a.close(), b.close()]);
    await server.stop();
  });
  const tom = await a.createIMClient('Tom');
  const jerry = await b.createIMClient('Jerry');
  const conv = await tom.createConversation({ members: ['Jerry'] });
  const got = [];
  jerry.on(Event.MESSAGE, (m) => got.push(m.text));
  for (let i = 0; i < 5; i += 1) await conv.send(new TextMessage(`before ${i}`));
  await until(() => got.length === 5, 'five messages before the restart');

  const disconnected = next(tom, Event.DISCONNECT);
  await server.stop();
  await disconnected;
  // Sent while the server is down: queued by the core, sent after re-login.
  const queued = [0, 1, 2].map((i) => conv.send(new TextMessage(`offline ${i}`)));
  const reconnected = Promise.all([next(tom, Event.RECONNECT, 20000), next(jerry, Event.RECONNECT, 20000)]);
  server = await startServer({ listen: server.host, dataDir: server.dataDir });
  await reconnected;
  const sent = await Promise.all(queued);
  assert.ok(sent.every((m) => typeof m.id === 'string'));
  for (let i = 0; i < 5; i += 1) await conv.send(new TextMessage(`after ${i}`));
  const expected = [0, 1, 2, 3, 4].map((i) => `before ${i}`)
    .concat([0, 1, 2].map((i) => `offline ${i}`), [0, 1, 2, 3, 4].map((i) => `after ${i}`));
  await until(() => got.length >= expected.length, 'every message', 20000);
  await new Promise((r) => setTimeout(r, 300)); // a duplicate would arrive now
  assert.deepEqual(got, expected);
  const history = await conv.queryMessages({ limit: 100 });
  assert.deepEqual(history.map((m) => m.text), expected, 'stored once each');
});

test("a window's offline and online events take the connection down and back up", { timeout: 30000 }, async (t) => {
  const server = await startServer();
  // As in a browser: the package listens on `window` while it has a connection.
  const window = new EventTarget();
  globalThis.window = window;
  const a = new Realtime({ appId: 'npm-app', appKey: 'npm-key', RTMServers: server.ws });
  t.after(async () => {
    delete globalThis.window;
    await a.close();
    await server.stop();
  });
  const tom = await a.createIMClient('Tom');
  const offline = next(tom, Event.OFFLINE);
  window.dispatchEvent(new globalThis.Event('offline'));
  await offline;
  const online = next(tom, Event.ONLINE);
  window.dispatchEvent(new globalThis.Event('online'));
  await online;
  const conv = await tom.createConversation({ members: ['Jerry'] });
  assert.equal(typeof conv.id, 'string', 'requests work again');
});
