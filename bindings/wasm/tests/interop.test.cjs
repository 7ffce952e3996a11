// The chinwag npm client and the official leancloud-realtime 4.3.1 client in one conversation.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { ROOT, PKG, startServer, next } = require('./harness.cjs');

const chinwag = require(PKG);
// Installed by the server interop tier (crates/server/interop/package.json).
const official = require(path.join(ROOT, 'crates/server/interop/node_modules/lc4'));

test('chinwag and the official SDK chat in one conversation', async (t) => {
  const server = await startServer();
  const ours = new chinwag.Realtime({ appId: 'npm-app', appKey: 'npm-key', RTMServers: server.ws });
  const theirs = new official.Realtime({ appId: 'npm-app', appKey: 'npm-key', RTMServers: server.ws });
  const jerry = await theirs.createIMClient('Jerry');
  t.after(async () => {
    await ours.close();
    await jerry.close();
    await server.stop();
  });
  const tom = await ours.createIMClient('Tom');

  // chinwag creates, the official client receives.
  const invited = next(jerry, official.Event.INVITED);
  const conv = await tom.createConversation({ members: ['Jerry'], name: 'mixed' });
  await invited;
  const toJerry = next(jerry, official.Event.MESSAGE);
  await conv.send(new chinwag.TextMessage('from chinwag'));
  const [m1, c1] = await toJerry;
  assert.equal(m1.text, 'from chinwag');
  assert.equal(m1.from, 'Tom');
  assert.equal(c1.id, conv.id);

  // The official client answers; chinwag receives, on the client and on the conversation.
  const toTom = next(tom, chinwag.Event.MESSAGE);
  const onConv = next(conv, chinwag.Event.MESSAGE);
  const theirConv = await jerry.getConversation(conv.id);
  const reply = await theirConv.send(new official.TextMessage('from the official SDK'));
  const [m2, c2] = await toTom;
  assert.equal(m2.text, 'from the official SDK');
  assert.equal(m2.id, reply.id);
  assert.equal(c2, conv);
  assert.equal((await onConv)[0].id, reply.id);

  // Membership made by the official client shows up as chinwag events.
  const joined = next(tom, chinwag.Event.MEMBERS_JOINED);
  await theirConv.add(['Mary']);
  const [payload, where] = await joined;
  assert.deepEqual(payload.members, ['Mary']);
  assert.equal(payload.invitedBy, 'Jerry');
  assert.equal(where, conv);
  assert.deepEqual(conv.members, ['Jerry', 'Mary', 'Tom']);

  // Both see the same history.
  const ourHistory = await conv.queryMessages({ limit: 10 });
  const theirHistory = await theirConv.queryMessages({ limit: 10 });
  assert.deepEqual(ourHistory.map((m) => m.id), theirHistory.map((m) => m.id));
});
