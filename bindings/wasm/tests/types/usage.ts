// Compiled with `tsc --strict --noEmit` by types.test.cjs: the seed guide's calls, typed.
import { Realtime, TextMessage, Event, IMClient, Conversation, Message, RealtimeError } from 'chinwag';

async function main(): Promise<void> {
  const realtime = new Realtime({ appId: 'app', appKey: 'key', RTMServers: 'ws://127.0.0.1:8282/' });
  const tom: IMClient = await realtime.createIMClient('Tom');
  const conversation: Conversation = await tom.createConversation({ members: ['Jerry'], name: 'Tom & Jerry', unique: false });
  const sent: TextMessage = await conversation.send(new TextMessage('Hi, Jerry.'));
  const id: string | undefined = sent.id;
  const at: Date | undefined = sent.timestamp;
  const found: Conversation[] = await tom.getQuery().containsMembers(['Jerry']).find();
  found.map((c) => [c.lastMessageAt?.toString(), c.members]);
  const added = await conversation.add(['Mary']);
  const ok: string[] = added.successfulClientIds;
  tom.on(Event.MEMBERS_JOINED, (payload, conv) => console.log(payload.members, payload.invitedBy, conv.id));
  tom.on(Event.MESSAGE, (message: Message, conv) => console.log(message.from, conv.id));
  conversation.on(Event.KICKED, (payload) => console.log(payload.kickedBy));
  const history: Message[] = await conversation.queryMessages({ limit: 10 });
  await conversation.read();
  await conversation.recall(history[0]);
  await conversation.update(history[0], new TextMessage('edited'));
  await conversation.quit();
  await conversation.join();
  try {
    await conversation.remove(['Mary']);
  } catch (e) {
    const error = e as RealtimeError;
    console.log(error.code, error.name, id, at, ok);
  }
}
main();
