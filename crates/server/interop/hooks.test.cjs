// chinwag-server calling a LeanEngine app's IM hooks, written with the official `leanengine` SDK
// (engine.cjs), while the official leancloud-realtime clients chat through the server.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { startServer, realtime, next, SDKS } = require('./harness.cjs');
const { until } = require('../../../testing/node-harness.cjs');

const MASTER_KEY = 'hooks-master';
const HOOK_KEY = 'hooks-hook-key';

/** Starts engine.cjs; resolves with `{url, seen(), stop()}` once it listens. */
function startEngine() {
  const child = spawn(process.execPath, [path.join(__dirname, 'engine.cjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, APP_ID: 'interop-app', APP_KEY: 'interop-key', MASTER_KEY, HOOK_KEY },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`engine did not start: ${out}`)), 20000);
    child.on('exit', (code) => reject(new Error(`engine exited with ${code}: ${out}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /engine listening on (\d+)/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      const url = `http://127.0.0.1:${match[1]}`;
      resolve({
        url,
        seen: async () => (await fetch(`${url}/seen`)).json(),
        stop: () => child.kill(),
      });
    });
  });
}

describe('LeanEngine IM hooks (official leanengine 3.8.0)', () => {
  let engine;
  let server;
  const clients = [];

  before(async () => {
    engine = await startEngine();
    server = await startServer({
      masterKey: MASTER_KEY,
      requireSignatures: false,
      args: ['--engine-url', engine.url, '--hook-key', HOOK_KEY],
    });
  });
  after(async () => {
    await Promise.allSettled(clients.map((c) => Promise.race([c.close(), new Promise((r) => setTimeout(r, 2000).unref())])));
    const code = await server.stop();
    engine.stop();
    assert.equal(code, 0, `server exit code; log:\n${server.log()}`);
  });

  for (const name of ['lc4', 'lc5']) {
    const { Event, TextMessage } = SDKS[name];
    const version = { lc4: '4.3.1', lc5: '5.0.0-rc.8' }[name];

    it(`filters, drops and refuses as the hooks say, with ${version} clients`, async () => {
      const login = async (id) => {
        const client = await realtime(name, server).createIMClient(id);
        clients.push(client);
        return client;
      };
      const [tomId, jerryId] = [`Tom-${name}`, `Jerry-${name}`];
      const tom = await login(tomId);
      const jerry = await login(jerryId);
      const conv = await tom.createConversation({ members: [jerryId], name: 'hooked' });

      // _messageReceived changes the content on its way: Jerry gets, and history keeps, the new one.
      const received = next(jerry, Event.MESSAGE);
      const sent = await conv.send(new TextMessage('well darn it'));
      const [message] = await received;
      assert.equal(message.text, 'well **** it');
      assert.equal(message.id, sent.id);

      // ... or drops it: the send fails with 4402 and the app's own code, and nobody gets it.
      await assert.rejects(conv.send(new TextMessage('cheap spam')), (error) => {
        assert.equal(error.code, 4402);
        assert.equal(error.appCode, 1234);
        return true;
      });
      const history = await conv.queryMessages({ limit: 10 });
      assert.deepEqual(history.map((m) => m.text), ['well **** it']);

      // _messageUpdate filters edits the same way.
      const updated = next(jerry, Event.MESSAGE_UPDATE);
      await conv.update(sent, new TextMessage('darn, edited'));
      assert.equal((await updated)[0].text, '****, edited');

      // _conversationUpdate refuses a rename with 4305 and the app's code.
      conv.name = 'Forbidden';
      await assert.rejects(conv.save(), (error) => {
        assert.equal(error.code, 4305);
        assert.equal(error.appCode, 4323);
        return true;
      });

      // _conversationStart and _conversationAdd refuse with 4305 and the app's code.
      await assert.rejects(tom.createConversation({ members: [jerryId], name: 'Forbidden' }), (error) => {
        assert.equal(error.code, 4305);
        assert.equal(error.appCode, 4321);
        return true;
      });
      await assert.rejects(conv.add(['Intruder']), (error) => {
        assert.equal(error.code, 4305);
        assert.equal(error.appCode, 4322);
        return true;
      });
      assert.deepEqual([...conv.members].sort(), [jerryId, tomId].sort());

      // The notifying hooks heard of it all, with LeanCloud's parameters.
      let seen;
      await until(async () => {
        seen = await engine.seen();
        return (seen._messageSent || []).some((p) => p.msgId === sent.id);
      }, '_messageSent');
      const asked = seen._messageReceived.find((p) => p.fromPeer === tomId && p.content.includes('darn'));
      assert.equal(asked.convId, conv.id);
      assert.deepEqual(asked.toPeers, [jerryId]);
      assert.equal(asked.transient, false);
      assert.match(asked.__sign, /^\d+,[0-9a-f]{40}$/);
      assert.equal(asked.sourceIP, '127.0.0.1');
      const told = seen._messageSent.find((p) => p.msgId === sent.id);
      assert.deepEqual([told.fromPeer, told.convId, told.onlinePeers], [tomId, conv.id, [jerryId]]);
      assert.ok(JSON.parse(told.content)._lctext === 'well **** it');
      assert.ok(seen._conversationStarted.some((p) => p.convId === conv.id));
      assert.ok(seen._clientOnline.some((p) => p.peerId === tomId));
      const started = seen._conversationStart.find((p) => p.initBy === tomId && p.attr.name === 'hooked');
      assert.deepEqual([...started.members].sort(), [jerryId, tomId].sort());
    });
  }

  it('tells _receiversOffline who was offline, and _clientOffline who left', async () => {
    const { TextMessage } = SDKS.lc5;
    const tom = await realtime('lc5', server).createIMClient('Tom-offline');
    const conv = await tom.createConversation({ members: ['Nobody-online'] });
    await conv.send(new TextMessage('are you there?'));
    await tom.close();
    let seen;
    await until(async () => {
      seen = await engine.seen();
      return (seen._clientOffline || []).some((p) => p.peerId === 'Tom-offline');
    }, '_clientOffline');
    const offline = seen._receiversOffline.find((p) => p.fromPeer === 'Tom-offline');
    assert.deepEqual([offline.convId, offline.offlinePeers], [conv.id, ['Nobody-online']]);
    assert.equal(seen._clientOffline.find((p) => p.peerId === 'Tom-offline').closeCode, 1);
  });
});
