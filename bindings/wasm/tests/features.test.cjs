// The everyday features of the package against a fresh chinwag-server, through the official API names.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { PKG, startServer, until, next } = require('./harness.cjs');

const { Realtime, TextMessage, TypedMessage, Event, MessageStatus, RealtimeError } = require(PKG);

async function setup(t) {
  const server = await startServer();
  const a = new Realtime({ appId: 'npm-app', appKey: 'npm-key', RTMServers: server.ws });
  const b = new Realtime({ appId: 'npm-app', appKey: 'npm-key', RTMServers: [server.ws] });
  t.after(async () => {
    await Promise.all([a.close(), b.close()]);
    await server.stop();
  });
  return { server, a, b };
}

test('Event has the official string values', () => {
  assert.equal(Event.MESSAGE, 'message');
  assert.equal(Event.MEMBERS_JOINED, 'membersjoined');
  assert.equal(Event.UNREAD_MESSAGES_COUNT_UPDATE, 'unreadmessagescountupdate');
  assert.equal(Event.MESSAGE_RECALL, 'messagerecall');
  assert.equal(Object.keys(Event).length, 31);
});

test('send, receive, query, history, read, recall, update, membership', async (t) => {
  const { a, b } = await setup(t);
  const tom = await a.createIMClient('Tom');
  assert.equal(await a.createIMClient('Tom'), tom, 'same id, same client');
  const jerry = await b.createIMClient('Jerry');
  assert.deepEqual(await tom.ping(['Jerry', 'Nobody']), ['Jerry'], 'who is online');

  const conv = await tom.createConversation({ members: ['Jerry'], name: 'Tom & Jerry', color: 'blue' });
  assert.deepEqual(conv.members, ['Jerry', 'Tom']);
  assert.equal(conv.name, 'Tom & Jerry');
  assert.equal(conv.get('color'), 'blue');
  const again = await tom.createConversation({ members: ['Jerry'], name: 'Tom & Jerry' });
  assert.equal(again.id, conv.id, 'unique by default');

  // Live message, on the client (with the conversation) and on the conversation.
  const onClient = next(jerry, Event.MESSAGE);
  const sent = await conv.send(new TextMessage('Hi, Jerry.'));
  assert.ok(sent instanceof TextMessage);
  assert.equal(typeof sent.id, 'string');
  assert.ok(sent.timestamp instanceof Date);
  assert.equal(sent.from, 'Tom');
  assert.equal(sent.status, MessageStatus.SENT);
  const [message, where] = await onClient;
  assert.equal(message.text, 'Hi, Jerry.');
  assert.equal(message.id, sent.id);
  assert.equal(message.from, 'Tom');
  assert.equal(+message.timestamp, +sent.timestamp);
  assert.equal(where.id, conv.id);
  const jerrysConv = await jerry.getConversation(conv.id);
  assert.equal(jerrysConv, where, 'one object per conversation');
  assert.equal(+jerrysConv.lastMessageAt, +sent.timestamp);
  const onConv = next(jerrysConv, Event.MESSAGE);
  await conv.send(new TextMessage('Second'));
  assert.equal((await onConv)[0].text, 'Second');

  // Unread counts and read.
  await until(() => jerrysConv.unreadMessagesCount === 2, 'two unread');
  await jerrysConv.read();
  assert.equal(jerrysConv.unreadMessagesCount, 0);

  // Query and history.
  const found = await jerry.getQuery().containsMembers(['Tom']).find();
  assert.deepEqual(found.map((c) => c.id), [conv.id]);
  const history = await jerrysConv.queryMessages({ limit: 10 });
  assert.deepEqual(history.map((m) => m.text), ['Hi, Jerry.', 'Second']);
  const older = await jerrysConv.queryMessages({ beforeTime: history[1].timestamp, beforeMessageId: history[1].id, limit: 10 });
  assert.deepEqual(older.map((m) => m.text), ['Hi, Jerry.']);

  // Update (edit) and recall, seen by the other side.
  const updated = next(jerry, Event.MESSAGE_UPDATE);
  const edited = await conv.update(sent, new TextMessage('Hi, Jerry!'));
  assert.equal(edited.text, 'Hi, Jerry!');
  const [changed, changedIn] = await updated;
  assert.equal(changed.text, 'Hi, Jerry!');
  assert.equal(changedIn.id, conv.id);
  const recalled = next(jerrysConv, Event.MESSAGE_RECALL);
  const gone = await conv.recall(sent);
  assert.equal(gone.type, -127);
  assert.equal((await recalled)[0].id, sent.id);

  // Membership: add, remove, join, quit, with events on both sides.
  const spike = await a.createIMClient('Spike');
  const joined = next(jerry, Event.MEMBERS_JOINED);
  const invited = next(spike, Event.INVITED);
  const added = await conv.add(['Spike']);
  assert.deepEqual(added.successfulClientIds, ['Spike']);
  const [payload, inConv] = await joined;
  assert.deepEqual(payload.members, ['Spike']);
  assert.equal(payload.invitedBy, 'Tom');
  assert.equal(inConv.id, conv.id);
  assert.equal((await invited)[0].invitedBy, 'Tom');
  assert.deepEqual(conv.members, ['Jerry', 'Spike', 'Tom']);
  const kicked = next(spike, Event.KICKED);
  await conv.remove(['Spike']);
  assert.equal((await kicked)[0].kickedBy, 'Tom');
  assert.deepEqual(conv.members, ['Jerry', 'Tom']);
  const spikesView = await spike.getConversation(conv.id, true);
  await spikesView.join();
  assert.ok(spikesView.members.includes('Spike'));
  const left = next(conv, Event.MEMBERS_LEFT);
  await spikesView.quit();
  assert.deepEqual((await left)[0].members, ['Spike']);

  // Attributes.
  const info = next(jerrysConv, Event.INFO_UPDATED);
  await conv.set('name', 'Renamed').save();
  assert.equal((await info)[0].attributes.name, 'Renamed');
  await until(() => jerrysConv.name === 'Renamed', 'name on the other side');

  // Custom typed messages travel as they are.
  class Poke extends TypedMessage {}
  Poke.TYPE = 7;
  a.register(Poke);
  b.register(Poke);
  const poked = next(jerry, Event.MESSAGE);
  await conv.send(new Poke().setAttributes({ strength: 3 }));
  const [poke] = await poked;
  assert.ok(poke instanceof Poke);
  assert.deepEqual(poke.getAttributes(), { strength: 3 });
});

test('errors are JS errors with code and name', async (t) => {
  const { a, b } = await setup(t);
  const tom = await a.createIMClient('Tom');
  await b.createIMClient('Jerry');
  const conv = await tom.createConversation({ members: ['Jerry'] });
  await conv.quit();
  await assert.rejects(conv.send(new TextMessage('not a member')), (error) => {
    assert.ok(error instanceof Error);
    assert.ok(error instanceof RealtimeError);
    assert.equal(typeof error.code, 'number');
    assert.ok(error.code >= 4000, `code ${error.code}`);
    assert.match(error.name, /^[A-Z_]+$/);
    assert.equal(error.message, error.detail ? `${error.name}: ${error.detail}` : `${error.code} ${error.name}`);
    return true;
  });
  // A server error without a reason is named after its code (the wasm sends the reason as is).
  for (const [code, name] of [[4401, 'INVALID_MESSAGING_TARGET'], [4115, 'KICKED_BY_APP'], [4999, 'UNKNOWN_ERROR']]) {
    const error = new RealtimeError({ code, name: '' });
    assert.deepEqual([error.name, error.message], [name, `${code} ${name}`]);
  }
  assert.equal(new RealtimeError({ code: 4401, name: 'NOPE', detail: 'why' }).message, 'NOPE: why');
  await tom.close();
  await assert.rejects(conv.send(new TextMessage('closed')), (error) => {
    assert.equal(error.code, 4105);
    assert.equal(error.name, 'SESSION_REQUIRED');
    return true;
  });
});

test('without RTMServers the WebSocket URL comes from the RTM router', { timeout: 30000 }, async (t) => {
  const server = await startServer();
  const realtime = new Realtime({ appId: 'npm-app', appKey: 'npm-key', server: server.http });
  t.after(async () => {
    await realtime.close();
    await server.stop();
  });
  const tom = await realtime.createIMClient('Tom');
  const conv = await tom.createConversation({ members: ['Jerry'] });
  assert.equal(typeof conv.id, 'string');
});
