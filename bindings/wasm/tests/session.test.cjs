// The IM session token: REST calls refresh it when it expired (`session/refresh`, signed by the
// `signatureFactory` when there is one), as the official SDK's session manager; against
// chinwag-servers issuing one-second tokens.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const { PKG, serverWithRealtimes, signer } = require('./harness.cjs');

const { Realtime, ConversationMemberRole, TextMessage } = require(PKG);

const APP = 'npm-app';

/** A server issuing one-second session tokens, and `realtime()` pointed at it. */
const setup = (t, serverOptions = {}) => serverWithRealtimes(t, { ...serverOptions, args: ['--session-ttl-secs', '1'] });

/** A raw REST read of the conversation's member infos with `token`: `[status, body]`. */
async function memberInfoWith(server, clientId, cid, token) {
  const where = encodeURIComponent(JSON.stringify({ cid }));
  const response = await fetch(`${server.http}/1.1/classes/_ConversationMemberInfo?where=${where}&client_id=${clientId}`, {
    headers: { 'X-LC-Id': APP, 'X-LC-Key': 'npm-key', 'X-LC-IM-Session-Token': token },
  });
  return [response.status, await response.json()];
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

test('a REST call after the session token expired refreshes it first and succeeds', async (t) => {
  const { server, realtime } = await setup(t);
  const rt = realtime();
  const tom = await rt.createIMClient('Tom');
  const conv = await tom.createConversation({ members: ['Jerry'] });
  const first = rt._core.sessionToken('Tom');
  assert.ok(first);
  assert.equal(rt._core.sessionTokenExpired('Tom'), false);

  await sleep(1200);
  assert.equal(rt._core.sessionTokenExpired('Tom'), true);
  // The server refuses the old token now: without a refresh the call below would fail.
  const [status, body] = await memberInfoWith(server, 'Tom', conv.id, first);
  assert.notEqual(status, 200);
  assert.equal(body.code, 4112);

  const infos = await conv.getAllMemberInfo({ noCache: true });
  assert.deepEqual(infos.map((info) => [info.memberId, info.role]),
    [['Jerry', ConversationMemberRole.MEMBER], ['Tom', ConversationMemberRole.OWNER]]);
  const fresh = rt._core.sessionToken('Tom');
  assert.ok(fresh && fresh !== first, 'a new token');
  assert.equal(rt._core.sessionTokenExpired('Tom'), false);
  assert.equal((await memberInfoWith(server, 'Tom', conv.id, fresh))[0], 200);

  // The client carries on over the same connection with the refreshed session.
  const sent = await conv.send(new TextMessage('still here'));
  assert.ok(sent.id);
});

test('with a signatureFactory the refresh is signed, once for concurrent REST calls', async (t) => {
  const { realtime } = await setup(t, { masterKey: 'npm-master' });
  const signed = signer('npm-master');
  const calls = [];
  const options = {
    signatureFactory: (clientId) => {
      calls.push(clientId);
      return Promise.resolve(signed((ts, n) => `${APP}:${clientId}::${ts}:${n}`));
    },
    conversationSignatureFactory: (cid, clientId, ids) =>
      signed((ts, n) => `${APP}:${clientId}:${ids.join(':')}:${ts}:${n}`),
  };
  const rt = realtime();
  const tom = await rt.createIMClient('Tom', options);
  const conv = await tom.createConversation({ members: ['Jerry'] });
  assert.deepEqual(calls, ['Tom'], 'the login');

  await sleep(1200);
  const first = rt._core.sessionToken('Tom');
  const [all, one] = await Promise.all([conv.getAllMemberInfo({ noCache: true }), conv.getMemberInfo('Jerry')]);
  assert.equal(all.length, 2);
  assert.equal(one.role, ConversationMemberRole.MEMBER);
  assert.deepEqual(calls, ['Tom', 'Tom'], 'one signed refresh for both calls');
  assert.notEqual(rt._core.sessionToken('Tom'), first);

  // A factory that fails makes the REST call fail with its error, and a later call tries again.
  await sleep(1200);
  tom.options.signatureFactory = () => {
    throw new Error('backend down');
  };
  await assert.rejects(conv.getAllMemberInfo({ noCache: true }), /sign error: backend down/);
  tom.options.signatureFactory = (clientId) => {
    calls.push(clientId);
    return signed((ts, n) => `${APP}:${clientId}::${ts}:${n}`);
  };
  assert.equal((await conv.getAllMemberInfo({ noCache: true })).length, 2, 'the next call refreshes');
  assert.deepEqual(calls, ['Tom', 'Tom', 'Tom']);
});
