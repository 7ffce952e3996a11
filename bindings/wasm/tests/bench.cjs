// Receive-path CPU per message: the chinwag npm package vs the official leancloud-realtime 4.3.1, on
// the same chinwag-server and workload (one sender, one receiver, N messages; the sender runs in a
// child process so only the receiver's work is measured with process.cpuUsage()).
//
//   node --experimental-websocket bench.cjs [N=20000]      (after `cargo xtask wasm`)
//
// chinwag runs twice: over Node's global WebSocket (what the package uses by default) and over the
// `ws` package, the transport the official SDK uses in Node.
'use strict';

const path = require('node:path');
const { fork } = require('node:child_process');
const { ROOT, PKG, startServer } = require('./harness.cjs');

const N = Number(process.argv[2] || 20000);
const OFFICIAL = path.join(ROOT, 'crates/server/interop/node_modules/lc4');

if (process.argv[2] === '--sender') {
  // Child: the official SDK sends N messages to `cid`, 100 in flight at a time.
  process.on('message', async ({ ws, cid, n }) => {
    const { Realtime, TextMessage } = require(OFFICIAL);
    const rt = new Realtime({ appId: 'bench', appKey: 'k', RTMServers: ws });
    const tom = await rt.createIMClient('Sender');
    const conv = await tom.getConversation(cid);
    if (process.env.BENCH_DEBUG) console.error('sender ready', Boolean(conv));
    for (let i = 0; i < n; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, j) => conv.send(new TextMessage(`message ${i + j}`))));
    }
    await tom.close();
    process.exit(0);
  });
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

async function run(name, sdk) {
  // The sender goes as fast as acks come back: lift the server's per-connection and per-client rate limits.
  process.env.CHINWAG_RATE_BURST = '0';
  process.env.CHINWAG_CLIENT_RATE_BURST = '0';
  const server = await startServer();
  try {
    const rt = new sdk.Realtime({ appId: 'bench', appKey: 'k', RTMServers: server.ws });
    const receiver = await rt.createIMClient('Receiver');
    const conv = await receiver.createConversation({ members: ['Sender'], name: 'bench' });
    let got = 0;
    let cpuStart;
    let wallStart;
    const done = new Promise((resolve) => {
      receiver.on(sdk.Event.MESSAGE, () => {
        got += 1;
        if (got === 1) {
          cpuStart = process.cpuUsage();
          wallStart = process.hrtime.bigint();
        }
        if (got === N) resolve();
      });
    });
    const child = fork(__filename, ['--sender'], { execArgv: [] });
    child.send({ ws: server.ws, cid: conv.id, n: N });
    await done;
    const cpu = process.cpuUsage(cpuStart);
    const wall = Number(process.hrtime.bigint() - wallStart) / 1e6;
    await new Promise((r) => child.on('exit', r));
    if (rt.close) await rt.close();
    else await receiver.close();
    const us = (cpu.user + cpu.system) / (N - 1);
    return { name, us, wall };
  } finally {
    await server.stop();
  }
}

async function main() {
  const chinwag = require(PKG);
  const rows = [await run("chinwag (npm, wasm), Node's WebSocket", chinwag)];
  // The official SDK runs over the `ws` package in Node; the same transport under chinwag separates
  // the SDKs' own cost from the WebSocket implementation's (Node 20's is undici's, in JS).
  const nodeWebSocket = globalThis.WebSocket;
  globalThis.WebSocket = require('ws');
  rows.push(await run('chinwag (npm, wasm), `ws` package', chinwag));
  globalThis.WebSocket = nodeWebSocket;
  rows.push(await run('leancloud-realtime 4.3.1 (`ws` package)', require(OFFICIAL)));
  console.log(`receive path, ${N} messages, one sender, one receiver`);
  console.log('| client | CPU per message | wall time |');
  console.log('|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.us.toFixed(1)} µs | ${(r.wall / 1000).toFixed(2)} s |`);
  process.exit(0);
}
