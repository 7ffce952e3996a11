// A LeanEngine app as a team that moves off LeanCloud would run it on its own: the official
// `leanengine` SDK with IM hooks. `hooks.test.cjs` starts it as a child process and points
// chinwag-server at it; it prints `engine listening on <port>` once it listens, and answers
// `GET /seen` with the parameters each hook was called with, for the test to check.
'use strict';

const http = require('node:http');
const AV = require('leanengine');

const { APP_ID, APP_KEY, MASTER_KEY, HOOK_KEY } = process.env;
// No LeanCloud behind it: the hooks below call no storage API.
AV.init({ appId: APP_ID, appKey: APP_KEY, masterKey: MASTER_KEY, hookKey: HOOK_KEY, serverURL: 'http://127.0.0.1:9' });

/** Hook name -> the params of each call, in order. */
const seen = {};
const record = (hook, params) => {
  (seen[hook] = seen[hook] || []).push(params);
};

// A sensitive-word filter and an anti-spam rule, as LeanCloud's hook guide shows them.
AV.Cloud.onIMMessageReceived((request) => {
  record('_messageReceived', request.params);
  const content = request.params.content;
  if (content.includes('spam')) return { drop: true, code: 1234, detail: 'no spam here' };
  return { content: content.replace('darn', '****') };
});

AV.Cloud.onIMMessageUpdate((request) => {
  record('_messageUpdate', request.params);
  return { content: request.params.content.replace('darn', '****') };
});

AV.Cloud.onIMConversationUpdate((request) => {
  record('_conversationUpdate', request.params);
  const attr = request.params.attr || {};
  return attr.name === 'Forbidden' ? { reject: true, code: 4323 } : {};
});

AV.Cloud.onIMConversationStart((request) => {
  record('_conversationStart', request.params);
  if (request.params.attr && request.params.attr.name === 'Forbidden') {
    return { reject: true, code: 4321, detail: 'not this name' };
  }
  return {};
});

AV.Cloud.onIMConversationAdd((request) => {
  record('_conversationAdd', request.params);
  return request.params.members.includes('Intruder') ? { reject: true, code: 4322 } : {};
});

for (const hook of ['onIMMessageSent', 'onIMReceiversOffline', 'onIMConversationStarted', 'onIMConversationAdded',
  'onIMClientOnline', 'onIMClientOffline']) {
  AV.Cloud[hook]((request) => {
    record(require('leanengine/lib/utils').realtimeHookMapping[hook], request.params);
    return {};
  });
}

const engine = AV.express();
const server = http.createServer((req, res) => {
  if (req.url === '/seen') {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(seen));
    return;
  }
  engine(req, res, () => {
    res.statusCode = 404;
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(`engine listening on ${server.address().port}`);
});
