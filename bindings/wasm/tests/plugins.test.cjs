// The official `plugins` option and custom typed messages (`register`, `@messageType`,
// `@messageField`), against a fresh chinwag-server.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { PKG, serverWithRealtimes, until, next } = require('./harness.cjs');

const { Realtime, TypedMessage, TextMessage, Message, Event, messageType, messageField } = require(PKG);

const setup = (t) => serverWithRealtimes(t);

/** A custom typed message with two custom fields, as the official guide writes one. */
class LocationMessage extends TypedMessage {
  constructor(latitude, longitude) {
    super();
    this.latitude = latitude;
    this.longitude = longitude;
  }
}
messageField(['latitude', 'longitude'])(LocationMessage);
messageType(42)(LocationMessage);

/** Registered only through a plugin's `messageClasses` (no `@messageType`). */
class PokeMessage extends TypedMessage {
  static validate(content) {
    return content != null && content._lctype === 43;
  }
}
PokeMessage.TYPE = 43;
messageField('strength')(PokeMessage);

test('custom typed messages carry their @messageField fields and parse to their class', async (t) => {
  const { realtime } = await setup(t);
  const receiver = realtime();
  receiver.register(LocationMessage);
  assert.throws(() => receiver.register({}), TypeError);
  const tom = await realtime().createIMClient('Tom');
  const jerry = await receiver.createIMClient('Jerry');
  const conv = await tom.createConversation({ members: ['Jerry'] });

  const received = next(jerry, Event.MESSAGE);
  const sent = await conv.send(new LocationMessage(31.2, 121.5).setText('here'));
  assert.deepEqual(sent.getPayload(), { latitude: 31.2, longitude: 121.5, _lctype: 42, _lctext: 'here' });
  const [message] = await received;
  assert.ok(message instanceof LocationMessage);
  assert.equal(message.type, 42);
  assert.equal(message.latitude, 31.2);
  assert.equal(message.longitude, 121.5);
  assert.equal(message.text, 'here');
  // History parses to the class too.
  const [last] = await (await jerry.getConversation(conv.id)).queryMessages({ limit: 1 });
  assert.ok(last instanceof LocationMessage);
  assert.equal(last.latitude, 31.2);
});

test('plugins: messageClasses, create hooks, parse middlewares and beforeMessageDispatch', async (t) => {
  const { realtime } = await setup(t);
  const seen = { realtimes: 0, clients: [], conversations: [], before: [], after: [] };
  const plugin = {
    name: 'test-plugin',
    messageClasses: [PokeMessage],
    onRealtimeCreate: () => { seen.realtimes += 1; },
    onIMClientCreate: (client) => { seen.clients.push(client.id); },
    onConversationCreate: (conversation) => { seen.conversations.push(conversation.id); },
    // The raw payload: upper-case every text before it is parsed (async, as middlewares may be).
    beforeMessageParse: (content) => {
      seen.before.push(content._lctype);
      return Promise.resolve(content._lctext ? { ...content, _lctext: content._lctext.toUpperCase() } : content);
    },
    afterMessageParse: (message) => {
      seen.after.push(message.constructor.name);
      message.decorated = true;
      return message;
    },
    // Drops messages whose text says so.
    beforeMessageDispatch: (message) => message.text !== 'DROP ME',
  };
  const receiver = realtime({ plugins: [plugin] });
  assert.equal(seen.realtimes, 1);
  const tom = await realtime().createIMClient('Tom');
  const jerry = await receiver.createIMClient('Jerry');
  assert.deepEqual(seen.clients, ['Jerry']);
  const conv = await tom.createConversation({ members: ['Jerry'] });

  const messages = [];
  jerry.on(Event.MESSAGE, (message) => messages.push(message));
  const poke = new PokeMessage();
  poke.strength = 3;
  await conv.send(poke);
  await conv.send(new TextMessage('drop me'));
  await conv.send(new TextMessage('keep me'));
  await conv.send(new TextMessage('the end'));
  // Hooks may be async, so events are handled on a chain: wait for the last one (in wire order).
  await until(() => messages.some((m) => m.text === 'THE END'), 'the last message');

  assert.deepEqual(messages.map((m) => m.constructor.name), ['PokeMessage', 'TextMessage', 'TextMessage']);
  assert.equal(messages[0].strength, 3);
  assert.deepEqual(messages.slice(1).map((m) => m.text), ['KEEP ME', 'THE END']);
  assert.ok(messages.every((m) => m.decorated === true));
  // Every message, and also the last message of the conversation fetched for the first push
  // (whichever message was last by then), as the official SDK parses a fetched conversation's.
  assert.ok(seen.before.filter((type) => type === -1).length >= 3);
  assert.ok(seen.before.includes(43));
  assert.ok(seen.after.includes('PokeMessage'));
  assert.equal(seen.after.length, seen.before.length);
  assert.deepEqual(seen.conversations, [conv.id], 'one Conversation object, created once');
  // The dropped message is not unread, as in the official SDK: three of the four.
  const jerrysConv = await jerry.getConversation(conv.id);
  assert.equal(jerrysConv.unreadMessagesCount, 3);
  assert.equal(JSON.parse(receiver._core.conversation('Jerry', conv.id)).unreadMessagesCount, 3);

  // History goes through the parse middlewares as well.
  const history = await (await jerry.getConversation(conv.id)).queryMessages({ limit: 10 });
  assert.deepEqual(history.map((m) => m.text), [undefined, 'DROP ME', 'KEEP ME', 'THE END']);
  assert.ok(history.every((m) => m.decorated === true));
  assert.ok(history[0] instanceof PokeMessage);
});

test('a message dropped by beforeMessageDispatch is not the lastMessage, side by side with the official SDK', async (t) => {
  // The official SDK drops the message before it touches the conversation: lastMessage,
  // lastMessageAt and unreadMessagesCount stay as they were. The same plugin on both clients.
  const path = require('node:path');
  const { ROOT } = require('./harness.cjs');
  const official = require(path.join(ROOT, 'crates/server/interop/node_modules/lc4'));
  const { realtime, server } = await setup(t);
  const dropped = { ours: [], theirs: [] };
  const plugin = (who) => ({
    name: `drop-${who}`,
    beforeMessageDispatch: (message) => {
      if (!message.text.startsWith('DROP')) return true;
      dropped[who].push(message.text);
      return false;
    },
  });
  const theirs = new official.Realtime({ appId: 'npm-app', appKey: 'npm-key', RTMServers: server.ws, plugins: [plugin('theirs')] });
  const tom = await realtime().createIMClient('Tom');
  const jerry = await realtime({ plugins: [plugin('ours')] }).createIMClient('Jerry');
  const mary = await theirs.createIMClient('Mary');
  try {
    const invited = [next(jerry, Event.INVITED), next(mary, official.Event.INVITED)];
    const conv = await tom.createConversation({ members: ['Jerry', 'Mary'] });
    const [[, ours], [, their]] = await Promise.all(invited);
    const received = { ours: [], theirs: [] };
    jerry.on(Event.MESSAGE, (message) => received.ours.push(message));
    mary.on(official.Event.MESSAGE, (message) => received.theirs.push(message));
    // Both clients dropped (or received) `n` messages; the hook's answer is applied right after
    // it returns, on promise callbacks that have run once the next timer fires.
    const handled = async (n) => {
      await until(() => ['ours', 'theirs'].every((who) => dropped[who].length + received[who].length === n), `${n} messages handled`);
      await new Promise((resolve) => setTimeout(resolve, 0));
    };
    const state = (c) => ({ lastMessage: c.lastMessage && c.lastMessage.id, lastMessageAt: c.lastMessageAt ? +c.lastMessageAt : null, unread: c.unreadMessagesCount });

    // The first message of the conversation, dropped: still no last message.
    await conv.send(new TextMessage('DROP the first'));
    await handled(1);
    assert.deepEqual(state(ours), { lastMessage: undefined, lastMessageAt: null, unread: 0 });
    assert.deepEqual(state(their), state(ours));

    // A kept message, then a dropped one: the kept one stays the last message (the same object,
    // with its time), and only it is unread.
    const kept = await conv.send(new TextMessage('keep me'));
    await handled(2);
    await conv.send(new TextMessage('DROP me'));
    await handled(3);
    assert.deepEqual(dropped, { ours: ['DROP the first', 'DROP me'], theirs: ['DROP the first', 'DROP me'] });
    assert.equal(ours.lastMessage, received.ours[0]);
    assert.equal(their.lastMessage, received.theirs[0]);
    assert.deepEqual(state(ours), { lastMessage: kept.id, lastMessageAt: +kept.timestamp, unread: 1 });
    assert.deepEqual(state(their), state(ours));
    // The core agrees (what a later re-read shows).
    const snapshot = JSON.parse(jerry._realtime._core.conversation('Jerry', conv.id));
    assert.deepEqual([snapshot.lastMessage.id, snapshot.lastMessageAt], [kept.id, +kept.timestamp]);

    // The next kept message is the last one again.
    const last = await conv.send(new TextMessage('the end'));
    await handled(4);
    assert.deepEqual(state(ours), { lastMessage: last.id, lastMessageAt: +last.timestamp, unread: 2 });
    assert.deepEqual(state(their), state(ours));

    // Several dropped in a row, sent without waiting: the core has applied them all before the
    // hook chain takes the first back; the message before them comes back all the same.
    await Promise.all(['DROP one', 'DROP two', 'DROP three'].map((text) => conv.send(new TextMessage(text))));
    await handled(7);
    assert.equal(dropped.ours.length, 5);
    assert.equal(ours.lastMessage, received.ours[1]);
    assert.deepEqual(state(ours), { lastMessage: last.id, lastMessageAt: +last.timestamp, unread: 2 });
    assert.deepEqual(state(their), state(ours));
  } finally {
    // Before the server stops (the `after` hooks), so that the official client does not retry.
    await mary.close();
  }
});

test('a throwing onIMClientCreate names its plugin; plain messages still parse', async (t) => {
  const { realtime } = await setup(t);
  const broken = realtime({ plugins: [{ name: 'broken', onIMClientCreate: () => { throw new Error('nope'); } }] });
  await assert.rejects(broken.createIMClient('Tom'), /nope\[broken\]/);
  const tom = await realtime().createIMClient('Tom');
  const jerry = await realtime().createIMClient('Jerry');
  const conv = await tom.createConversation({ members: ['Jerry'] });
  const received = next(jerry, Event.MESSAGE);
  await conv.send(new Message('plain text'));
  const [message] = await received;
  assert.equal(message.content, 'plain text');
});

test('parse middlewares apply to lastMessage of query results, getConversation, fetch and recalls', async (t) => {
  const { realtime } = await setup(t);
  const tom = await realtime().createIMClient('Tom');
  const conv = await tom.createConversation({ members: ['Jerry', 'Mary'], name: 'with a last message' });
  const shout = await conv.send(new TextMessage('shout'));
  const plugin = {
    name: 'upper',
    beforeMessageParse: (content) =>
      Promise.resolve(content && content._lctext ? { ...content, _lctext: content._lctext.toUpperCase() } : content),
    afterMessageParse: (message) => Object.assign(message, { decorated: true }),
  };
  const jerry = await realtime({ plugins: [plugin] }).createIMClient('Jerry');
  const mary = await realtime({ plugins: [plugin] }).createIMClient('Mary');

  const [found] = await jerry.getQuery().equalTo('name', 'with a last message').find();
  assert.equal(found.id, conv.id);
  assert.ok(found.lastMessage instanceof TextMessage);
  assert.equal(found.lastMessage.text, 'SHOUT');
  assert.equal(found.lastMessage.decorated, true);
  assert.equal(found.lastMessage.id, shout.id);
  // Re-reads of the conversation keep it parsed: fetch, and an event about the conversation.
  await found.fetch();
  assert.deepEqual([found.lastMessage.text, found.lastMessage.decorated], ['SHOUT', true]);
  const joined = next(jerry, Event.MEMBERS_JOINED);
  await conv.add(['Spike']);
  await joined;
  assert.deepEqual([found.lastMessage.text, found.lastMessage.decorated], ['SHOUT', true]);

  const marys = await mary.getConversation(conv.id);
  assert.equal(marys.lastMessage.text, 'SHOUT');
  assert.equal(marys.lastMessage.decorated, true);

  // A recall replaces the last message with the recalled one, through the middlewares too.
  const recalled = next(jerry, Event.MESSAGE_RECALL);
  await conv.recall(shout);
  const [message] = await recalled;
  assert.equal(message.decorated, true);
  assert.equal(found.lastMessage, message);
  assert.equal(found.lastMessage.id, shout.id);
});

test('beforeCommandDispatch never sees IM commands, side by side with the official SDK', async (t) => {
  // In the official SDKs (4.3.1 and 5.0.0-rc.8) the built-in IM plugin comes first and its
  // beforeCommandDispatch takes every IM command (service unset or 2) and stops the chain, so an
  // app's hook only gets other services' commands (LiveQuery). The same plugin on both clients.
  const path = require('node:path');
  const { ROOT } = require('./harness.cjs');
  const official = require(path.join(ROOT, 'crates/server/interop/node_modules/lc4'));
  const { realtime, server } = await setup(t);
  const calls = { ours: [], theirs: [] };
  const hosts = [];
  const plugin = (who) => ({
    name: `commands-${who}`,
    onRealtimeCreate: () => hosts.push(who),
    beforeCommandDispatch: (command) => {
      calls[who].push(command);
      return false;
    },
  });
  const theirs = new official.Realtime({ appId: 'npm-app', appKey: 'npm-key', RTMServers: server.ws, plugins: [plugin('theirs')] });
  const ours = realtime({ plugins: [plugin('ours')] });
  const tom = await realtime().createIMClient('Tom');
  const jerry = await ours.createIMClient('Jerry');
  const mary = await theirs.createIMClient('Mary');
  try {
    const toJerry = next(jerry, Event.MESSAGE);
    const toMary = next(mary, official.Event.MESSAGE);
    const conv = await tom.createConversation({ members: ['Jerry', 'Mary'] });
    await conv.send(new TextMessage('commands pass'));
    assert.equal((await toJerry)[0].text, 'commands pass');
    assert.equal((await toMary)[0].text, 'commands pass');
    assert.deepEqual(hosts, ['theirs', 'ours'], 'both load the plugin');
    assert.deepEqual(calls, { ours: [], theirs: [] });
  } finally {
    // Before the server stops (the `after` hooks), so that the official client does not retry.
    await mary.close();
  }
});
