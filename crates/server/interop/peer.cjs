// A peer driven over stdin/stdout JSON lines: one official leancloud-realtime client, for the Rust
// SDK's interop test (crates/client/tests/interop.rs).
//
//   node peer.cjs <lc4|lc5> <ws url> <http url> <app id>
//
// Each stdin line is a command {seq, op, ...}; each is answered by {seq, ok, ...} or {seq, ok: false,
// error}. Events of the signed-in client are written as {event, cid, ...} lines as they happen.
'use strict';

const readline = require('node:readline');

const [, , sdkName = 'lc5', ws, http, appId = 'chinwag-local'] = process.argv;
const { Realtime, TextMessage, Event } = require(sdkName);

const options = { appId, appKey: 'chinwag-local-key', RTMServers: ws };
if (sdkName === 'lc5') options.server = http;
const realtime = new Realtime(options);

let client;
const conversations = new Map();

const emit = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

async function conversation(cid) {
  if (!conversations.has(cid)) conversations.set(cid, await client.getConversation(cid));
  return conversations.get(cid);
}

function watch(c) {
  c.on(Event.MESSAGE, (message, conv) =>
    emit({ event: 'message', cid: conv.id, from: message.from, text: message.text === undefined ? null : message.text }));
  c.on(Event.INVITED, (payload, conv) => emit({ event: 'invited', cid: conv.id, invitedBy: payload.invitedBy }));
  c.on(Event.KICKED, (payload, conv) => emit({ event: 'kicked', cid: conv.id, kickedBy: payload.kickedBy }));
  c.on(Event.MEMBERS_JOINED, (payload, conv) =>
    emit({ event: 'membersjoined', cid: conv.id, members: payload.members, invitedBy: payload.invitedBy }));
  c.on(Event.MEMBERS_LEFT, (payload, conv) =>
    emit({ event: 'membersleft', cid: conv.id, members: payload.members, kickedBy: payload.kickedBy }));
}

const ops = {
  async login({ id }) {
    client = await realtime.createIMClient(id);
    watch(client);
    return {};
  },
  async create({ members, name }) {
    const conv = await client.createConversation({ members, name });
    conversations.set(conv.id, conv);
    return { cid: conv.id };
  },
  async send({ cid, text }) {
    const message = await (await conversation(cid)).send(new TextMessage(text));
    return { id: message.id };
  },
  async add({ cid, members }) {
    await (await conversation(cid)).add(members);
    return {};
  },
  async remove({ cid, members }) {
    await (await conversation(cid)).remove(members);
    return {};
  },
  async join({ cid }) {
    await (await conversation(cid)).join();
    return {};
  },
  async quit({ cid }) {
    await (await conversation(cid)).quit();
    return {};
  },
  async members({ cid }) {
    const conv = await conversation(cid);
    return { members: [...conv.members].sort() };
  },
  async close() {
    await client.close();
    setImmediate(() => process.exit(0));
    return {};
  },
};

readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  let command;
  try {
    command = JSON.parse(line);
  } catch (error) {
    emit({ ok: false, error: `bad JSON: ${error.message}` });
    return;
  }
  try {
    const result = await ops[command.op](command);
    emit({ seq: command.seq, ok: true, ...result });
  } catch (error) {
    emit({ seq: command.seq, ok: false, error: String(error && (error.stack || error)), code: error && error.code });
  }
});
process.stdin.on('end', () => process.exit(0));
emit({ event: 'ready' });
