// The official leancloud-realtime SDK (4.3.1 = npm latest, and 5.0.0-rc.8) against chinwag-server.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startServer, realtime, next, httpsFront, trustingAdapters, SDKS } = require('./harness.cjs');

const MASTER_KEY = 'interop-master';

/** A signature as an app server computes it (the official signing demo: HMAC-SHA1 with the master key). */
function signed(text) {
  const timestamp = Math.floor(Date.now() / 1000);
  const nonce = crypto.randomUUID();
  const signature = crypto.createHmac('sha1', MASTER_KEY).update(text(timestamp, nonce)).digest('hex');
  return { signature, timestamp, nonce };
}

/** The official signature factories for a client signing in with `appId`. */
function signatureOptions(appId) {
  const membership = (cid, clientId, ids, action) =>
    signed((t, n) => `${appId}:${clientId}:${cid}:${[...ids].sort().join(':')}:${t}:${n}:${action}`);
  return {
    signatureFactory: (clientId) => signed((t, n) => `${appId}:${clientId}::${t}:${n}`),
    conversationSignatureFactory: (cid, clientId, ids, action) =>
      (cid ? membership(cid, clientId, ids, action) : signed((t, n) => `${appId}:${clientId}:${[...ids].sort().join(':')}:${t}:${n}`)),
    // Written as v5 documents the arguments; 4.3.1 passes the client and conversation ids swapped,
    // which the server also accepts.
    blacklistSignatureFactory: membership,
  };
}

/** An IM REST API call with the master key; resolves with the JSON body of a 200. */
async function rest(server, method, path, body) {
  const response = await fetch(`${server.http}${path}`, {
    method,
    headers: { 'X-LC-Id': 'interop-app', 'X-LC-Key': `${MASTER_KEY},master`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${method} ${path}: ${text}`);
  return JSON.parse(text);
}

/** `conversation.count()`, asked again for up to 2 s until it is `expected`; resolves with the last answer. */
async function countUntil(conversation, expected) {
  const deadline = Date.now() + 2000;
  for (;;) {
    const count = await conversation.count();
    if (count === expected || Date.now() > deadline) return count;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves with `promise`, or after 2 s (close() of an already closed client never settles). */
function settle(promise) {
  return Promise.race([promise, new Promise((r) => setTimeout(r, 2000).unref())]);
}

for (const name of ['lc4', 'lc5']) {
  const { Event, TextMessage, MessageStatus } = SDKS[name];

  const version = { lc4: '4.3.1', lc5: '5.0.0-rc.8' }[name];
  describe(`leancloud-realtime ${version}`, () => {
    let server;
    const clients = [];
    const login = async (id, options) => {
      const client = await realtime(name, server).createIMClient(id, options);
      clients.push(client);
      return client;
    };

    before(async () => {
      server = await startServer();
    });
    after(async () => {
      // close() of an already closed client never settles, so each gets a deadline.
      await Promise.allSettled(clients.map((c) => settle(c.close())));
      const code = await server.stop();
      assert.equal(code, 0, `server exit code; log:\n${server.log()}`);
    });

    it('delivers every row of the seed events table', async () => {
      const tom = await login('Tom');
      const jerry = await login('Jerry');
      const mary = await login('Mary');

      // tom.createConversation({members: ['Jerry']}): Tom MEMBERS_JOINED, Jerry INVITED
      let tomJoined = next(tom, Event.MEMBERS_JOINED);
      let jerryInvited = next(jerry, Event.INVITED);
      const conv = await tom.createConversation({ members: ['Jerry'], name: 'events' });
      assert.deepEqual((await tomJoined)[0].invitedBy, 'Tom');
      const [invited, invitedConv] = await jerryInvited;
      assert.equal(invited.invitedBy, 'Tom');
      assert.equal(invitedConv.id, conv.id);

      // add(['Mary']): Tom, Jerry MEMBERS_JOINED; Mary INVITED
      tomJoined = next(tom, Event.MEMBERS_JOINED);
      const jerryJoined = next(jerry, Event.MEMBERS_JOINED);
      const maryInvited = next(mary, Event.INVITED);
      await conv.add(['Mary']);
      assert.deepEqual((await tomJoined)[0].members, ['Mary']);
      const [joined] = await jerryJoined;
      assert.deepEqual([joined.members, joined.invitedBy], [['Mary'], 'Tom']);
      assert.equal((await maryInvited)[0].invitedBy, 'Tom');

      // remove(['Mary']): Tom, Jerry MEMBERS_LEFT; Mary KICKED
      const tomLeft = next(tom, Event.MEMBERS_LEFT);
      const jerryLeft = next(jerry, Event.MEMBERS_LEFT);
      const maryKicked = next(mary, Event.KICKED);
      await conv.remove(['Mary']);
      assert.deepEqual((await tomLeft)[0].members, ['Mary']);
      assert.deepEqual((await jerryLeft)[0].kickedBy, 'Tom');
      assert.equal((await maryKicked)[0].kickedBy, 'Tom');

      // Mary join(): everyone MEMBERS_JOINED
      const joins = [tom, jerry, mary].map((c) => next(c, Event.MEMBERS_JOINED));
      const maryConv = await mary.getConversation(conv.id);
      await maryConv.join();
      for (const [payload] of await Promise.all(joins)) {
        assert.deepEqual(payload.members, ['Mary']);
      }

      // Tom quit(): everyone MEMBERS_LEFT
      const lefts = [tom, jerry, mary].map((c) => next(c, Event.MEMBERS_LEFT));
      await conv.quit();
      for (const [payload] of await Promise.all(lefts)) {
        assert.deepEqual([payload.members, payload.kickedBy], [['Tom'], 'Tom']);
      }
    });

    it('sends and receives with the same message id', async () => {
      const tom = await login('Tom2');
      const jerry = await login('Jerry2');
      const conv = await tom.createConversation({ members: ['Jerry2'] });
      const received = next(jerry, Event.MESSAGE);
      const sent = await conv.send(new TextMessage('hello').setMentionList(['Jerry2']));
      const [message, conversation] = await received;
      assert.equal(message.id, sent.id);
      assert.equal(message.text, 'hello');
      assert.equal(message.from, 'Tom2');
      assert.equal(conversation.id, conv.id);
      assert.equal(message.timestamp.getTime(), sent.timestamp.getTime());
      assert.equal(message.mentioned, true);
    });

    it('finds conversations by members, sorted by last message', async () => {
      const tom = await login('Tom3');
      const first = await tom.createConversation({ members: ['Jerry3'], name: 'first' });
      const second = await tom.createConversation({ members: ['Jerry3', 'Mary3'], name: 'second' });
      await tom.createConversation({ members: ['Mary3'], name: 'other' });
      await second.send(new TextMessage('older'));
      await first.send(new TextMessage('newer'));
      const found = await tom.getQuery().containsMembers(['Jerry3']).descending('lm').find();
      assert.deepEqual(found.map((c) => c.name), ['first', 'second']);
      assert.ok(found[0].lastMessageAt instanceof Date);
      const withLast = await tom.getQuery().equalTo('objectId', first.id).withLastMessagesRefreshed(true).find();
      assert.equal(withLast[0].lastMessage.text, 'newer');
    });

    it('returns the existing conversation for a distinct (unique) member set', async () => {
      const tom = await login('Tom4');
      const jerry = await login('Jerry4');
      const a = await tom.createConversation({ members: ['Jerry4'], unique: true });
      const b = await jerry.createConversation({ members: ['Tom4'], unique: true });
      assert.equal(a.id, b.id);
      const c = await tom.createConversation({ members: ['Jerry4'], unique: false });
      assert.notEqual(a.id, c.id);
    });

    it('pages through history', async () => {
      const tom = await login('Tom5');
      const conv = await tom.createConversation({ members: ['Jerry5'] });
      const sent = [];
      for (let n = 0; n < 25; n += 1) {
        sent.push((await conv.send(new TextMessage(`m${n}`))).id);
      }
      const latest = await conv.queryMessages({ limit: 10 });
      assert.deepEqual(latest.map((m) => m.id), sent.slice(15));
      // The iterator walks from the newest page to the oldest; each page is ascending.
      const iterator = conv.createMessagesIterator({ limit: 10 });
      const pages = [];
      for (let guard = 0; guard < 10; guard += 1) {
        const { value, done } = await iterator.next();
        if (value && value.length) pages.unshift(value.map((m) => m.id));
        if (done || !value || value.length === 0) break;
      }
      assert.deepEqual(pages.map((page) => page.length), [5, 10, 10]);
      assert.deepEqual(pages.flat(), sent);
    });

    it('counts unread messages for a client that was offline', async () => {
      const tom = await login('Tom6');
      const jerry = await login('Jerry6');
      const conv = await tom.createConversation({ members: ['Jerry6'] });
      await jerry.close();
      for (let n = 0; n < 3; n += 1) await conv.send(new TextMessage(`while away ${n}`));
      // The unread push follows the login reply, so listen from the moment the client exists.
      let unread;
      const plugin = {
        name: 'listen-early',
        onIMClientCreate: (client) => {
          unread = next(client, Event.UNREAD_MESSAGES_COUNT_UPDATE);
        },
      };
      const jerryAgain = await realtime(name, server, { plugins: [plugin] }).createIMClient('Jerry6');
      clients.push(jerryAgain);
      const [conversations] = await unread;
      const mine = conversations.find((c) => c.id === conv.id);
      assert.ok(mine, 'the conversation is in the update');
      assert.equal(mine.unreadMessagesCount, 3);
      assert.equal(mine.lastMessage.text, 'while away 2');
    });

    it('sends delivery and read receipts', async () => {
      const tom = await login('Tom7');
      const jerry = await login('Jerry7');
      const conv = await tom.createConversation({ members: ['Jerry7'] });
      const received = next(jerry, Event.MESSAGE);
      const delivered = next(conv, Event.LAST_DELIVERED_AT_UPDATE);
      const message = await conv.send(new TextMessage('receipt please'), { receipt: true });
      const [, jerryConv] = await received;
      await delivered;
      assert.ok(conv.lastDeliveredAt instanceof Date);
      assert.equal(message.status, MessageStatus.DELIVERED);
      const read = next(conv, Event.LAST_READ_AT_UPDATE);
      await jerryConv.read();
      await read;
      assert.ok(conv.lastReadAt instanceof Date);
    });

    it('closes the older session of a tag with a conflict', async () => {
      const first = await login('Tom9', { tag: 'Mobile' });
      const conflict = next(first, Event.CONFLICT);
      await login('Tom9', { tag: 'Mobile' });
      const [payload] = await conflict;
      assert.ok(payload.reason, 'conflict carries a reason');
    });

    it('keeps messages across a server restart and re-logs in with the session token', async () => {
      // A server of its own, restarted on the same port and data directory.
      const own = await startServer();
      const target = { ws: own.ws, http: own.http };
      const tomRealtime = realtime(name, target);
      const jerryRealtime = realtime(name, target);
      const tom = await tomRealtime.createIMClient('Tom10');
      const jerry = await jerryRealtime.createIMClient('Jerry10');
      clients.push(tom, jerry);
      // On `goaway` the SDK refreshes its endpoints (`_getRTMServers`) and reconnects; after
      // sign-in nothing else calls it, so the calls count the goaways it acted on.
      let goaways = 0;
      for (const rt of [tomRealtime, jerryRealtime]) {
        const refresh = rt._getRTMServers.bind(rt);
        rt._getRTMServers = (...args) => {
          goaways += 1;
          return refresh(...args);
        };
      }
      const conv = await tom.createConversation({ members: ['Jerry10'] });
      const before = [];
      for (let n = 0; n < 3; n += 1) before.push((await conv.send(new TextMessage(`before ${n}`))).id);
      const tomBack = next(tom, Event.RECONNECT, 20000);
      const jerryBack = next(jerry, Event.RECONNECT, 20000);
      assert.equal(await own.stop(), 0);
      assert.equal(goaways, 2, 'both SDKs got a goaway before the server stopped');
      const again = await startServer({ dataDir: own.dataDir, listen: own.host });
      try {
        await Promise.all([tomBack, jerryBack]);
        const received = next(jerry, Event.MESSAGE);
        const after = await conv.send(new TextMessage('after'));
        assert.equal((await received)[0].id, after.id);
        const history = await conv.queryMessages({ limit: 10 });
        assert.deepEqual(history.map((m) => m.id), [...before, after.id]);
      } finally {
        await Promise.allSettled([tom, jerry].map((c) => settle(c.close())));
        await again.stop();
      }
    });

    it('edits and recalls messages', async () => {
      const tom = await login('Tom11');
      const jerry = await login('Jerry11');
      const conv = await tom.createConversation({ members: ['Jerry11'] });
      const received = next(jerry, Event.MESSAGE);
      const original = await conv.send(new TextMessage('tpyo'));
      await received;
      const updated = next(jerry, Event.MESSAGE_UPDATE);
      await conv.update(original, new TextMessage('typo'));
      const [edited] = await updated;
      assert.equal(edited.id, original.id);
      assert.equal(edited.text, 'typo');
      const recalled = next(jerry, Event.MESSAGE_RECALL);
      await conv.recall(original);
      const [gone] = await recalled;
      assert.equal(gone.id, original.id);
      assert.ok(gone instanceof SDKS[name].RecalledMessage, 'a RecalledMessage');
    });

    it('creates temporary conversations', async () => {
      const tom = await login('Tom12');
      const jerry = await login('Jerry12');
      const conv = await tom.createTemporaryConversation({ members: ['Jerry12'], ttl: 3600 });
      assert.ok(conv.id.startsWith('_tmp:'), conv.id);
      assert.ok(conv instanceof SDKS[name].TemporaryConversation);
      assert.ok(conv.expiredAt > new Date());
      const received = next(jerry, Event.MESSAGE);
      const sent = await conv.send(new TextMessage('short-lived'));
      const [message, jerryConv] = await received;
      assert.equal(message.id, sent.id);
      assert.equal(jerryConv.id, conv.id);
      assert.ok(jerryConv instanceof SDKS[name].TemporaryConversation);
    });

    it('replays conversation events missed while offline (GET /1.1/rtm/notifications after the re-login)', async () => {
      // 4.3.1 calls REST only over https://<server>: it gets a TLS front, as in a real deployment.
      const front = name === 'lc4' ? await httpsFront(server) : undefined;
      try {
        const tom = await login('Tom13');
        const jerryRealtime = realtime(name, server, front ? { server: front.host } : {});
        const jerry = await jerryRealtime.createIMClient('Jerry13');
        clients.push(jerry);
        const offline = next(jerryRealtime, 'offline');
        jerryRealtime.pause();
        await offline;
        // Missed while offline: only the REST replay can bring it.
        const conv = await tom.createConversation({ members: ['Jerry13'] });
        const invited = next(jerry, Event.INVITED);
        jerryRealtime.resume();
        const [payload, invitedTo] = await invited;
        assert.equal(payload.invitedBy, 'Tom13');
        assert.equal(invitedTo.id, conv.id);
      } finally {
        if (front) await front.close();
      }
    });

    if (name === 'lc5') {
      it('connects through a TLS proxy given only server: https://… (/v1/route answers wss://)', async () => {
        const front = await httpsFront(server);
        // Its certificate is self-signed: v5's WebSocket and HTTP adapters are told to trust it.
        const plain = { WebSocket: SDKS.lc5.getAdapter('WebSocket'), request: SDKS.lc5.getAdapter('request') };
        SDKS.lc5.setAdapters(trustingAdapters(front));
        let tom;
        try {
          tom = await realtime(name, server, { RTMServers: undefined, server: `https://${front.host}` }).createIMClient('Tom40');
          clients.push(tom);
          assert.equal(front.upgrades(), 1, 'the WebSocket went through the TLS front');
          const jerry = await login('Jerry40');
          const conv = await tom.createConversation({ members: ['Jerry40'] });
          const received = next(jerry, Event.MESSAGE);
          const sent = await conv.send(new TextMessage('over wss'));
          assert.equal((await received)[0].id, sent.id);
        } finally {
          SDKS.lc5.setAdapters(plain);
          if (tom) await settle(tom.close());
          await front.close();
        }
      });
    }

    it('lets the owner mute and block members', async () => {
      const tom = await login('Tom14');
      const jerry = await login('Jerry14');
      const mary = await login('Mary14');
      const conv = await tom.createConversation({ members: ['Jerry14', 'Mary14'] });
      const muted = next(jerry, Event.MUTED);
      const membersMuted = next(mary, Event.MEMBERS_MUTED);
      const result = await conv.muteMembers(['Jerry14']);
      assert.deepEqual(result.successfulClientIds, ['Jerry14']);
      assert.equal((await muted)[0].mutedBy, 'Tom14');
      assert.deepEqual((await membersMuted)[0].members, ['Jerry14']);
      const { results } = await conv.queryMutedMembers();
      assert.deepEqual(results, ['Jerry14']);
      const kicked = next(mary, Event.KICKED);
      const blocked = next(mary, Event.BLOCKED);
      const left = next(tom, Event.MEMBERS_LEFT);
      const blockResult = await conv.blockMembers(['Mary14']);
      assert.deepEqual(blockResult.successfulClientIds, ['Mary14']);
      assert.equal((await kicked)[0].kickedBy, 'Tom14');
      assert.equal((await blocked)[0].blockedBy, 'Tom14');
      assert.deepEqual((await left)[0].members, ['Mary14']);
      const maryConv = await mary.getConversation(conv.id);
      await assert.rejects(maryConv.join());
    });

    it('updates member roles', async () => {
      const tom = await login('Tom15');
      const jerry = await login('Jerry15');
      const conv = await tom.createConversation({ members: ['Jerry15'] });
      // 4.3.1 resolves member info over https:// before emitting the event, so only v5 can see
      // it against a plain-http server; both must get the update acknowledged.
      const updated = name === 'lc5' && next(jerry, Event.MEMBER_INFO_UPDATED);
      await conv.updateMemberRole('Jerry15', SDKS[name].ConversationMemberRole.MANAGER);
      if (name === 'lc5') {
        const [payload] = await updated;
        assert.equal(payload.member, 'Jerry15');
        assert.equal(payload.memberInfo.role, 'Manager');
        assert.equal(payload.updatedBy, 'Tom15');
        // Read back over REST (4.3.1 would call https://).
        const infos = await conv.getAllMemberInfo({ noCache: true });
        const jerryInfo = infos.find((info) => info.memberId === 'Jerry15');
        assert.equal(jerryInfo.role, 'Manager');
        assert.equal((await conv.getMemberInfo('Tom15')).isOwner, true);
      }
    });

    it('signs in and changes members with signatures when the server requires them', async () => {
      const own = await startServer({ masterKey: MASTER_KEY });
      // What an app server would compute (the official signing demo's strings), over the app id
      // each client signs in with.
      const signedClient = (clientId) => {
        const appId = `interop-signed-${name}-${clientId}`;
        return realtime(name, own, { appId }).createIMClient(clientId, signatureOptions(appId));
      };
      const opened = [];
      try {
        const unsigned = realtime(name, own);
        await assert.rejects(unsigned.createIMClient('Tom16'), 'unsigned sign-in is refused');
        // No client was registered, so the connection would stay open (and reconnect forever).
        unsigned._close();
        const tom = await signedClient('Tom16');
        const jerry = await signedClient('Jerry16');
        opened.push(tom, jerry);
        const conv = await tom.createConversation({ members: ['Jerry16'] });
        const left = new Promise((resolve) => conv.once('membersleft', resolve));
        const added = await conv.add(['Mary16']);
        assert.deepEqual(added.successfulClientIds, ['Mary16']);
        const removed = await conv.remove(['Mary16']);
        assert.deepEqual(removed.successfulClientIds, ['Mary16']);
        // The members are settled once the `membersleft` push that follows the reply is handled.
        // 4.3.1 handles pushes asynchronously (each awaits `getConversation`), so under load its
        // `members` lagged the replies: right after `remove` resolved they still held Mary, the
        // creation's `membersjoined` push having been handled only after `add` resolved.
        assert.deepEqual((await left).members, ['Mary16']);
        assert.deepEqual([...conv.members].sort(), ['Jerry16', 'Tom16']);
        // Blacklist changes go through blacklistSignatureFactory.
        const blocked = await conv.blockMembers(['Jerry16']);
        assert.deepEqual(blocked.successfulClientIds, ['Jerry16']);
        const unblocked = await conv.unblockMembers(['Jerry16']);
        assert.deepEqual(unblocked.successfulClientIds, ['Jerry16']);
        // A client without factories is refused by the server (nothing signs its requests).
        const unsignedAppId = `interop-signed-${name}-Spike16`;
        const { signatureFactory } = signatureOptions(unsignedAppId);
        const spike = await realtime(name, own, { appId: unsignedAppId }).createIMClient('Spike16', { signatureFactory });
        opened.push(spike);
        await assert.rejects(spike.createConversation({ members: ['Tom16'] }), (error) => {
          assert.equal(error.code, 4302);
          return true;
        });
      } finally {
        await Promise.allSettled(opened.map((c) => settle(c.close())));
        await own.stop();
      }
    });

    it('answers the official signed session/refresh when the server requires signatures', async () => {
      // Tokens live two seconds, so the SDK's next REST call after that finds its token expired
      // and first asks for a new one with `session/refresh`, signed by its signatureFactory.
      const own = await startServer({ masterKey: MASTER_KEY, args: ['--session-ttl-secs', '2'] });
      // 4.3.1 calls REST only over https://<server>: it gets a TLS front.
      const front = name === 'lc4' ? await httpsFront(own) : undefined;
      const opened = [];
      try {
        // Jerry's factory forges the signature of its refresh (not of its sign-in).
        let forgeJerry = false;
        const signatures = { Tom32: 0, Jerry32: 0 };
        const refreshes = { Tom32: [], Jerry32: [] };
        const signIn = async (clientId) => {
          const appId = `interop-refresh-${name}-${clientId}`;
          const options = signatureOptions(appId);
          const signatureFactory = async (id) => {
            signatures[id] += 1;
            const signature = await options.signatureFactory(id);
            return forgeJerry && id === 'Jerry32' ? { ...signature, signature: '0'.repeat(40) } : signature;
          };
          const extra = front ? { appId, server: front.host } : { appId };
          const client = await realtime(name, own, extra).createIMClient(clientId, { ...options, signatureFactory });
          opened.push(client);
          // What the server answers to the SDK's refreshes, as the SDK's own send sees it.
          const send = client._send;
          client._send = function (command, ...args) {
            const reply = send.call(this, command, ...args);
            if (command.op === 'refresh' || command.op === 12) {
              refreshes[clientId].push(reply.then(
                (answer) => ({ st: answer.sessionMessage.st, signed: Boolean(command.sessionMessage.s) }),
                (error) => ({ error }),
              ));
            }
            return reply;
          };
          return client;
        };
        const tom = await signIn('Tom32');
        const jerry = await signIn('Jerry32');
        const conv = await tom.createConversation({ members: ['Jerry32'] });
        const jerryConv = await jerry.getConversation(conv.id);
        forgeJerry = true;
        await new Promise((r) => setTimeout(r, 2500));
        // Both SDK versions fail the call that triggered the refresh in their own SessionManager
        // (it stores the refreshed token twice, the second time spreading a non-array), so only
        // the exchange itself is checked for it.
        await Promise.allSettled([conv.getAllMemberInfo({ noCache: true }), jerryConv.getAllMemberInfo({ noCache: true })]);
        assert.deepEqual(signatures, { Tom32: 2, Jerry32: 2 }, 'sign-ins and refreshes were signed');
        assert.equal(refreshes.Tom32.length, 1, "Tom's expired token was refreshed");
        const accepted = await refreshes.Tom32[0];
        assert.equal(accepted.error, undefined, 'a correctly signed refresh is accepted');
        assert.ok(accepted.signed, 'the SDK signed its refresh');
        assert.ok(typeof accepted.st === 'string' && accepted.st.length > 0, 'with a new token');
        assert.equal(refreshes.Jerry32.length, 1, "Jerry's expired token was refreshed");
        const { error } = await refreshes.Jerry32[0];
        assert.ok(error, "Jerry's forged refresh is refused");
        assert.equal([error.code, error.name].join(' '), '4102 SIGNATURE_FAILED');
        if (name === 'lc5') {
          // v5 keeps the refreshed token (4.3.1 keeps `undefined` instead): the next call uses it.
          await conv.getAllMemberInfo({ noCache: true });
          assert.equal(refreshes.Tom32.length, 1);
        }
      } finally {
        await Promise.allSettled(opened.map((c) => settle(c.close())));
        if (front) await front.close();
        await own.stop();
      }
    });

    it('runs a chat room', async () => {
      const tom = await login('Tom8');
      const jerry = await login('Jerry8');
      const room = await tom.createChatRoom({ name: 'lobby' });
      const jerryRoom = await jerry.getConversation(room.id);
      assert.equal(jerryRoom.transient, true);
      await jerryRoom.join();
      assert.equal(await room.count(), 2);
      const received = next(jerry, Event.MESSAGE);
      const sent = await room.send(new TextMessage('hello room'));
      const [message] = await received;
      assert.equal(message.id, sent.id);
      const rooms = await tom.getChatRoomQuery().equalTo('objectId', room.id).find();
      assert.equal(rooms.length, 1);
      // The count is of members online: Jerry signing out leaves Tom alone.
      await jerry.close();
      assert.equal(await room.count(), 1);
    });

    it('keeps a chat room member across a short reconnect', async () => {
      const tom = await login('Tom30');
      const jerryRealtime = realtime(name, server);
      const jerry = await jerryRealtime.createIMClient('Jerry30');
      clients.push(jerry);
      const room = await tom.createChatRoom({ name: 'lobby30' });
      await (await jerry.getConversation(room.id)).join();
      assert.equal(await room.count(), 2);
      // The connection drops: Jerry is not counted online meanwhile (once the server has seen
      // the close, which races with Tom's count)...
      const offline = next(jerry, Event.DISCONNECT);
      jerryRealtime.pause();
      await offline;
      assert.equal(await countUntil(room, 1), 1);
      // ...and after the SDK's reconnect (a token re-login) is in the room again without joining.
      const online = next(jerry, Event.RECONNECT);
      jerryRealtime.resume();
      await online;
      assert.equal(await room.count(), 2);
      const received = next(jerry, Event.MESSAGE);
      const sent = await room.send(new TextMessage('welcome back'));
      const [message] = await received;
      assert.equal(message.id, sent.id);
    });

    it('answers the official query builder: contains, startsWith, matches, withMembers, comparisons', async () => {
      const tom = await login('Tom20');
      await login('Jerry20');
      await login('Mary20');
      const odd = await tom.createConversation({ members: ['Jerry20'], name: 'a.b (odd) *name*', unique: false, level: 3 });
      const plain = await tom.createConversation({ members: ['Jerry20', 'Mary20'], name: 'Plain talk', unique: false, level: 7 });
      const ids = (list) => list.map((c) => c.id).sort();
      const query = () => tom.getQuery().containsMembers(['Tom20']);
      // contains/startsWith/endsWith quote with \Q..\E: regex metacharacters match literally.
      assert.deepEqual(ids(await query().contains('name', '(odd) *').find()), [odd.id]);
      assert.deepEqual(ids(await query().startsWith('name', 'a.b').find()), [odd.id]);
      assert.deepEqual(ids(await query().endsWith('name', 'talk').find()), [plain.id]);
      assert.deepEqual(ids(await query().matches('name', /^plain/i).find()), [plain.id]);
      assert.deepEqual(ids(await query().withMembers(['Jerry20'], true).find()), [odd.id]);
      assert.deepEqual(ids(await query().greaterThan('level', 5).find()), [plain.id]);
      assert.deepEqual(ids(await query().lessThanOrEqualTo('level', 7).find()), ids([odd, plain]));
      assert.deepEqual(ids(await query().containedIn('name', ['Plain talk', 'nothing']).find()), [plain.id]);
      assert.deepEqual(ids(await query().notContainsIn('name', ['Plain talk']).find()), [odd.id]);
      assert.deepEqual(ids(await query().exists('level').lessThan('createdAt', new Date(Date.now() + 60000)).find()), ids([odd, plain]));
      assert.deepEqual(ids(await query().sizeEqualTo('m', 3).find()), [plain.id]);
    });

    it('rejects a message from a non-member with INVALID_MESSAGING_TARGET and carries on', async () => {
      const tom = await login('Tom21');
      const jerry = await login('Jerry21');
      const spike = await login('Spike21');
      const conv = await tom.createConversation({ members: ['Jerry21'], name: 'private', unique: false });
      const spikeView = await spike.getConversation(conv.id);
      await assert.rejects(spikeView.send(new TextMessage('let me in')), (error) => {
        assert.equal(error.code, 4401);
        assert.equal(error.name, 'INVALID_MESSAGING_TARGET');
        return true;
      });
      const received = next(jerry, Event.MESSAGE);
      await conv.send(new TextMessage('still works'));
      const [message] = await received;
      assert.equal(message.text, 'still works');
    });

    it('subscribes to a service conversation and receives its server-side broadcasts', async () => {
      const own = await startServer({ masterKey: MASTER_KEY });
      const opened = [];
      try {
        const { objectId: cid } = await rest(own, 'POST', '/1.2/rtm/service-conversations', { name: 'News' });
        const appId = `interop-service-${name}`;
        const tom = await realtime(name, own, { appId }).createIMClient('Tom22', signatureOptions(appId));
        opened.push(tom);
        const news = await tom.getConversation(cid);
        assert.ok(news instanceof SDKS[name].ServiceConversation, 'a ServiceConversation');
        await news.subscribe();
        const count = `/1.2/rtm/service-conversations/${cid}/subscribers/count`;
        assert.deepEqual(await rest(own, 'GET', count), { count: 1 });
        const received = next(tom, Event.MESSAGE);
        const sent = await rest(own, 'POST', `/1.2/rtm/service-conversations/${cid}/broadcasts`, {
          from_client: 'newsroom',
          message: JSON.stringify({ _lctype: -1, _lctext: 'extra!' }),
        });
        const [message, conversation] = await received;
        assert.ok(message instanceof TextMessage);
        assert.equal(message.id, sent['msg-id']);
        assert.equal(message.text, 'extra!');
        assert.equal(message.from, 'newsroom');
        assert.equal(conversation.id, cid);
        await news.unsubscribe();
        assert.deepEqual(await rest(own, 'GET', count), { count: 0 });
      } finally {
        await Promise.allSettled(opened.map((c) => settle(c.close())));
        await own.stop();
      }
    });

    it('serves REST with a master key without making clients sign, and recalls with a reason', async () => {
      const own = await startServer({ masterKey: MASTER_KEY, requireSignatures: false });
      const opened = [];
      try {
        // Unsigned sign-ins and conversation creation: no signatureFactory.
        const tom = await realtime(name, own).createIMClient('Tom31');
        opened.push(tom);
        const jerry = await realtime(name, own).createIMClient('Jerry31');
        opened.push(jerry);
        const conv = await tom.createConversation({ members: ['Jerry31'] });
        const received = next(jerry, Event.MESSAGE);
        const sent = await conv.send(new TextMessage('a bad word'));
        await received;
        // A backend's moderation recalls it with a reason (patch_code/patch_reason).
        const recalled = next(jerry, Event.MESSAGE_RECALL);
        await rest(own, 'PUT', `/1.2/rtm/conversations/${conv.id}/messages/${encodeURIComponent(sent.id)}/recall`, {
          from_client: 'Tom31',
          timestamp: sent.timestamp.getTime(),
          patch_code: -4408,
          patch_reason: 'sensitive words',
        });
        const [gone, inConv, reason] = await recalled;
        assert.equal(gone.id, sent.id);
        assert.ok(gone instanceof SDKS[name].RecalledMessage, 'a RecalledMessage');
        assert.equal(inConv.id, conv.id);
        assert.deepEqual(reason, { code: -4408, detail: 'sensitive words' });
      } finally {
        await Promise.allSettled(opened.map((c) => settle(c.close())));
        await own.stop();
      }
    });

    it('answers the limits with the official codes', async () => {
      const own = await startServer({
        args: ['--rate-burst', '3', '--rate-per-second', '1', '--client-rate-burst', '0',
          '--max-members', '3', '--max-history-page', '2', '--max-clients-per-connection', '2'],
      });
      const opened = [];
      try {
        const shared = realtime(name, own);
        const tom = await shared.createIMClient('Tom23');
        opened.push(tom, await shared.createIMClient('Jerry23'));
        // A third client on the same connection: refused, the others stay signed in.
        await assert.rejects(shared.createIMClient('Mary23'), (error) => {
          assert.equal(error.code, 4113);
          return true;
        });
        await assert.rejects(tom.createConversation({ members: ['A23', 'B23', 'C23'] }), (error) => {
          assert.equal([error.code, error.name].join(' '), '4304 CONVERSATION_FULL');
          return true;
        });
        const conv = await tom.createConversation({ members: ['Jerry23', 'A23'] });
        await assert.rejects(conv.add(['B23']), (error) => error.code === 4304);
        // Five at once against a burst of three: two are refused with 4116.
        const sends = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => conv.send(new TextMessage(`m${n}`))));
        const refused = sends.filter((s) => s.status === 'rejected').map((s) => [s.reason.code, s.reason.name].join(' '));
        assert.deepEqual(refused, ['4116 MESSAGE_SENT_QUOTA_EXCEEDED', '4116 MESSAGE_SENT_QUOTA_EXCEEDED']);
        // History pages are capped at two.
        const history = await conv.queryMessages({ limit: 100 });
        assert.equal(history.length, 2);
      } finally {
        await Promise.allSettled(opened.map((c) => settle(c.close())));
        await own.stop();
      }
    });
  });
}
