// Types of the npm package `chinwag`: the `leancloud-realtime` API (names and shapes of 4.3.1 / 5.0),
// implemented over the chinwag Rust core compiled to WebAssembly.

export declare enum Event {
  DISCONNECT = 'disconnect',
  RECONNECT = 'reconnect',
  RETRY = 'retry',
  SCHEDULE = 'schedule',
  OFFLINE = 'offline',
  ONLINE = 'online',
  RECONNECT_ERROR = 'reconnecterror',
  UNREAD_MESSAGES_COUNT_UPDATE = 'unreadmessagescountupdate',
  CLOSE = 'close',
  CONFLICT = 'conflict',
  CONVERSATION_INFO_UPDATED = 'conversationinfoupdated',
  UNHANDLED_MESSAGE = 'unhandledmessage',
  INVITED = 'invited',
  KICKED = 'kicked',
  MEMBERS_JOINED = 'membersjoined',
  MEMBERS_LEFT = 'membersleft',
  MEMBER_INFO_UPDATED = 'memberinfoupdated',
  BLOCKED = 'blocked',
  UNBLOCKED = 'unblocked',
  MEMBERS_BLOCKED = 'membersblocked',
  MEMBERS_UNBLOCKED = 'membersunblocked',
  MUTED = 'muted',
  UNMUTED = 'unmuted',
  MEMBERS_MUTED = 'membersmuted',
  MEMBERS_UNMUTED = 'membersunmuted',
  MESSAGE = 'message',
  MESSAGE_RECALL = 'messagerecall',
  MESSAGE_UPDATE = 'messageupdate',
  LAST_DELIVERED_AT_UPDATE = 'lastdeliveredatupdate',
  LAST_READ_AT_UPDATE = 'lastreadatupdate',
  INFO_UPDATED = 'infoupdated',
}

export declare enum MessageStatus {
  NONE = 0,
  SENDING = 1,
  SENT = 2,
  DELIVERED = 3,
  FAILED = 4,
}

export declare enum MessagePriority {
  HIGH = 1,
  NORMAL = 2,
  LOW = 3,
}

export declare enum MessageQueryDirection {
  NEW_TO_OLD = 1,
  OLD_TO_NEW = 2,
}

export declare enum ConversationMemberRole {
  OWNER = 'Owner',
  MANAGER = 'Manager',
  MEMBER = 'Member',
}

export declare const ErrorCode: { readonly [name: string]: number };

/** An error from the server or the core: `code` is the protocol code, `name` its symbolic name. */
export declare class RealtimeError extends Error {
  code: number;
  name: string;
  detail?: string;
  appCode?: number;
  appMessage?: string;
}

/** A failure of a membership operation for some client ids. */
export interface OperationFailureError extends RealtimeError {
  clientIds: string[];
}

/** The outcome of `add`, `remove`, `muteMembers`, ... */
export interface PartiallySuccess {
  successfulClientIds: string[];
  failures: OperationFailureError[];
}

/** What a signature factory returns (or resolves to): computed by the app's server. */
export interface SignatureResult {
  signature: string;
  timestamp: number;
  nonce: string;
}
export type SignatureFactoryResult = Promise<SignatureResult> | SignatureResult;

/** A page of muted or blocked members; `next` is the cursor of the following page, if any. */
export interface PagedResults<T> {
  results: T[];
  next?: string;
}
export interface PagedQueryParams {
  limit?: number;
  next?: string;
}

export interface PatchReason {
  code: number;
  detail?: string;
}

type Listener = (...args: any[]) => unknown;

export declare class EventEmitter<T> {
  on<K extends keyof T>(event: K, listener: T[K]): this;
  on(event: string, listener: Listener): this;
  once<K extends keyof T>(event: K, listener: T[K]): this;
  once(event: string, listener: Listener): this;
  off(event: keyof T | string, listener?: Listener): this;
  emit(event: keyof T | string, ...args: unknown[]): boolean;
}

/** Connection events of `Realtime` (and of each client). */
export interface ConnectionEvents {
  [Event.DISCONNECT]: () => void;
  [Event.RECONNECT]: () => void;
  [Event.RETRY]: (attempt: number) => void;
  [Event.SCHEDULE]: (attempt: number, delay: number) => void;
  [Event.OFFLINE]: () => void;
  [Event.ONLINE]: () => void;
}

/** Events emitted on the conversation, and on its client with the conversation as last argument. */
export interface SharedPayloads {
  [Event.INVITED]: { invitedBy: string };
  [Event.KICKED]: { kickedBy: string };
  [Event.MEMBERS_JOINED]: { members: string[]; invitedBy: string };
  [Event.MEMBERS_LEFT]: { members: string[]; kickedBy: string };
  [Event.MEMBER_INFO_UPDATED]: {
    member: string;
    memberInfo: ConversationMemberInfo;
    updatedBy: string;
    /** chinwag extension: the new role, as `memberInfo.role`. */
    role: ConversationMemberRole;
  };
  [Event.BLOCKED]: { blockedBy: string };
  [Event.UNBLOCKED]: { unblockedBy: string };
  [Event.MEMBERS_BLOCKED]: { blockedBy: string; members: string[] };
  [Event.MEMBERS_UNBLOCKED]: { unblockedBy: string; members: string[] };
  [Event.MUTED]: { mutedBy: string };
  [Event.UNMUTED]: { unmutedBy: string };
  [Event.MEMBERS_MUTED]: { mutedBy: string; members: string[] };
  [Event.MEMBERS_UNMUTED]: { unmutedBy: string; members: string[] };
}

type ClientShared = {
  [K in keyof SharedPayloads]: (payload: SharedPayloads[K], conversation: ConversationBase) => void;
};
type ConversationShared = {
  [K in keyof SharedPayloads]: (payload: SharedPayloads[K]) => void;
};

export interface ClientEvents extends ConnectionEvents, ClientShared {
  [Event.MESSAGE]: (message: Message, conversation: ConversationBase) => void;
  [Event.MESSAGE_RECALL]: (message: Message, conversation: ConversationBase, reason?: PatchReason) => void;
  [Event.MESSAGE_UPDATE]: (message: Message, conversation: ConversationBase, reason?: PatchReason) => void;
  [Event.RECONNECT_ERROR]: (error: RealtimeError) => void;
  [Event.UNREAD_MESSAGES_COUNT_UPDATE]: (conversations: ConversationBase[]) => void;
  [Event.CLOSE]: (payload: { code: number; reason: string }) => void;
  [Event.CONFLICT]: (payload: { reason: string }) => void;
  [Event.CONVERSATION_INFO_UPDATED]: (
    payload: { attributes: Record<string, unknown>; updatedBy: string },
    conversation: ConversationBase,
  ) => void;
  [Event.UNHANDLED_MESSAGE]: (payload: { cmd?: number; op?: number }) => void;
}

export interface ConversationEvents extends ConversationShared {
  [Event.MESSAGE]: (message: Message) => void;
  [Event.MESSAGE_RECALL]: (message: Message, reason?: PatchReason) => void;
  [Event.MESSAGE_UPDATE]: (message: Message, reason?: PatchReason) => void;
  [Event.LAST_DELIVERED_AT_UPDATE]: () => void;
  [Event.LAST_READ_AT_UPDATE]: () => void;
  [Event.INFO_UPDATED]: (payload: { attributes: Record<string, unknown>; updatedBy: string }) => void;
}

interface AVUser {
  id: string;
  getSessionToken(): string;
}

/** A decorator hook: called with the new object. */
export type Decorator<T> = (target: T) => void;
/** A middleware hook: gets the previous hook's result, returns (or resolves to) the next. */
export type Middleware<T> = (target: T) => T | Promise<T>;

/** A plugin of the official `plugins` option (hooks may be arrays). */
export interface Plugin {
  name?: string;
  /** Message classes registered on the Realtime (as `register`). */
  messageClasses?: MessageConstructor[];
  onRealtimeCreate?: Decorator<Realtime> | Decorator<Realtime>[];
  onIMClientCreate?: Decorator<IMClient> | Decorator<IMClient>[];
  onConversationCreate?: Decorator<ConversationBase> | Decorator<ConversationBase>[];
  /** Gets a received payload (typed object, string or ArrayBuffer) before it is parsed. */
  beforeMessageParse?: Middleware<Payload> | Middleware<Payload>[];
  /** Gets the parsed message. */
  afterMessageParse?: Middleware<Message> | Middleware<Message>[];
  /** `false` (or a promise of it) drops a received message before the `message` events. */
  beforeMessageDispatch?:
    | ((message: Message, conversation: ConversationBase) => boolean | Promise<boolean>)
    | Array<(message: Message, conversation: ConversationBase) => boolean | Promise<boolean>>;
  /**
   * Accepted as by the official SDKs, whose built-in IM plugin takes every IM command before app
   * hooks run: they only ever get other services' commands (LiveQuery), which chinwag does not speak.
   */
  beforeCommandDispatch?:
    | ((command: object, realtime: Realtime) => boolean | Promise<boolean>)
    | Array<(command: object, realtime: Realtime) => boolean | Promise<boolean>>;
}

export type ConversationSignatureFactory = (
  conversationId: string | null,
  clientId: string,
  targetIds: string[],
  action: 'create' | 'invite' | 'kick',
) => SignatureFactoryResult;
export type BlacklistSignatureFactory = (
  conversationId: string,
  clientId: string,
  targetIds: string[],
  action: 'conversation-block-clients' | 'conversation-unblock-clients',
) => SignatureFactoryResult;

export interface IMClientOptions {
  /** Signs the login: `appId:clientId::timestamp:nonce` on the app's server. */
  signatureFactory?: (clientId: string) => SignatureFactoryResult;
  /** Signs creation (`conversationId` null), invite and kick (join and quit included). */
  conversationSignatureFactory?: ConversationSignatureFactory;
  /** Signs blocking and unblocking members. */
  blacklistSignatureFactory?: BlacklistSignatureFactory;
  tag?: string;
  isReconnect?: boolean;
}

export interface RealtimeOptions {
  appId: string;
  appKey: string;
  /** Ignored: the server comes from `RTMServers` or `server`. */
  region?: string;
  /**
   * The RTM router and REST API base URL (or `{ RTMRouter, api }`). Without it the REST calls
   * (`getAllMemberInfo`) go to the origin of the first `RTMServers` URL (chinwag-server serves both).
   */
  server?: string | { RTMRouter: string; api?: string };
  /** WebSocket URL(s) to connect to directly. */
  RTMServers?: string | string[];
  noBinary?: boolean;
  ssl?: boolean;
  pushOfflineMessages?: boolean;
  plugins?: Plugin[];
}

export declare class Realtime extends EventEmitter<ConnectionEvents> {
  constructor(options: RealtimeOptions);
  /** Signs a client in; the same id resolves to the same client. */
  createIMClient(id: string | AVUser, options?: IMClientOptions, tag?: string): Promise<IMClient>;
  register(messageClass: MessageConstructor | MessageConstructor[]): void;
  retry(): number;
  pause(): void;
  resume(): void;
  /** chinwag extension: closes every client and the connection. */
  close(): Promise<void>;
  static defineConversationProperty(prop: string, descriptor?: PropertyDescriptor): typeof Conversation;
}

export declare class IMClient extends EventEmitter<ClientEvents> {
  readonly id: string;
  readonly options: IMClientOptions;
  close(): Promise<void>;
  createConversation(options: {
    members?: string[];
    name?: string;
    transient?: boolean;
    unique?: boolean;
    [attribute: string]: unknown;
  }): Promise<Conversation>;
  createChatRoom(options: { name?: string; [attribute: string]: unknown }): Promise<ChatRoom>;
  createTemporaryConversation(options: { members?: string[]; ttl?: number }): Promise<TemporaryConversation>;
  getConversation(id: string, noCache?: boolean): Promise<ConversationBase | null>;
  getConversations(ids: string[], noCache?: boolean): Promise<Array<ConversationBase | null>>;
  getQuery(): ConversationQuery<Conversation>;
  getChatRoomQuery(): ConversationQuery<ChatRoom>;
  getServiceConversationQuery(): ConversationQuery<ServiceConversation>;
  ping(clientIds: string[]): Promise<string[]>;
  markAllAsRead(conversations: ConversationBase[]): Promise<ConversationBase[]>;
}

type QueryValue = string | number | boolean | null | Date | QueryValue[] | { [key: string]: QueryValue };

export declare class ConversationQuery<T extends ConversationBase> {
  static and<T extends ConversationBase>(...queries: ConversationQuery<T>[]): ConversationQuery<T>;
  static or<T extends ConversationBase>(...queries: ConversationQuery<T>[]): ConversationQuery<T>;
  equalTo(key: string, value: QueryValue): this;
  notEqualTo(key: string, value: QueryValue): this;
  lessThan(key: string, value: QueryValue): this;
  lessThanOrEqualTo(key: string, value: QueryValue): this;
  greaterThan(key: string, value: QueryValue): this;
  greaterThanOrEqualTo(key: string, value: QueryValue): this;
  exists(key: string): this;
  doesNotExist(key: string): this;
  containedIn(key: string, values: QueryValue[]): this;
  notContainsIn(key: string, values: QueryValue[]): this;
  containsAll(key: string, values: QueryValue[]): this;
  containsMembers(peerIds: string[]): this;
  withMembers(peerIds: string[], includeSelf?: boolean): this;
  sizeEqualTo(key: string, length: number): this;
  contains(key: string, subString: string): this;
  startsWith(key: string, prefix: string): this;
  endsWith(key: string, suffix: string): this;
  matches(key: string, regex: string | RegExp): this;
  limit(limit: number): this;
  skip(skip: number): this;
  ascending(key: string): this;
  addAscending(key: string): this;
  descending(key: string): this;
  addDescending(key: string): this;
  compact(enabled?: boolean): this;
  withLastMessagesRefreshed(enabled?: boolean): this;
  find(): Promise<T[]>;
  first(): Promise<T | undefined>;
}

export interface QueryMessagesOptions {
  startTime?: Date | number;
  startMessageId?: string;
  startClosed?: boolean;
  endTime?: Date | number;
  endMessageId?: string;
  endClosed?: boolean;
  /** Deprecated aliases of start/end, as in the official SDK. */
  beforeTime?: Date | number;
  beforeMessageId?: string;
  afterTime?: Date | number;
  afterMessageId?: string;
  limit?: number;
  type?: number;
  direction?: MessageQueryDirection;
}

export interface SendOptions {
  pushData?: Record<string, unknown>;
  priority?: MessagePriority;
  receipt?: boolean;
  transient?: boolean;
  will?: boolean;
}

export type MessagePointer = Message | { id: string; timestamp: Date | number; cid?: string; from?: string };

export declare class ConversationBase extends EventEmitter<ConversationEvents> {
  readonly id: string;
  members: string[];
  lastMessage?: Message;
  lastMessageAt?: Date;
  lastDeliveredAt?: Date;
  lastReadAt?: Date;
  unreadMessagesCount: number;
  readonly unreadMessagesMentioned: boolean;
  send<T extends Message>(message: T, options?: SendOptions): Promise<T>;
  update<T extends Message>(message: MessagePointer, newMessage: T): Promise<T>;
  recall(message: MessagePointer): Promise<RecalledMessage>;
  queryMessages(options?: QueryMessagesOptions): Promise<Message[]>;
  createMessagesIterator(options?: { limit?: number; beforeTime?: Date; beforeMessageId?: string }): {
    next(): Promise<{ done: boolean; value: Message[] }>;
  };
  read(): Promise<this>;
  count(): Promise<number>;
  fetchReceiptTimestamps(): Promise<this>;
  toJSON(): Record<string, unknown>;
  toFullJSON(): Record<string, unknown>;
}

declare class PersistentConversation extends ConversationBase {
  name?: string;
  creator?: string;
  createdAt?: Date;
  updatedAt?: Date;
  muted: boolean;
  mutedMembers: string[];
  system: boolean;
  transient: boolean;
  get(key: string): unknown;
  set(key: string, value: unknown): this;
  save(): Promise<this>;
  fetch(): Promise<this>;
  mute(): Promise<this>;
  unmute(): Promise<this>;
  add(clientIds: string | string[]): Promise<PartiallySuccess>;
  remove(clientIds: string | string[]): Promise<PartiallySuccess>;
  /** Rejects with the server's failure (an `OperationFailureError`) if it refused. */
  join(): Promise<this>;
  quit(): Promise<this>;
  muteMembers(clientIds: string | string[]): Promise<PartiallySuccess>;
  unmuteMembers(clientIds: string | string[]): Promise<PartiallySuccess>;
  queryMutedMembers(options?: PagedQueryParams): Promise<PagedResults<string>>;
  blockMembers(clientIds: string | string[]): Promise<PartiallySuccess>;
  unblockMembers(clientIds: string | string[]): Promise<PartiallySuccess>;
  queryBlockedMembers(options?: PagedQueryParams): Promise<PagedResults<string>>;
}

/** A member's role in a conversation (the `_ConversationMemberInfo` table). */
export declare class ConversationMemberInfo {
  readonly conversationId: string;
  readonly memberId: string;
  /** `Owner` for the creator. */
  readonly role: ConversationMemberRole;
  readonly isOwner: boolean;
  toJSON(): { conversationId: string; memberId: string; role: ConversationMemberRole; isOwner: boolean };
}

export declare class Conversation extends PersistentConversation {
  getAllMemberInfo(options?: { noCache?: boolean }): Promise<ConversationMemberInfo[]>;
  getMemberInfo(memberId: string): Promise<ConversationMemberInfo>;
  updateMemberRole(memberId: string, role: ConversationMemberRole): Promise<this>;
}
export declare class ChatRoom extends PersistentConversation {}
export declare class ServiceConversation extends PersistentConversation {
  subscribe(): Promise<this>;
  unsubscribe(): Promise<this>;
}
export declare class TemporaryConversation extends ConversationBase {
  ttl?: number;
}

export type Payload = Record<string, unknown> | string | ArrayBuffer;

export interface MessageConstructor {
  new (...args: never[]): Message;
  TYPE?: number;
  validate(content: Payload): boolean;
  parse(content: Payload, message?: Message): Message;
}

export declare class Message {
  constructor(content: Payload);
  content: Payload;
  id?: string;
  cid?: string;
  from?: string;
  timestamp?: Date;
  updatedAt?: Date;
  deliveredAt?: Date;
  status: MessageStatus;
  mentionList: string[];
  mentionedAll: boolean;
  readonly mentioned: boolean;
  transient: boolean;
  getPayload(): Payload;
  setMentionList(mentionList: string[]): this;
  getMentionList(): string[];
  mentionAll(value?: boolean): this;
  toJSON(): Record<string, unknown>;
  toFullJSON(): Record<string, unknown>;
  static validate(content?: Payload): boolean;
  static parse(json: Payload, message?: Message): Message;
}

export declare class BinaryMessage extends Message {
  constructor(buffer: ArrayBuffer);
  buffer: ArrayBuffer;
}

export declare class TypedMessage extends Message {
  static TYPE: number;
  readonly type: number;
  text?: string;
  attributes?: Record<string, unknown>;
  readonly summary?: string;
  constructor();
  setText(text: string): this;
  getText(): string | undefined;
  setAttributes(attributes: Record<string, unknown>): this;
  getAttributes(): Record<string, unknown> | undefined;
}

export declare class TextMessage extends TypedMessage {
  constructor(text?: string);
  text: string;
}

export declare class RecalledMessage extends TypedMessage {}

/** Class decorator: the class's `_lctype` is `type` (received messages of that type parse to it). */
export declare function messageType(type: number): <T extends MessageConstructor>(target: T) => T;
/** Class decorator: these properties of the message travel in its payload and are parsed back. */
export declare function messageField(fields: string | string[]): <T extends MessageConstructor>(target: T) => T;
