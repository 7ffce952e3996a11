// Every JavaScript block of the seed guide (realtime-message-guide.md) runs unchanged against a local
// chinwag-server; the only edit is the import line (`require('leancloud-realtime')` → this package).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { ROOT, PKG, startServer, until } = require('./harness.cjs');

const chinwag = require(PKG);

/** The guide: the shared copy when present (the source of truth), else the committed one. */
function guide() {
  const shared = path.join(ROOT, '../shared/seed/realtime-message-guide.md');
  const file = fs.existsSync(shared) ? shared : path.join(__dirname, 'realtime-message-guide.md');
  return fs.readFileSync(file, 'utf8');
}

function jsBlocks(markdown) {
  return [...markdown.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
}

test('every js block of the seed guide runs unchanged but for the import line', async (t) => {
  const server = await startServer();
  t.after(() => server.stop());
  const blocks = jsBlocks(guide());
  assert.equal(blocks.length, 10, 'the guide has 10 js blocks');
  const find = (needle) => {
    const found = blocks.filter((b) => b.includes(needle));
    assert.equal(found.length, 1, `one block contains ${needle}`);
    return found[0].replace("require('leancloud-realtime')", 'require(CHINWAG)'); // the import line
  };

  const logs = [];
  const errors = [];
  const fmt = (args) => args.map((a) => (Array.isArray(a) ? a.join(',') : String(a))).join(' ');
  const realtimes = [];
  // The guide's `new Realtime({appId, appKey, region})` names LeanCloud's cloud; here the same call
  // reaches the local server (the harness supplies `Realtime`, as an app would its configuration).
  class Realtime extends chinwag.Realtime {
    constructor(options) {
      super({ ...options, RTMServers: server.ws });
      realtimes.push(this);
    }
  }
  const ctx = vm.createContext({
    Realtime,
    AV: chinwag,
    CHINWAG: PKG,
    require: (name) => require(name),
    console: { log: (...a) => logs.push(fmt(a)), error: (...a) => errors.push(fmt(a)) },
  });
  t.after(() => Promise.all(realtimes.map((r) => r.close())));
  const run = async (code) => {
    const value = vm.runInContext(code, ctx);
    if (value && typeof value.then === 'function') await value;
    assert.deepEqual(errors, [], 'no console.error');
  };

  await run(find('var realtime = new Realtime'));
  assert.ok(ctx.realtime instanceof chinwag.Realtime);
  await run(find("realtime.createIMClient('Tom').then(tom=>"));
  await run(find("name: 'Tom & Jerry'"));
  assert.ok(logs.includes('Tom & Jerry message sent.'), logs.join('\n'));

  // Jerry and Mary are other people on other connections.
  const other = new Realtime({ appId: 'x7WmVG0x63V6u8MCYM8qxKo8-gzGzoHsz', appKey: 'key' });
  ctx.tom = await ctx.realtime.createIMClient('Tom');
  ctx.jerry = await other.createIMClient('Jerry');
  ctx.mary = await other.createIMClient('Mary');
  await run(find('jerry.on(Event.MEMBERS_JOINED'));

  await run(find("tom.getQuery().containsMembers(['Jerry'])"));
  const listed = logs.filter((l) => l.endsWith(' Jerry,Tom'));
  assert.equal(listed.length, 1, logs.join('\n'));
  assert.ok(!Number.isNaN(Date.parse(listed[0].replace(' Jerry,Tom', ''))), 'lastMessageAt is a Date');

  const [conversation] = await ctx.tom.getQuery().containsMembers(['Jerry']).find();
  ctx.conversation = conversation;
  ctx.CONVERSATION_ID = conversation.id;
  await run(find('conversation.on(Event.MEMBERS_JOINED'));

  await run(find("conversation.add(['Mary'])"));
  assert.ok(logs.some((l) => l.startsWith('added')));
  // Jerry's client-level handler and Tom's conversation-level handler both saw Mary join.
  await until(() => logs.includes(`Mary Tom ${conversation.id}`), 'jerry: membersjoined');
  await until(() => logs.includes('Mary Tom'), 'conversation: membersjoined');
  assert.deepEqual(conversation.members, ['Jerry', 'Mary', 'Tom']);

  await run(find("mary.createConversation({"));
  // Mary invited Jerry (and Tom) to her party: Jerry's `invited` handler logs `invitedBy conversation.id`.
  await until(() => logs.some((l) => l.startsWith('Mary ') && l.split(' ').length === 2), 'jerry: invited to the party');

  await run(find('Tom.getConversation(CONVERSATION_ID)'));
  assert.ok(logs.some((l) => l.startsWith('Mary has been removed')), logs.join('\n'));
  // `membersleft` logs the same line as `membersjoined` did: members, kickedBy, id.
  const count = (line) => logs.filter((l) => l === line).length;
  await until(() => count(`Mary Tom ${conversation.id}`) === 2, 'jerry: membersleft');
  await until(() => count('Mary Tom') === 2, 'conversation: membersleft');
  assert.deepEqual(conversation.members, ['Jerry', 'Tom']);

  const received = new Promise((resolve) => ctx.jerry.once(chinwag.Event.MESSAGE, resolve));
  await run(find("new AV.TextMessage('hey guys!')"));
  const message = await received;
  assert.equal(message.text, 'hey guys!');
  assert.equal(message.from, 'Tom');
  assert.deepEqual(errors, []);
});
