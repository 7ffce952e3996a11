// Signature factories, member moderation, member roles and conversation look-ups, with the official
// SDK's call shapes and return shapes, against fresh chinwag-servers.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { PKG, serverWithRealtimes, signer, until, next } = require('./harness.cjs');

const { Realtime, Event, ConversationMemberRole, TextMessage } = require(PKG);

const APP = 'npm-app';

const setup = serverWithRealtimes;

test('signature factories sign sign-in, creation, membership and blacklist changes', async (t) => {
  const { realtime } = await setup(t, { masterKey: 'npm-master' });
  const signed = signer('npm-master');
  // What an app server computes (the official signing demo's strings); every call is recorded.
  const calls = [];
  const options = {
    signatureFactory: (clientId) => {
      calls.push(['login', clientId]);
      return signed((ts, n) => `${APP}:${clientId}::${ts}:${n}`);
    },
    // Promise-returning, as an app that asks its server would be.
    conversationSignatureFactory: (cid, clientId, ids, action) => {
      calls.push(['conversation', cid, clientId, ids, action]);
      return Promise.resolve(signed((ts, n) => (cid
        ? `${APP}:${clientId}:${cid}:${ids.join(':')}:${ts}:${n}:${action}`
        : `${APP}:${clientId}:${ids.join(':')}:${ts}:${n}`)));
    },
    blacklistSignatureFactory: (cid, clientId, ids, action) => {
      calls.push(['blacklist', cid, clientId, ids, action]);
      return signed((ts, n) => `${APP}:${clientId}:${cid}:${ids.join(':')}:${ts}:${n}:${action}`);
    },
  };

  const unsigned = realtime();
  await assert.rejects(unsigned.createIMClient('Tom'), (error) => error.code === 4102, 'unsigned sign-in is refused');

  const tom = await realtime().createIMClient('Tom', options);
  const jerry = await realtime().createIMClient('Jerry', options);
  await realtime().createIMClient('Mary', options);
  assert.deepEqual(calls.filter((c) => c[0] === 'login'), [['login', 'Tom'], ['login', 'Jerry'], ['login', 'Mary']]);

  calls.length = 0;
  const conv = await tom.createConversation({ members: ['Jerry'], name: 'signed' });
  assert.deepEqual(calls, [['conversation', null, 'Tom', ['Jerry', 'Tom'], 'create']]);
  assert.deepEqual(conv.members, ['Jerry', 'Tom']);

  calls.length = 0;
  assert.deepEqual(await conv.add(['Mary']), { successfulClientIds: ['Mary'], failures: [] });
  assert.deepEqual(await conv.remove('Mary'), { successfulClientIds: ['Mary'], failures: [] });
  assert.deepEqual(calls, [
    ['conversation', conv.id, 'Tom', ['Mary'], 'invite'],
    ['conversation', conv.id, 'Tom', ['Mary'], 'kick'],
  ]);

  calls.length = 0;
  assert.deepEqual((await conv.blockMembers(['Mary'])).failures, []);
  assert.deepEqual((await conv.unblockMembers(['Mary'])).failures, []);
  assert.deepEqual(calls, [
    ['blacklist', conv.id, 'Tom', ['Mary'], 'conversation-block-clients'],
    ['blacklist', conv.id, 'Tom', ['Mary'], 'conversation-unblock-clients'],
  ]);

  // Jerry quits and joins back: signed as kick/invite of himself.
  const jerrysConv = await jerry.getConversation(conv.id);
  calls.length = 0;
  await jerrysConv.quit();
  await jerrysConv.join();
  assert.deepEqual(calls.map((c) => c[4]), ['kick', 'invite']);
  assert.deepEqual(calls.map((c) => c[3]), [['Jerry'], ['Jerry']]);

  // A wrong signature is refused by the server; a malformed one never leaves the client.
  const forged = await realtime().createIMClient('Spike', {
    ...options,
    conversationSignatureFactory: () => ({ signature: 'deadbeef', timestamp: Math.floor(Date.now() / 1000), nonce: 'x' }),
  });
  await assert.rejects(forged.createConversation({ members: ['Tom'] }), (error) => error.code === 4302);
  const careless = await realtime().createIMClient('Tyke', {
    ...options,
    conversationSignatureFactory: () => ({ signature: 'abc' }),
  });
  await assert.rejects(careless.createConversation({ members: ['Tom'] }), /malformed signature/);
  const failing = realtime().createIMClient('Butch', {
    signatureFactory: () => Promise.reject(new Error('backend down')),
  });
  await assert.rejects(failing, /sign error: backend down/);
});

test('mute, block and their queries return the official shapes', async (t) => {
  const { realtime } = await setup(t);
  const tom = await realtime().createIMClient('Tom');
  const jerry = await realtime().createIMClient('Jerry');
  const mary = await realtime().createIMClient('Mary');
  const conv = await tom.createConversation({ members: ['Jerry', 'Mary'], name: 'moderated' });

  const jerryMuted = next(jerry, Event.MUTED);
  const muted = await conv.muteMembers(['Jerry', 'Stranger']);
  assert.deepEqual(muted.successfulClientIds, ['Jerry']);
  assert.equal(muted.failures.length, 1);
  assert.ok(muted.failures[0] instanceof Error);
  assert.deepEqual(muted.failures[0].clientIds, ['Stranger']);
  assert.equal(muted.failures[0].code, 4317);
  const [payload, where] = await jerryMuted;
  assert.equal(payload.mutedBy, 'Tom');
  assert.equal(where.id, conv.id);
  assert.deepEqual(await conv.queryMutedMembers(), { results: ['Jerry'], next: undefined });
  assert.deepEqual((await conv.unmuteMembers('Jerry')).successfulClientIds, ['Jerry']);
  assert.deepEqual((await conv.queryMutedMembers({ limit: 10 })).results, []);

  const maryBlocked = next(mary, Event.BLOCKED);
  const blocked = await conv.blockMembers(['Mary']);
  assert.deepEqual(blocked, { successfulClientIds: ['Mary'], failures: [] });
  assert.equal((await maryBlocked)[0].blockedBy, 'Tom');
  assert.deepEqual((await conv.queryBlockedMembers()).results, ['Mary']);
  // A blocked client can be neither added nor join: a partial failure with 4315.
  const again = await conv.add(['Mary']);
  assert.deepEqual(again.successfulClientIds, []);
  assert.deepEqual(again.failures[0].clientIds, ['Mary']);
  assert.equal(again.failures[0].code, 4315);
  const marysConv = await mary.getConversation(conv.id, true);
  await assert.rejects(marysConv.join(), (error) => error.code === 4315 && error.clientIds[0] === 'Mary');
  await conv.unblockMembers(['Mary']);
  assert.deepEqual((await conv.queryBlockedMembers({ limit: 5 })).results, []);
  await marysConv.join();
  await until(() => conv.members.includes('Mary'), 'Mary back in the conversation');
});

test('member roles: updateMemberRole, getAllMemberInfo, getMemberInfo and memberinfoupdated', async (t) => {
  const { realtime } = await setup(t);
  const tom = await realtime().createIMClient('Tom');
  const jerry = await realtime().createIMClient('Jerry');
  await realtime().createIMClient('Mary');
  const conv = await tom.createConversation({ members: ['Jerry', 'Mary'] });

  const before = await conv.getAllMemberInfo();
  assert.deepEqual(before.map((info) => info.toJSON()), [
    { conversationId: conv.id, memberId: 'Jerry', role: ConversationMemberRole.MEMBER, isOwner: false },
    { conversationId: conv.id, memberId: 'Mary', role: ConversationMemberRole.MEMBER, isOwner: false },
    { conversationId: conv.id, memberId: 'Tom', role: ConversationMemberRole.OWNER, isOwner: true },
  ]);

  const jerrysConv = await jerry.getConversation(conv.id);
  const updated = next(jerry, Event.MEMBER_INFO_UPDATED);
  await conv.updateMemberRole('Jerry', ConversationMemberRole.MANAGER);
  const [payload, where] = await updated;
  assert.equal(where, jerrysConv);
  assert.equal(payload.member, 'Jerry');
  assert.equal(payload.updatedBy, 'Tom');
  assert.equal(payload.memberInfo.role, ConversationMemberRole.MANAGER);
  assert.equal(payload.memberInfo.memberId, 'Jerry');
  // The cache follows the change; the server agrees when asked again.
  assert.equal((await conv.getMemberInfo('Jerry')).role, ConversationMemberRole.MANAGER);
  const fresh = await conv.getAllMemberInfo({ noCache: true });
  assert.equal(fresh.find((info) => info.memberId === 'Jerry').role, ConversationMemberRole.MANAGER);
  assert.equal((await jerrysConv.getMemberInfo('Tom')).isOwner, true);
  await assert.rejects(conv.getMemberInfo('Nobody'), /is not the mumber/);
  await assert.rejects(conv.updateMemberRole('Jerry', ConversationMemberRole.OWNER), (error) => error.code === 5130);
});

test('getConversation resolves null for an unknown id, getConversations null in its place', async (t) => {
  const { realtime } = await setup(t);
  const tom = await realtime().createIMClient('Tom');
  const conv = await tom.createConversation({ members: ['Jerry'] });
  assert.equal(await tom.getConversation('000000000000000000000000'), null);
  assert.equal(await tom.getConversation('000000000000000000000000', true), null);
  const both = await tom.getConversations([conv.id, '000000000000000000000000']);
  assert.equal(both.length, 2);
  assert.equal(both[0], conv);
  assert.equal(both[1], null);
  await assert.rejects(tom.getConversation(42), TypeError);
  // Still usable afterwards.
  assert.equal((await conv.send(new TextMessage('still here'))).text, 'still here');
});

test('a conversation first seen in a push arrives fetched: invited, message in an uncached conversation', async (t) => {
  const { realtime } = await setup(t);
  const tom = await realtime().createIMClient('Tom');
  const jerry = await realtime().createIMClient('Jerry');

  // Jerry never saw the conversation: the event's conversation already has name, members, attributes.
  const invited = next(jerry, Event.INVITED);
  const conv = await tom.createConversation({ members: ['Jerry'], name: 'Named', color: 'green' });
  const [payload, jerrysConv] = await invited;
  assert.equal(payload.invitedBy, 'Tom');
  assert.equal(jerrysConv.id, conv.id);
  assert.equal(jerrysConv.name, 'Named');
  assert.deepEqual([...jerrysConv.members].sort(), ['Jerry', 'Tom']);
  assert.equal(jerrysConv.get('color'), 'green');
  assert.equal(jerrysConv.creator, 'Tom');

  // Kate is added while offline, signs in later and first hears of the conversation by a message.
  await conv.add(['Kate']);
  const kate = await realtime().createIMClient('Kate');
  const received = next(kate, Event.MESSAGE);
  await conv.send(new TextMessage('welcome'));
  const [message, katesConv] = await received;
  assert.equal(message.text, 'welcome');
  assert.equal(katesConv.name, 'Named');
  assert.deepEqual([...katesConv.members].sort(), ['Jerry', 'Kate', 'Tom']);
  assert.equal(katesConv.get('color'), 'green');
});
