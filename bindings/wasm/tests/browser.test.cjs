// Headless Chromium (Debian's, driven by playwright-core) opens examples/web-chat in two browser
// contexts that chat with each other through a fresh chinwag-server; asserts on the DOM and saves
// screenshots to target/web-chat-*.png.
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const { ROOT, PKG, startServer } = require('./harness.cjs');
const { serve } = require(path.join(ROOT, 'examples/web-chat/serve.cjs'));

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

test('web-chat: two browsers chat through the server', async (t) => {
  const server = await startServer();
  const site = await serve({ server: server.ws, pkg: PKG });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    // playwright runs it headless with a fresh temporary profile (its own --user-data-dir).
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(async () => {
    await browser.close();
    await site.close();
    await server.stop();
  });
  const errors = [];
  const page = async (name) => {
    const context = await browser.newContext({ viewport: { width: 900, height: 560 } });
    const p = await context.newPage();
    p.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
    p.on('console', (m) => m.type() === 'error' && errors.push(`${name}: ${m.text()}`));
    await p.goto(site.url);
    await p.waitForSelector('body[data-ready="true"]');
    await p.fill('#name', name);
    await p.click('#signin button');
    await p.waitForSelector(`#status:text("signed in as ${name}")`);
    return p;
  };
  const jerry = await page('Jerry');
  const tom = await page('Tom');

  // Tom starts a conversation and says hello; Jerry sees it in his list with one unread message.
  await tom.fill('#new-members', 'Jerry');
  await tom.fill('#new-name', 'Web chat');
  await tom.click('#create button');
  await tom.waitForSelector('#title:text("Web chat")');
  await tom.fill('#text', 'hello from Tom');
  await tom.click('#send button');
  await tom.waitForSelector('#messages li.mine .text:text("hello from Tom")');
  const entry = jerry.locator('#conversations li', { hasText: 'Web chat' });
  await entry.locator('.unread:text("1")').waitFor();

  // Jerry opens it: history, unread cleared, then a live reply Tom sees.
  await entry.click();
  await jerry.waitForSelector('#messages li.message .text:text("hello from Tom")');
  assert.equal(await entry.locator('.unread').textContent(), '');
  await jerry.fill('#text', 'hi Tom!');
  await jerry.click('#send button');
  await tom.waitForSelector('#messages li.message:not(.mine) .text:text("hi Tom!")');

  // Tom adds Spike: Jerry sees the member event and the new member list.
  await tom.fill('#add-member', 'Spike');
  await tom.click('#add button');
  await jerry.waitForSelector('#messages li.system:text("Spike joined (added by Tom)")');
  assert.match(await jerry.textContent('#members'), /Jerry, Spike, Tom/);

  const out = path.join(ROOT, 'target');
  fs.mkdirSync(out, { recursive: true });
  await tom.screenshot({ path: path.join(out, 'web-chat-tom.png') });
  await jerry.screenshot({ path: path.join(out, 'web-chat-jerry.png') });
  assert.deepEqual(errors, []);
});
