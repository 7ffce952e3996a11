// Compiled with `tsc --strict --noEmit` by types.test.cjs: the seed guide's calls, typed.
import {
  Realtime, TextMessage, TypedMessage, Event, IMClient, Conversation, Message, RealtimeError, ConversationMemberRole,
  ConversationMemberInfo, PagedResults, PartiallySuccess, Plugin, SignatureResult, messageType, messageField,
} from 'chinwag';

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

/** A custom typed message, as the official guide declares one. */
class LocationMessage extends TypedMessage {
  latitude = 0;
  longitude = 0;
}
messageField(['latitude', 'longitude'])(LocationMessage);
messageType(42)(LocationMessage);

async function moderation(): Promise<void> {
  const sign = (text: string): SignatureResult => ({ signature: text, timestamp: 1, nonce: 'n' });
  const plugin: Plugin = {
    name: 'typed',
    messageClasses: [LocationMessage],
    onIMClientCreate: (client) => console.log(client.id),
    beforeMessageParse: (content) => content,
    afterMessageParse: async (message) => message,
    beforeMessageDispatch: (message, conversation) => message.from !== conversation.id,
  };
  const realtime = new Realtime({ appId: 'app', appKey: 'key', plugins: [plugin] });
  realtime.register([LocationMessage]);
  const tom = await realtime.createIMClient('Tom', {
    signatureFactory: (clientId) => sign(clientId),
    conversationSignatureFactory: async (cid, clientId, ids, action) => sign(`${cid}:${clientId}:${ids.join(':')}:${action}`),
    blacklistSignatureFactory: (cid, clientId, ids, action) => sign(`${cid}:${clientId}:${ids.join(':')}:${action}`),
  });
  const conversation: Conversation = await tom.createConversation({ members: ['Jerry'] });
  const muted: PartiallySuccess = await conversation.muteMembers(['Jerry']);
  const code: number | undefined = muted.failures[0]?.code;
  const page: PagedResults<string> = await conversation.queryMutedMembers({ limit: 10 });
  const cursor: string | undefined = page.next;
  await conversation.unmuteMembers('Jerry');
  await conversation.blockMembers(['Jerry']);
  const blocked: string[] = (await conversation.queryBlockedMembers()).results;
  await conversation.unblockMembers(['Jerry']);
  const infos: ConversationMemberInfo[] = await conversation.getAllMemberInfo({ noCache: true });
  const role: ConversationMemberRole = (await conversation.getMemberInfo('Jerry')).role;
  await conversation.updateMemberRole('Jerry', ConversationMemberRole.MANAGER);
  tom.on(Event.MEMBER_INFO_UPDATED, (payload, conv) => console.log(payload.memberInfo.isOwner, payload.member, conv.id));
  const maybe: Conversation | null = (await tom.getConversation('id')) as Conversation | null;
  const location = new LocationMessage();
  location.latitude = 1;
  await conversation.send(location);
  console.log(code, cursor, blocked, infos.map((i) => i.toJSON()), role, maybe);
}
main();
moderation();
