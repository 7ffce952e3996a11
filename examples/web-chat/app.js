// The web-chat page: plain DOM code over the `chinwag` npm package's browser build, written against
// the leancloud-realtime API (swap the import for `leancloud-realtime` and it runs on LeanCloud).
import { Realtime, TextMessage, Event } from '/chinwag/web/index.js';

const $ = (selector) => document.querySelector(selector);
const config = await (await fetch('/config.json')).json();
const params = new URLSearchParams(location.search);
// `chinwag-local` is the app id a plain `cargo run -p chinwag-server` serves; `?appId=` picks another.
const realtime = new Realtime({
  appId: params.get('appId') || 'chinwag-local',
  appKey: params.get('appKey') || 'chinwag-local-key',
  RTMServers: params.get('server') || config.server,
});

let me = null;
let current = null;
const conversations = new Map();

function setStatus(text) {
  $('#status').textContent = text;
}

function label(conversation) {
  return conversation.name || conversation.members.filter((m) => m !== me.id).join(', ') || conversation.id;
}

function renderList() {
  const list = $('#conversations');
  list.textContent = '';
  const sorted = [...conversations.values()].sort((a, b) => (b.lastMessageAt || 0) - (a.lastMessageAt || 0));
  for (const conversation of sorted) {
    const item = document.createElement('li');
    item.dataset.id = conversation.id;
    item.classList.toggle('active', conversation === current);
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = label(conversation);
    const unread = document.createElement('span');
    unread.className = 'unread';
    unread.textContent = conversation === current || !conversation.unreadMessagesCount ? '' : String(conversation.unreadMessagesCount);
    item.append(name, unread);
    item.addEventListener('click', () => open(conversation));
    list.append(item);
  }
}

function remember(conversation) {
  conversations.set(conversation.id, conversation);
  renderList();
}

function appendMessage(message) {
  const item = document.createElement('li');
  item.className = 'message';
  item.dataset.id = message.id;
  if (message.from === me.id) item.classList.add('mine');
  const from = document.createElement('span');
  from.className = 'from';
  from.textContent = message.from;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = message.text ?? '[unsupported message]';
  const time = document.createElement('time');
  time.textContent = message.timestamp ? message.timestamp.toLocaleTimeString() : '';
  item.append(from, text, time);
  $('#messages').append(item);
  item.scrollIntoView();
}

function appendSystem(text) {
  const item = document.createElement('li');
  item.className = 'system';
  item.textContent = text;
  $('#messages').append(item);
}

function renderMembers() {
  $('#members').textContent = `Members: ${current.members.join(', ')}`;
}

async function open(conversation) {
  current = conversation;
  $('#chat').hidden = false;
  $('#title').textContent = label(conversation);
  renderMembers();
  $('#messages').textContent = '';
  const history = await conversation.queryMessages({ limit: 50 });
  if (current !== conversation) return;
  history.forEach(appendMessage);
  await conversation.read();
  renderList();
}

async function signIn(name) {
  me = await realtime.createIMClient(name);
  setStatus(`signed in as ${me.id}`);
  $('#signin').hidden = true;
  $('#app').hidden = false;
  for (const conversation of await me.getQuery().containsMembers([me.id]).find()) remember(conversation);

  me.on(Event.MESSAGE, (message, conversation) => {
    remember(conversation);
    if (conversation === current) {
      appendMessage(message);
      conversation.read().then(renderList);
    }
  });
  me.on(Event.UNREAD_MESSAGES_COUNT_UPDATE, (list) => list.forEach(remember));
  // An invitation names only the conversation: fetch its name and members.
  me.on(Event.INVITED, (payload, conversation) => {
    remember(conversation);
    me.getConversation(conversation.id, true).then(remember);
  });
  me.on(Event.KICKED, (payload, conversation) => {
    conversations.delete(conversation.id);
    if (conversation === current) appendSystem(`${payload.kickedBy} removed you`);
    renderList();
  });
  me.on(Event.MEMBERS_JOINED, (payload, conversation) => {
    if (conversation === current) {
      appendSystem(`${payload.members.join(', ')} joined (added by ${payload.invitedBy})`);
      renderMembers();
    }
  });
  me.on(Event.MEMBERS_LEFT, (payload, conversation) => {
    if (conversation === current) {
      appendSystem(`${payload.members.join(', ')} left`);
      renderMembers();
    }
  });
  for (const event of [Event.DISCONNECT, Event.RECONNECT, Event.OFFLINE, Event.ONLINE]) {
    me.on(event, () => setStatus(`${event} (${me.id})`));
  }
}

$('#signin').addEventListener('submit', (e) => {
  e.preventDefault();
  signIn($('#name').value.trim()).catch((error) => setStatus(`sign-in failed: ${error.name} ${error.code}`));
});

$('#create').addEventListener('submit', async (e) => {
  e.preventDefault();
  const members = $('#new-members').value.split(',').map((m) => m.trim()).filter(Boolean);
  const conversation = await me.createConversation({ members, name: $('#new-name').value.trim() || undefined });
  $('#new-members').value = '';
  $('#new-name').value = '';
  remember(conversation);
  await open(conversation);
});

$('#send').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('#text');
  const text = input.value;
  input.value = '';
  const message = await current.send(new TextMessage(text));
  appendMessage(message);
  renderList();
});

$('#add').addEventListener('submit', async (e) => {
  e.preventDefault();
  const member = $('#add-member').value.trim();
  $('#add-member').value = '';
  await current.add([member]);
  appendSystem(`you added ${member}`);
  renderMembers();
});

document.body.dataset.ready = 'true';
