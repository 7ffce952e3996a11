// Golden vectors: representative LeanCloud RTM commands encoded by the official `leancloud-realtime`
// package's own protobuf encoder (protobufjs 5, exactly as the SDK sends them).
//
// Usage: node generate.cjs OUT_DIR      (run through `cargo xtask golden`)
//
// Writes OUT_DIR/<name>.bin (binary frame, lc.protobuf2.*) and OUT_DIR/<name>.b64 (text frame,
// lc.proto2base64.*) per vector. Every vector is encoded with 5.0.0-rc.8; vectors that use no v5-only field
// are also encoded with 4.3.1 (npm latest) and must come out byte-identical.
'use strict';

const fs = require('fs');
const path = require('path');

const v5 = require('lc5').Protocols;
const v4 = require('lc4').Protocals; // 4.3.1 exports the misspelt name only

const { CommandType: C, OpType: O } = v5;
const OLD = 1;
const NEW = 2;

const bytes = (...values) => Buffer.from(values);
const json = (value) => ({ data: JSON.stringify(value) });
const text = (t) => JSON.stringify({ _lctype: -1, _lctext: t });

/** name → GenericCommand fields (as the SDK would pass them to `new GenericCommand`). */
const vectors = {
  session_open: {
    cmd: C.session, op: O.open, appId: 'x7WmVG0x63V6u8MCYM8qxKo8-gzGzoHsz', peerId: 'Tom', i: 1,
    sessionMessage: {
      ua: 'js/5.0.0-rc.8', r: false, tag: 'mobile', deviceId: '5b6e2a7c-6f6d-4d0e-9f41-3c1a2b3c4d5e',
      s: '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c', t: 1732560000, n: 'nonce-1',
      lastUnreadNotifTime: 1732560000123, lastPatchTime: 1732560000456, configBitmap: 187,
    },
  },
  session_open_relogin: {
    cmd: C.session, op: O.open, appId: 'x7WmVG0x63V6u8MCYM8qxKo8-gzGzoHsz', peerId: 'Tom', i: 7,
    sessionMessage: {
      ua: 'js/5.0.0-rc.8', r: true, st: 'st-token-abc', lastUnreadNotifTime: 1732560000123,
      lastPatchTime: 1732560000456, configBitmap: 187,
    },
  },
  session_opened: {
    cmd: C.session, op: O.opened, peerId: 'Tom', i: 1, serverTs: 1732560001000,
    sessionMessage: { st: 'st-token-abc', stTtl: 17280 },
  },
  session_closed_conflict: {
    cmd: C.session, op: O.closed, peerId: 'Tom', service: 2,
    sessionMessage: { code: 4111, reason: 'SESSION_CONFLICT', detail: 'another device logged in' },
  },
  session_query_result: {
    cmd: C.session, op: O.query_result, i: 3,
    sessionMessage: { onlineSessionPeerIds: ['Jerry', 'Mary'] },
  },
  direct_send_text: {
    cmd: C.direct, i: 2,
    directMessage: {
      cid: '5b1f0a0a1f2e3d4c5b6a7980', msg: text('Hi, Jerry.'), r: true, transient: false, will: false,
      dt: '2f7b1c9e-1111-4222-8333-944455556666', pushData: JSON.stringify({ alert: 'new message' }),
      mentionPids: ['Jerry'], mentionAll: false,
    },
  },
  direct_send_binary: {
    cmd: C.direct, peerId: 'Tom', i: 4,
    directMessage: {
      cid: '5b1f0a0a1f2e3d4c5b6a7980', binaryMsg: bytes(0, 1, 2, 0xfe, 0xff), transient: true,
      dt: 'dt-binary-1', mentionAll: false,
    },
  },
  direct_push: {
    cmd: C.direct, peerId: 'Jerry', service: 2,
    directMessage: {
      id: 'Nq5VvbWCQ6ucBkk9L4SYmw', cid: '5b1f0a0a1f2e3d4c5b6a7980', fromPeerId: 'Tom',
      timestamp: 1732560002000, msg: text('Hi, Jerry.'), offline: true, hasMore: false,
      mentionPids: ['Jerry'], mentionAll: false, convType: 1,
    },
  },
  ack_reply: {
    cmd: C.ack, i: 2, ackMessage: { uid: 'Nq5VvbWCQ6ucBkk9L4SYmw', t: 1732560002000 },
  },
  ack_error_reply: {
    cmd: C.ack, i: 5,
    ackMessage: { code: 4401, reason: 'INVALID_MESSAGING_TARGET', appCode: 0 },
  },
  client_ack_range: {
    cmd: C.ack, ackMessage: { cid: '5b1f0a0a1f2e3d4c5b6a7980', fromts: 1732560002000, tots: 1732560009000 },
  },
  client_ack_mid: {
    cmd: C.ack, peerId: 'Jerry', ackMessage: { cid: '5b1f0a0a1f2e3d4c5b6a7980', mid: 'Nq5VvbWCQ6ucBkk9L4SYmw' },
  },
  rcp_push: {
    cmd: C.rcp, peerId: 'Tom', service: 2,
    rcpMessage: {
      id: 'Nq5VvbWCQ6ucBkk9L4SYmw', cid: '5b1f0a0a1f2e3d4c5b6a7980', t: 1732560003000, read: true, from: 'Jerry',
    },
  },
  unread_push: {
    cmd: C.unread, peerId: 'Jerry', service: 2,
    unreadMessage: {
      convs: [
        { cid: 'conv-a', unread: 3, mid: 'mid-a', timestamp: 1732560004000, from: 'Tom', data: text('three'),
          patchTimestamp: 1732560004500, mentioned: true, convType: 1 },
        { cid: 'conv-b', unread: 0 },
        { cid: 'conv-c', unread: 12, mid: 'mid-c', timestamp: 1732560005000, from: 'Mary',
          binaryMsg: bytes(9, 8, 7), mentioned: false },
      ],
      notifTime: 1732560006000,
    },
  },
  read: {
    cmd: C.read,
    readMessage: {
      convs: [
        { cid: 'conv-a', mid: 'mid-a', timestamp: 1732560004000 },
        { cid: 'conv-c', timestamp: 1732560005000 },
      ],
    },
  },
  logs_query: {
    cmd: C.logs, i: 9,
    logsMessage: {
      cid: '5b1f0a0a1f2e3d4c5b6a7980', t: 1732560000000, mid: 'mid-start', tIncluded: false,
      tt: 1732560009000, tmid: 'mid-end', ttIncluded: true, l: 50, lctype: -1, direction: NEW,
    },
  },
  logs_result: {
    cmd: C.logs, i: 9,
    logsMessage: {
      logs: [
        { from: 'Tom', data: text('one'), timestamp: 1732560001000, msgId: 'm1', ackAt: 1732560001100,
          readAt: 1732560001200, mentionAll: false, mentionPids: [], convType: 1 },
        { from: 'Jerry', data: 'AAEC/w==', timestamp: 1732560002000, msgId: 'm2', bin: true },
        { from: 'Tom', data: text('three, edited'), timestamp: 1732560003000, msgId: 'm3',
          patchTimestamp: 1732560004000, mentionAll: true, mentionPids: ['Jerry', 'Mary'] },
      ],
    },
  },
  conv_start: {
    cmd: C.conv, op: O.start, i: 10,
    convMessage: {
      m: ['Jerry', 'Tom'], unique: true, transient: false,
      attr: json({ name: 'Tom & Jerry', type: 'private', pinned: true,
        since: { __type: 'Date', iso: '2026-11-25T12:00:00.000Z' } }),
    },
  },
  conv_started: {
    cmd: C.conv, op: O.started, i: 10,
    convMessage: { cid: '5b1f0a0a1f2e3d4c5b6a7980', cdate: '2026-11-25T12:00:01.000Z', uniqueId: 'u-1' },
  },
  conv_query: {
    cmd: C.conv, op: O.query, i: 11,
    convMessage: {
      where: json({ m: { $all: ['Jerry'] }, name: { $regex: '^\\QTom\\E' } }), sort: '-lm',
      limit: 10, skip: 0, flag: 3,
    },
  },
  conv_query_result: {
    cmd: C.conv, op: O.results, i: 11,
    convMessage: {
      results: json([{
        objectId: '5b1f0a0a1f2e3d4c5b6a7980', m: ['Jerry', 'Tom'], c: 'Tom', name: 'Tom & Jerry', tr: false,
        mu: [], lm: { __type: 'Date', iso: '2026-11-25T12:00:02.000Z' }, createdAt: '2026-11-25T12:00:01.000Z',
        updatedAt: '2026-11-25T12:00:01.000Z', msg: text('Hi, Jerry.'), msg_from: 'Tom', msg_mid: 'Nq5VvbWCQ6ucBkk9L4SYmw',
        msg_timestamp: 1732560002000,
      }]),
    },
  },
  conv_members_joined: {
    cmd: C.conv, op: O.members_joined, peerId: 'Jerry', service: 2, serverTs: 1732560007000, notificationType: 1,
    convMessage: { cid: '5b1f0a0a1f2e3d4c5b6a7980', m: ['Mary'], initBy: 'Tom' },
  },
  conv_joined: {
    cmd: C.conv, op: O.joined, peerId: 'Mary', service: 2,
    convMessage: { cid: '5b1f0a0a1f2e3d4c5b6a7980', initBy: 'Tom' },
  },
  conv_add_partial: {
    cmd: C.conv, op: O.added, i: 12,
    convMessage: {
      allowedPids: ['Mary'],
      failedPids: [{ code: 4315, reason: 'CONVERSATION_BLACKLISTED', pids: ['Spike'] }],
    },
  },
  conv_update: {
    cmd: C.conv, op: O.update, i: 13,
    convMessage: { cid: '5b1f0a0a1f2e3d4c5b6a7980', attr: json({ name: 'Cat & Mouse', 'attr.lee': 1 }) },
  },
  conv_member_info_update: {
    cmd: C.conv, op: O.member_info_update, i: 14,
    convMessage: { cid: '5b1f0a0a1f2e3d4c5b6a7980', targetClientId: 'Jerry', info: { pid: 'Jerry', role: 'Manager' } },
  },
  patch_modify: {
    cmd: C.patch, op: O.modify, i: 15,
    patchMessage: {
      patches: [{ cid: '5b1f0a0a1f2e3d4c5b6a7980', mid: 'Nq5VvbWCQ6ucBkk9L4SYmw', timestamp: 1732560002000,
        recall: false, data: text('Hi, Jerry!'), mentionAll: false, mentionPids: [] }],
    },
  },
  patch_recall_push: {
    cmd: C.patch, op: O.modify, peerId: 'Jerry', service: 2,
    patchMessage: {
      patches: [{ cid: '5b1f0a0a1f2e3d4c5b6a7980', mid: 'Nq5VvbWCQ6ucBkk9L4SYmw', timestamp: 1732560002000,
        recall: true, data: JSON.stringify({ _lctype: -127 }), patchTimestamp: 1732560008000, from: 'Tom',
        patchCode: 1, patchReason: 'recalled by sender' }],
      lastPatchTime: 1732560008000,
    },
  },
  blacklist_block: {
    cmd: C.blacklist, op: O.block, i: 16,
    blacklistMessage: { srcCid: '5b1f0a0a1f2e3d4c5b6a7980', toPids: ['Spike'], s: 'sig', t: 1732560000, n: 'n' },
  },
  error_reply: {
    cmd: C.error, i: 17,
    errorMessage: { code: 4401, reason: 'INVALID_MESSAGING_TARGET', appCode: 0, detail: 'not a member',
      pids: ['Spike'], appMsg: '' },
  },
  echo: { cmd: C.echo, i: 18 },
  goaway: { cmd: C.goaway },
};

/** Fields added in v5 (PROTOCOL.md §1.3): vectors using them are not encodable by 4.3.1. */
const V5_ONLY = ['clientTs', 'notificationType'];

function main() {
  const out = process.argv[2];
  if (!out) throw new Error('usage: node generate.cjs OUT_DIR');
  fs.mkdirSync(out, { recursive: true });
  for (const [name, fields] of Object.entries(vectors)) {
    const encoded = Buffer.from(new v5.GenericCommand(fields).toArrayBuffer());
    const base64 = new v5.GenericCommand(fields).toBase64();
    if (!base64 || Buffer.from(base64, 'base64').compare(encoded) !== 0) {
      throw new Error(`${name}: base64 form differs from the binary form`);
    }
    if (!V5_ONLY.some((key) => key in fields)) {
      const legacy = Buffer.from(new v4.GenericCommand(fields).toArrayBuffer());
      if (legacy.compare(encoded) !== 0) throw new Error(`${name}: 4.3.1 and 5.0.0-rc.8 encode differently`);
    }
    // The official decoder must read its own output back (it throws on a missing required field).
    v5.GenericCommand.decode(encoded);
    fs.writeFileSync(path.join(out, `${name}.bin`), encoded);
    fs.writeFileSync(path.join(out, `${name}.b64`), `${base64}\n`);
  }
  console.log(`golden: wrote ${Object.keys(vectors).length} vectors to ${out}`);
}

main();
