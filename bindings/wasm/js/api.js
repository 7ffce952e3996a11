// The `leancloud-realtime` API over the chinwag WASM core.
//
// This file is a body, not a module: `cargo xtask wasm` wraps it into the package's CommonJS (Node)
// and ES module (browser) entry points, which pass in the wasm-bindgen `Core` class. Everything here
// is presentation: promises for request ids, event emitters, and objects with the official SDK's
// property names. The behaviour (connection, retries, de-duplication, unread counts, ...) is the
// Rust core's.

/* eslint-disable no-unused-vars */
function createApi(Core) {
  'use strict';

  const Event = Object.freeze({
    DISCONNECT: 'disconnect',
    RECONNECT: 'reconnect',
    RETRY: 'retry',
    SCHEDULE: 'schedule',
    OFFLINE: 'offline',
    ONLINE: 'online',
    RECONNECT_ERROR: 'reconnecterror',
    UNREAD_MESSAGES_COUNT_UPDATE: 'unreadmessagescountupdate',
    CLOSE: 'close',
    CONFLICT: 'conflict',
    CONVERSATION_INFO_UPDATED: 'conversationinfoupdated',
    UNHANDLED_MESSAGE: 'unhandledmessage',
    INVITED: 'invited',
    KICKED: 'kicked',
    MEMBERS_JOINED: 'membersjoined',
    MEMBERS_LEFT: 'membersleft',
    MEMBER_INFO_UPDATED: 'memberinfoupdated',
    BLOCKED: 'blocked',
    UNBLOCKED: 'unblocked',
    MEMBERS_BLOCKED: 'membersblocked',
    MEMBERS_UNBLOCKED: 'membersunblocked',
    MUTED: 'muted',
    UNMUTED: 'unmuted',
    MEMBERS_MUTED: 'membersmuted',
    MEMBERS_UNMUTED: 'membersunmuted',
    MESSAGE: 'message',
    MESSAGE_RECALL: 'messagerecall',
    MESSAGE_UPDATE: 'messageupdate',
    LAST_DELIVERED_AT_UPDATE: 'lastdeliveredatupdate',
    LAST_READ_AT_UPDATE: 'lastreadatupdate',
    INFO_UPDATED: 'infoupdated',
  });

  const MessageStatus = Object.freeze({ NONE: 0, SENDING: 1, SENT: 2, DELIVERED: 3, FAILED: 4 });
  const MessagePriority = Object.freeze({ HIGH: 1, NORMAL: 2, LOW: 3 });
  const MessageQueryDirection = Object.freeze({ NEW_TO_OLD: 1, OLD_TO_NEW: 2 });
  const ConversationMemberRole = Object.freeze({ OWNER: 'Owner', MANAGER: 'Manager', MEMBER: 'Member' });
  const ErrorCode = Object.freeze({
    CLOSE_NORMAL: 1000, CLOSE_ABNORMAL: 1006, APP_NOT_AVAILABLE: 4100, SIGNATURE_FAILED: 4102,
    INVALID_LOGIN: 4103, SESSION_REQUIRED: 4105, READ_TIMEOUT: 4107, LOGIN_TIMEOUT: 4108,
    FRAME_TOO_LONG: 4109, INVALID_ORIGIN: 4110, SESSION_CONFLICT: 4111, SESSION_TOKEN_EXPIRED: 4112,
    APP_QUOTA_EXCEEDED: 4113, MESSAGE_SENT_QUOTA_EXCEEDED: 4116, INTERNAL_ERROR: 4200,
    CONVERSATION_API_FAILED: 4301, CONVERSATION_SIGNATURE_FAILED: 4302, CONVERSATION_NOT_FOUND: 4303,
    CONVERSATION_FULL: 4304, CONVERSATION_REJECTED_BY_APP: 4305, CONVERSATION_UPDATE_FAILED: 4306,
    CONVERSATION_READ_ONLY: 4307, CONVERSATION_NOT_ALLOWED: 4308, CONVERSATION_UPDATE_REJECTED: 4309,
    CONVERSATION_QUERY_FAILED: 4310, CONVERSATION_LOG_FAILED: 4311, CONVERSATION_LOG_REJECTED: 4312,
    SYSTEM_CONVERSATION_REQUIRED: 4313, NORMAL_CONVERSATION_REQUIRED: 4314, CONVERSATION_BLACKLISTED: 4315,
    TRANSIENT_CONVERSATION_REQUIRED: 4316, CONVERSATION_MEMBERSHIP_REQUIRED: 4317,
    CONVERSATION_API_QUOTA_EXCEEDED: 4318, TEMPORARY_CONVERSATION_EXPIRED: 4323,
    INVALID_MESSAGING_TARGET: 4401, MESSAGE_REJECTED_BY_APP: 4402, MESSAGE_OWNERSHIP_REQUIRED: 4403,
    MESSAGE_NOT_FOUND: 4404, MESSAGE_UPDATE_REJECTED_BY_APP: 4405, MESSAGE_EDIT_DISABLED: 4406,
    MESSAGE_RECALL_DISABLED: 4407, OWNER_PROMOTION_NOT_ALLOWED: 5130,
  });

  /** A minimal eventemitter3-compatible emitter. */
  class EventEmitter {
    constructor() {
      Object.defineProperty(this, '_listeners', { value: new Map(), enumerable: false });
    }
    on(event, listener) {
      const list = this._listeners.get(event) || [];
      list.push({ listener, once: false });
      this._listeners.set(event, list);
      return this;
    }
    addListener(event, listener) {
      return this.on(event, listener);
    }
    once(event, listener) {
      this.on(event, listener);
      this._listeners.get(event)[this._listeners.get(event).length - 1].once = true;
      return this;
    }
    off(event, listener) {
      if (!listener) {
        this._listeners.delete(event);
        return this;
      }
      const list = (this._listeners.get(event) || []).filter((l) => l.listener !== listener);
      this._listeners.set(event, list);
      return this;
    }
    removeListener(event, listener) {
      return this.off(event, listener);
    }
    removeAllListeners(event) {
      if (event === undefined) this._listeners.clear();
      else this._listeners.delete(event);
      return this;
    }
    listeners(event) {
      return (this._listeners.get(event) || []).map((l) => l.listener);
    }
    emit(event, ...args) {
      const list = this._listeners.get(event);
      if (!list || list.length === 0) return false;
      this._listeners.set(event, list.filter((l) => !l.once));
      for (const { listener } of list) {
        try {
          listener.apply(this, args);
        } catch (error) {
          // A throwing handler must not break the SDK (as with the official client's emitter).
          setTimeout(() => {
            throw error;
          });
        }
      }
      return true;
    }
  }

  /**
   * The symbolic name of a known error code (`ErrorCode`'s key), else `UNKNOWN_ERROR`. 4115 is
   * named by hand: the official SDK's `ErrorCode`, which ours mirrors, has no entry for it.
   */
  const nameOfCode = (code) =>
    code === 4115 ? 'KICKED_BY_APP' : Object.keys(ErrorCode).find((name) => ErrorCode[name] === code) || 'UNKNOWN_ERROR';

  /**
   * An error from the server or the core, with `code` and `name` as the official SDK sets them. A
   * server error's `name` is its `reason`, or the name of its code when the server sent none; its
   * message is `name: detail`, or `code name` without a detail.
   */
  class RealtimeError extends Error {
    constructor(info) {
      const name = info.name || nameOfCode(info.code);
      super(info.detail ? `${name}: ${info.detail}` : info.message || `${info.code} ${name}`);
      this.name = name;
      this.code = info.code;
      if (info.detail != null) this.detail = info.detail;
      if (info.appCode != null) this.appCode = info.appCode;
      if (info.appMessage != null) this.appMessage = info.appMessage;
    }
  }

  const toDate = (ms) => (ms == null ? undefined : new Date(ms));
  const statusOf = (s) =>
    ({ sending: MessageStatus.SENDING, sent: MessageStatus.SENT, delivered: MessageStatus.DELIVERED,
      read: MessageStatus.DELIVERED, failed: MessageStatus.FAILED })[s] ?? MessageStatus.NONE;

  // ---- messages -------------------------------------------------------------------------------

  /** A message; `content` is its payload (a string, an object or an ArrayBuffer). */
  class Message {
    constructor(content) {
      this.content = content;
      this.id = undefined;
      this.cid = undefined;
      this.from = undefined;
      this.timestamp = undefined;
      this.updatedAt = undefined;
      this.deliveredAt = undefined;
      this.status = MessageStatus.NONE;
      this.mentionList = [];
      this.mentionedAll = false;
      this._mentioned = false;
      this.transient = false;
    }
    get mentioned() {
      return this._mentioned;
    }
    getPayload() {
      return this.content;
    }
    setMentionList(list) {
      this.mentionList = list;
      return this;
    }
    getMentionList() {
      return this.mentionList;
    }
    mentionAll(value = true) {
      this.mentionedAll = Boolean(value);
      return this;
    }
    static validate() {
      return true;
    }
    static parse(json, message) {
      return message || new this(json);
    }
    toJSON() {
      return { id: this.id, cid: this.cid, from: this.from, timestamp: this.timestamp,
        updatedAt: this.updatedAt, mentionList: this.mentionList, mentionedAll: this.mentionedAll,
        data: this.getPayload() };
    }
    toFullJSON() {
      return { ...this.toJSON(), timestamp: +this.timestamp, deliveredAt: +this.deliveredAt || undefined,
        updatedAt: +this.updatedAt || undefined, status: this.status };
    }
    /** The wire payload given to the core. */
    _content() {
      const payload = this.getPayload();
      return { data: typeof payload === 'string' ? payload : JSON.stringify(payload) };
    }
    /** Copies the core's view of a message into this object. */
    _apply(json) {
      if (json.id != null) this.id = json.id;
      this.cid = json.cid;
      this.from = json.from;
      if (json.timestamp) this.timestamp = new Date(json.timestamp);
      this.updatedAt = toDate(json.updatedAt);
      this.deliveredAt = toDate(json.deliveredAt);
      this.status = statusOf(json.status);
      this.mentionList = json.mentionList || [];
      this.mentionedAll = Boolean(json.mentionedAll);
      this._mentioned = Boolean(json.mentioned);
      this.transient = Boolean(json.transient);
      return this;
    }
  }

  /** A binary message. */
  class BinaryMessage extends Message {
    constructor(buffer) {
      super(buffer);
    }
    static validate(content) {
      return content instanceof ArrayBuffer;
    }
    get buffer() {
      return this.content;
    }
    set buffer(value) {
      this.content = value;
    }
    _content() {
      const bytes = new Uint8Array(this.content);
      let text = '';
      for (let i = 0; i < bytes.length; i += 1) text += String.fromCharCode(bytes[i]);
      return { bin: btoa(text) };
    }
  }

  const messageClasses = new Map();

  /** A typed message (`_lctype`, `_lctext`, `_lcattrs`). */
  class TypedMessage extends Message {
    constructor() {
      super(null);
      this._text = undefined;
      this._attributes = undefined;
      this._extra = {};
    }
    get type() {
      return this.constructor.TYPE;
    }
    get text() {
      return this._text;
    }
    set text(value) {
      this._text = value;
    }
    get attributes() {
      return this._attributes;
    }
    set attributes(value) {
      this._attributes = value;
    }
    get summary() {
      return this.text;
    }
    setText(text) {
      this._text = text;
      return this;
    }
    getText() {
      return this._text;
    }
    setAttributes(attributes) {
      this._attributes = attributes;
      return this;
    }
    getAttributes() {
      return this._attributes;
    }
    getPayload() {
      const payload = { ...this._extra };
      for (const field of customFields(this.constructor)) {
        if (this[field] !== undefined) payload[field] = this[field];
      }
      payload._lctype = this.type;
      if (this._text !== undefined) payload._lctext = this._text;
      if (this._attributes !== undefined) payload._lcattrs = this._attributes;
      return payload;
    }
    /** Whether `content` is this class's payload (its `_lctype`), as `@messageType` makes it. */
    static validate(content) {
      return content != null && typeof content === 'object' && content._lctype === this.TYPE;
    }
    static parse(json, message) {
      const m = message || new this();
      const { _lctype, _lctext, _lcattrs, ...extra } = json;
      m._text = _lctext;
      m._attributes = _lcattrs;
      // `@messageField` fields become properties; the rest travels along untouched.
      for (const field of customFields(m.constructor)) {
        m[field] = json[field];
        delete extra[field];
      }
      m._extra = extra;
      return m;
    }
  }

  /** The `@messageField` names of a class and its ancestors. */
  function customFields(cls) {
    return Array.isArray(cls._customFields) ? cls._customFields : [];
  }
  TypedMessage.TYPE = 0;

  /** A text message (`_lctype: -1`). */
  class TextMessage extends TypedMessage {
    constructor(text = '') {
      super();
      this.setText(text);
    }
  }
  TextMessage.TYPE = -1;

  /** The content of a recalled message (`_lctype: -127`). */
  class RecalledMessage extends TypedMessage {
    get summary() {
      return '[该消息已撤回]';
    }
  }
  RecalledMessage.TYPE = -127;

  for (const cls of [TextMessage, RecalledMessage]) messageClasses.set(cls.TYPE, cls);

  /**
   * Runs a request on the core: `[op, client, ...arguments]` as one JSON array (the wasm's one
   * entry point for commands; see bindings/wasm/src/request.rs). `undefined` arguments become `null`
   * (`JSON.stringify` writes them so in arrays).
   */
  function call(core, ...request) {
    return core.call(JSON.stringify(request));
  }

  /**
   * The payload of a core message: an ArrayBuffer for binary ones, else its text read as the official
   * parser reads it: the object `JSON.parse` gives for a JSON object (typed messages), else the text.
   * The wasm passes every payload as its wire text and reads none itself.
   */
  function contentOf(json) {
    if (json.bin != null) {
      const raw = atob(json.bin);
      const bytes = new Uint8Array(raw.length);
      for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
      return bytes.buffer;
    }
    const text = json.text;
    if (typeof text === 'string' && text.trimStart().startsWith('{')) {
      try {
        return JSON.parse(text);
      } catch (error) {
        // Not JSON: plain text.
      }
    }
    return text;
  }

  /**
   * The message object for a payload: the classes registered on the Realtime (`register`, plugins'
   * `messageClasses`) are tried latest first by their `validate`, as the official parser does; then
   * the `@messageType` classes by `_lctype`, then the built-in ones.
   */
  function classify(content, realtime) {
    const registered = realtime ? realtime._messageClasses : [];
    for (let i = registered.length - 1; i >= 0; i -= 1) {
      const Cls = registered[i];
      const copy = content && typeof content === 'object' && !(content instanceof ArrayBuffer) ? { ...content } : content;
      let valid = false;
      try {
        valid = Cls.validate(copy);
      } catch (error) {
        valid = false;
      }
      if (valid) return Cls.parse(copy);
    }
    if (content instanceof ArrayBuffer) return new BinaryMessage(content);
    if (content && typeof content === 'object' && Number.isInteger(content._lctype)) {
      const Cls = messageClasses.get(content._lctype);
      return Cls ? Cls.parse(content) : TypedMessage.parse(content, new (typed(content._lctype))());
    }
    return new Message(content);
  }

  /** Copies the core's metadata (id, from, timestamp, ...) onto a parsed message. */
  function withMeta(message, json) {
    if (typeof message._apply === 'function') return message._apply(json);
    return Object.assign(message, { id: json.id, cid: json.cid, from: json.from, timestamp: toDate(json.timestamp) });
  }

  /** Builds the right message class for a core message. */
  function parseMessage(json, realtime) {
    return withMeta(classify(contentOf(json), realtime), json);
  }

  /** An anonymous TypedMessage subclass for an unregistered `_lctype`. */
  function typed(type) {
    class Unknown extends TypedMessage {}
    Unknown.TYPE = type;
    return Unknown;
  }

  /**
   * Class decorator: the class's `_lctype` is `type`. The class is also found for received messages
   * of that type without `realtime.register` (which the official SDK needs; registering does no harm).
   */
  function messageType(type) {
    if (typeof type !== 'number') throw new TypeError(`${type} is not a Number`);
    return (target) => {
      target.TYPE = type;
      target.validate = (content) => content != null && typeof content === 'object' && content._lctype === type;
      messageClasses.set(type, target);
      return target;
    };
  }

  /** Class decorator: these properties of the message travel in its payload (and are parsed back). */
  function messageField(fields) {
    const list = [].concat(fields);
    if (list.some((field) => typeof field !== 'string')) throw new TypeError('fields contains non-string typed member');
    return (target) => {
      target._customFields = customFields(target).concat(list);
      return target;
    };
  }

  // ---- conversations --------------------------------------------------------------------------

  /** Queries conversations with the official operators; `find()` runs it on the server. */
  class ConversationQuery {
    constructor(client, base = {}) {
      this._client = client;
      this._where = { ...base };
      this._sort = [];
      this._limit = undefined;
      this._skip = undefined;
      this._compact = false;
      this._refresh = false;
    }
    static and(...queries) {
      const q = new ConversationQuery(queries[0] && queries[0]._client);
      q._where = { $and: queries.map((x) => x._where) };
      return q;
    }
    static or(...queries) {
      const q = new ConversationQuery(queries[0] && queries[0]._client);
      q._where = { $or: queries.map((x) => x._where) };
      return q;
    }
    _cond(key, op, value) {
      const current = this._where[key];
      const entry = current && typeof current === 'object' && !Array.isArray(current) && !current.__type ? current : {};
      entry[op] = value;
      this._where[key] = entry;
      return this;
    }
    equalTo(key, value) {
      this._where[key] = value instanceof Date ? { __type: 'Date', iso: value.toISOString() } : value;
      return this;
    }
    notEqualTo(key, value) { return this._cond(key, '$ne', value); }
    lessThan(key, value) { return this._cond(key, '$lt', value); }
    lessThanOrEqualTo(key, value) { return this._cond(key, '$lte', value); }
    greaterThan(key, value) { return this._cond(key, '$gt', value); }
    greaterThanOrEqualTo(key, value) { return this._cond(key, '$gte', value); }
    exists(key) { return this._cond(key, '$exists', true); }
    doesNotExist(key) { return this._cond(key, '$exists', false); }
    containedIn(key, values) { return this._cond(key, '$in', values); }
    notContainsIn(key, values) { return this._cond(key, '$nin', values); }
    containsAll(key, values) { return this._cond(key, '$all', values); }
    containsMembers(ids) { return this.containsAll('m', ids); }
    withMembers(ids, includeSelf) {
      const all = new Set(ids);
      if (includeSelf && this._client) all.add(this._client.id);
      this.sizeEqualTo('m', all.size);
      return this.containsMembers([...all]);
    }
    sizeEqualTo(key, size) { return this._cond(key, '$size', size); }
    contains(key, text) { return this._cond(key, '$regex', quote(text)); }
    startsWith(key, text) { return this._cond(key, '$regex', `^${quote(text)}`); }
    endsWith(key, text) { return this._cond(key, '$regex', `${quote(text)}$`); }
    matches(key, regex) {
      this._cond(key, '$regex', regex instanceof RegExp ? regex.source : regex);
      if (regex instanceof RegExp && regex.flags) this._where[key].$options = regex.flags;
      return this;
    }
    limit(n) { this._limit = n; return this; }
    skip(n) { this._skip = n; return this; }
    ascending(key) { this._sort = [key]; return this; }
    addAscending(key) { this._sort.push(key); return this; }
    descending(key) { this._sort = [`-${key}`]; return this; }
    addDescending(key) { this._sort.push(`-${key}`); return this; }
    compact(enabled = true) { this._compact = enabled; return this; }
    withLastMessagesRefreshed(enabled = true) { this._refresh = enabled; return this; }
    find() {
      const client = this._client;
      const query = { where: this._where, sort: this._sort, limit: this._limit, skip: this._skip,
        compact: this._compact, withLastMessagesRefreshed: this._refresh };
      return client._request((core) => call(core, 'query', client.id, query))
        .then((ok) => Promise.all(ok.conversations.map((c) => client._upsert(c)._settle())));
    }
    first() {
      return this.limit(1).find().then((list) => list[0]);
    }
  }

  const quote = (text) => `\\Q${text.replace(/\\E/g, '\\E\\\\E\\Q')}\\E`;

  /** What conversations share: messages, unread counts, receipts and the member events. */
  class ConversationBase extends EventEmitter {
    constructor(client, id) {
      super();
      Object.defineProperty(this, '_client', { value: client, enumerable: false });
      // Whether this object holds the core's snapshot (see IMClient._patched).
      Object.defineProperty(this, '_synced', { value: false, writable: true, enumerable: false });
      // A last message from the core not yet through the plugins' parse middlewares (see `_settle`).
      Object.defineProperty(this, '_unparsedLast', { value: null, writable: true, enumerable: false });
      // The last message object before the current one: dropped messages taken back bring the
      // message before them back, and it keeps its object (see `_apply`).
      Object.defineProperty(this, '_previousLast', { value: null, writable: true, enumerable: false });
      this.id = id;
      this.members = [];
      this.lastMessage = undefined;
      this.lastMessageAt = undefined;
      this.lastDeliveredAt = undefined;
      this.lastReadAt = undefined;
      this.unreadMessagesCount = 0;
      this.unreadMessagesMentioned = false;
    }
    _apply(json) {
      this.members = json.members;
      const last = json.lastMessage;
      const current = this.lastMessage;
      // The same message (id, edit time) keeps its object, which may have come through the parse
      // middlewares; only its metadata (status, receipts) follows the core.
      const same = (object) => object && last.id != null && object.id === last.id && (+object.updatedAt || null) === (last.updatedAt ?? null);
      if (last && same(current)) {
        withMeta(current, last);
      } else if (last && same(this._previousLast)) {
        // Back to the message before (messages after it were dropped and taken back).
        this.lastMessage = withMeta(this._previousLast, last);
        this._previousLast = current;
        this._unparsedLast = null;
      } else if (last) {
        const realtime = this._client._realtime;
        this._previousLast = current;
        this.lastMessage = parseMessage(last, realtime);
        if (realtime._parseHooks) this._unparsedLast = last;
      } else if (current) {
        // The core has none (any more): a dropped first message was taken back.
        this.lastMessage = undefined;
        this._unparsedLast = null;
      }
      this.lastMessageAt = toDate(json.lastMessageAt);
      this.lastDeliveredAt = toDate(json.lastDeliveredAt);
      this.lastReadAt = toDate(json.lastReadAt);
      this.unreadMessagesCount = json.unreadMessagesCount;
      this.unreadMessagesMentioned = json.unreadMessagesMentioned;
      return this;
    }
    /**
     * Resolves to this conversation once its last message went through the plugins' parse
     * middlewares (asynchronous, as they may be), as the official SDK parses `lastMessage`.
     */
    _settle() {
      const json = this._unparsedLast;
      if (!json) return Promise.resolve(this);
      this._unparsedLast = null;
      return this._client._realtime._parseMessage(json).then((message) => {
        if (this.lastMessage && this.lastMessage.id === message.id) this.lastMessage = message;
        return this;
      });
    }
    _call(f) {
      const client = this._client;
      return client._request((core) => f(core, client.id, this.id)).then((ok) => {
        client._refresh(this.id);
        return ok;
      });
    }
    /** Sends `message`; resolves to the same object with `id`, `timestamp` and `status` set. */
    send(message, options = {}) {
      const defaults = message.constructor.sendOptions || {};
      const opts = { ...defaults, ...options, mentionList: message.mentionList, mentionedAll: message.mentionedAll };
      message.cid = this.id;
      message.from = this._client.id;
      message.status = MessageStatus.SENDING;
      return this._call((core, me, cid) => call(core, 'send', me, cid, message._content(), opts))
        .then((ok) => message._apply(ok.message), (error) => {
          message.status = MessageStatus.FAILED;
          throw error;
        });
    }
    /** History, newest page by default, ascending by time. */
    queryMessages(options = {}) {
      const ms = (d) => (d == null ? undefined : +d);
      const o = {
        startTime: ms(options.startTime ?? options.beforeTime),
        startMessageId: options.startMessageId ?? options.beforeMessageId,
        startClosed: options.startClosed,
        endTime: ms(options.endTime ?? options.afterTime),
        endMessageId: options.endMessageId ?? options.afterMessageId,
        endClosed: options.endClosed,
        limit: options.limit,
        type: options.type,
        direction: options.direction,
      };
      const realtime = this._client._realtime;
      return this._call((core, me, cid) => call(core, 'queryMessages', me, cid, o))
        .then((ok) => Promise.all(ok.messages.map((json) => realtime._parseMessage(json))));
    }
    /** Pages backwards through history. */
    createMessagesIterator({ beforeTime, beforeMessageId, limit } = {}) {
      let cursor = { beforeTime, beforeMessageId };
      let done = false;
      return {
        next: () => {
          if (done) return Promise.resolve({ done: true, value: [] });
          return this.queryMessages({ ...cursor, limit }).then((page) => {
            if (page.length === 0 || (limit && page.length < limit)) done = true;
            if (page.length) cursor = { beforeTime: page[0].timestamp, beforeMessageId: page[0].id };
            return { done: page.length === 0, value: page };
          });
        },
      };
    }
    /** Marks everything read. */
    read() {
      return this._call((core, me, cid) => call(core, 'read', me, cid)).then(() => this);
    }
    /** Recalls a sent message; resolves to a RecalledMessage. */
    recall(message) {
      return this._call((core, me) => call(core, 'recall', me, pointer(message, this.id)))
        .then((ok) => parseMessage(ok.message, this._client._realtime));
    }
    /** Replaces a sent message with `newMessage`. */
    update(message, newMessage) {
      return this._call((core, me) =>
        call(core, 'edit', me, pointer(message, this.id), newMessage._content()))
        .then((ok) => {
          newMessage._apply(ok.message);
          return newMessage;
        });
    }
    /** Member count. */
    count() {
      return this._call((core, me, cid) => call(core, 'count', me, cid)).then((ok) => ok.count);
    }
    /** Receipt timestamps of a 2-member conversation. */
    fetchReceiptTimestamps() {
      return this._call((core, me, cid) => call(core, 'fetchReceiptTimestamps', me, cid)).then(() => this);
    }
    toJSON() {
      return { id: this.id, members: this.members, lastMessageAt: this.lastMessageAt,
        unreadMessagesCount: this.unreadMessagesCount };
    }
    toFullJSON() {
      return this.toJSON();
    }
  }

  const pointer = (message, cid) => ({
    id: message.id,
    cid: message.cid || cid,
    from: message.from,
    timestamp: +message.timestamp,
    mentionList: message.mentionList,
    mentionedAll: message.mentionedAll,
    ...(message._content ? message._content() : {}),
  });

  /** A stored conversation with attributes and membership. */
  class PersistentConversation extends ConversationBase {
    constructor(client, id) {
      super(client, id);
      this.name = undefined;
      this.creator = undefined;
      this.createdAt = undefined;
      this.updatedAt = undefined;
      this.mutedMembers = [];
      this.muted = false;
      this.system = false;
      this.transient = false;
      Object.defineProperty(this, '_attributes', { value: {}, writable: true, enumerable: false });
      Object.defineProperty(this, '_pending', { value: {}, writable: true, enumerable: false });
    }
    _apply(json) {
      super._apply(json);
      this.name = json.name ?? undefined;
      this.creator = json.creator ?? undefined;
      this.createdAt = json.createdAt ? new Date(json.createdAt) : undefined;
      this.updatedAt = json.updatedAt ? new Date(json.updatedAt) : undefined;
      this.mutedMembers = json.mutedMembers;
      this.muted = json.mutedMembers.includes(this._client.id);
      this.system = json.kind === 'service';
      this.transient = json.kind === 'chatroom';
      this._attributes = json.attributes;
      return this;
    }
    /** An attribute (dotted paths allowed), as `get('attr.color')`. */
    get(key) {
      const top = { name: this.name, creator: this.creator, members: this.members, ...this._attributes };
      return key.split('.').reduce((value, part) => (value == null ? undefined : value[part]), top);
    }
    /** Stages an attribute change for `save()`. */
    set(key, value) {
      this._pending[key] = value;
      return this;
    }
    /** Saves staged attributes. */
    save() {
      const changes = this._pending;
      this._pending = {};
      return this._call((core, me, cid) => call(core, 'update', me, cid, changes)).then(() => this);
    }
    /** Refreshes from the server. */
    fetch() {
      return this._call((core, me, cid) => call(core, 'getConversation', me, cid)).then(() => this._settle());
    }
    mute() { return this._call((core, me, cid) => call(core, 'mute', me, cid)).then(() => this); }
    unmute() { return this._call((core, me, cid) => call(core, 'unmute', me, cid)).then(() => this); }
    /**
     * A membership operation, signed first when the client has the factory for it: the official
     * call `factory(conversationId, clientId, sortedTargetIds, action)`.
     */
    _members(op, ids, factoryName, action) {
      const list = [].concat(ids);
      const client = this._client;
      const factory = client.options[factoryName];
      const signing = factory
        ? runSignatureFactory(factory, [this.id, client.id, [...list].sort(), action])
        : Promise.resolve(undefined);
      return signing
        .then((signature) => this._call((core, me, cid) =>
          call(core, 'changeMembers', me, cid, op, list, signature)))
        .then(partial);
    }
    /** Invites members; resolves to `{successfulClientIds, failures}`. */
    add(ids) { return this._members('add', ids, 'conversationSignatureFactory', 'invite'); }
    /** Removes members; resolves to `{successfulClientIds, failures}`. */
    remove(ids) { return this._members('remove', ids, 'conversationSignatureFactory', 'kick'); }
    /** Joins (adds oneself); rejects with the failure if the server refused. */
    join() { return this.add([this._client.id]).then(firstFailureOr(this)); }
    /** Quits (removes oneself); rejects with the failure if the server refused. */
    quit() { return this.remove([this._client.id]).then(firstFailureOr(this)); }
    /** Shuts members up; resolves to `{successfulClientIds, failures}`. */
    muteMembers(ids) { return this._members('mute', ids); }
    /** Lets members speak again. */
    unmuteMembers(ids) { return this._members('unmute', ids); }
    /** Blocks members from the conversation (signed by `blacklistSignatureFactory`). */
    blockMembers(ids) {
      return this._members('block', ids, 'blacklistSignatureFactory', 'conversation-block-clients');
    }
    /** Unblocks members. */
    unblockMembers(ids) {
      return this._members('unblock', ids, 'blacklistSignatureFactory', 'conversation-unblock-clients');
    }
    /** A page of muted members: `{results, next}`. */
    queryMutedMembers({ limit, next } = {}) { return this._memberPage(false, limit, next); }
    /** A page of blocked members: `{results, next}`. */
    queryBlockedMembers({ limit, next } = {}) { return this._memberPage(true, limit, next); }
    _memberPage(blocked, limit, next) {
      return this._call((core, me, cid) => call(core, 'queryMembers', me, cid, blocked, limit, next))
        .then((ok) => ({ results: ok.results, next: ok.next ?? undefined }));
    }
  }

  const firstFailureOr = (value) => (result) => {
    if (result.failures[0]) throw result.failures[0];
    return value;
  };

  /** Runs a signature factory (sync or async) and checks its `{signature, timestamp, nonce}`. */
  function runSignatureFactory(factory, params) {
    return Promise.resolve()
      .then(() => factory(...params))
      .then((result) => {
        const { signature, timestamp, nonce } = result || {};
        if (typeof signature !== 'string' || typeof timestamp !== 'number' || typeof nonce !== 'string') {
          throw new Error('malformed signature');
        }
        return { signature, timestamp, nonce };
      }, (error) => {
        error.message = `sign error: ${error.message}`;
        throw error;
      });
  }

  function partial(ok) {
    return {
      successfulClientIds: ok.successfulClientIds,
      failures: ok.failures.map((f) => Object.assign(new RealtimeError(f), { clientIds: f.clientIds })),
    };
  }

  /** A member's role in a conversation (the `_ConversationMemberInfo` table). */
  class ConversationMemberInfo {
    constructor({ conversation, memberId, role }) {
      if (!conversation) throw new Error('conversation requried');
      if (!memberId) throw new Error('memberId requried');
      Object.defineProperty(this, '_conversation', { value: conversation, enumerable: false });
      Object.defineProperty(this, '_memberId', { value: memberId, enumerable: false });
      Object.defineProperty(this, '_role', { value: role, enumerable: false, writable: true });
    }
    get conversationId() { return this._conversation.id; }
    get memberId() { return this._memberId; }
    /** `Owner` for the creator, else the stored role (`Member` when none is stored). */
    get role() { return this.isOwner ? ConversationMemberRole.OWNER : this._role; }
    get isOwner() { return this._memberId === this._conversation.creator; }
    toJSON() {
      return { conversationId: this.conversationId, memberId: this.memberId, role: this.role, isOwner: this.isOwner };
    }
  }

  /** A normal conversation. */
  class Conversation extends PersistentConversation {
    constructor(client, id) {
      super(client, id);
      Object.defineProperty(this, '_memberInfoMap', { value: null, writable: true, enumerable: false });
    }
    _apply(json) {
      super._apply(json);
      // Members who joined meanwhile are plain members until the table says otherwise.
      const map = this._memberInfoMap;
      if (map) {
        for (const memberId of this.members) {
          if (!map[memberId]) map[memberId] = new ConversationMemberInfo({ conversation: this, memberId, role: ConversationMemberRole.MEMBER });
        }
      }
      return this;
    }
    /** Reads the `_ConversationMemberInfo` rows of this conversation over REST (with the session token). */
    _fetchAllMemberInfo() {
      const client = this._client;
      const where = encodeURIComponent(JSON.stringify({ cid: this.id }));
      return client._realtime._rest(client, `/classes/_ConversationMemberInfo?where=${where}`).then((response) => {
        const map = {};
        for (const info of response.results || []) {
          map[info.clientId] = new ConversationMemberInfo({ conversation: this, memberId: info.clientId, role: info.role });
        }
        for (const memberId of this.members) {
          if (!map[memberId]) map[memberId] = new ConversationMemberInfo({ conversation: this, memberId, role: ConversationMemberRole.MEMBER });
        }
        this._memberInfoMap = map;
        return map;
      });
    }
    /** Every member's info (cached after the first call unless `noCache`). */
    getAllMemberInfo({ noCache = false } = {}) {
      const cached = this._memberInfoMap;
      return (cached && !noCache ? Promise.resolve(cached) : this._fetchAllMemberInfo())
        .then((map) => this.members.map((memberId) => map[memberId]));
    }
    /** One member's info; rejects for someone who is not a member. */
    getMemberInfo(memberId) {
      if (!this.members.includes(memberId)) {
        return Promise.reject(new Error(`${memberId} is not the mumber of conversation[${this.id}]`));
      }
      const cached = this._memberInfoMap;
      return (cached && cached[memberId] ? Promise.resolve(cached) : this._fetchAllMemberInfo())
        .then((map) => map[memberId]);
    }
    /** Changes a member's role (`Manager`/`Member`; `Owner` is refused with 5130). */
    updateMemberRole(memberId, role) {
      return this._call((core, me, cid) => call(core, 'updateMemberRole', me, cid, memberId, role)).then(() => {
        this._setMemberRole(memberId, role);
        return this;
      });
    }
    _setMemberRole(memberId, role) {
      const map = this._memberInfoMap;
      if (!map) return;
      if (map[memberId]) map[memberId]._role = role;
      else map[memberId] = new ConversationMemberInfo({ conversation: this, memberId, role });
    }
  }
  /** A chat room (transient conversation). */
  class ChatRoom extends PersistentConversation {}
  /** A service conversation. */
  class ServiceConversation extends PersistentConversation {
    subscribe() { return this.join(); }
    unsubscribe() { return this.quit(); }
  }
  /** A temporary conversation. */
  class TemporaryConversation extends ConversationBase {
    _apply(json) {
      super._apply(json);
      this.ttl = json.ttl;
      return this;
    }
  }

  const KINDS = { normal: Conversation, chatroom: ChatRoom, service: ServiceConversation, temporary: TemporaryConversation };

  // ---- client ---------------------------------------------------------------------------------

  /** A signed-in client (peer id) on a Realtime connection. */
  class IMClient extends EventEmitter {
    constructor(realtime, id, options = {}) {
      super();
      Object.defineProperty(this, '_realtime', { value: realtime, enumerable: false });
      Object.defineProperty(this, '_conversations', { value: new Map(), enumerable: false });
      Object.defineProperty(this, '_refreshing', { value: null, writable: true, enumerable: false });
      this.id = id;
      /** The `createIMClient` options (signature factories, tag). */
      this.options = options;
    }
    _request(f) {
      return this._realtime._request(f);
    }
    /**
     * The IM session token; when it expired, a fresh one first (`session/refresh`, signed by
     * `signatureFactory(clientId)` when given), one refresh shared by concurrent callers, as the
     * official session manager's `getSessionToken({autoRefresh})`.
     */
    _sessionToken({ autoRefresh = true } = {}) {
      const core = this._realtime._core;
      if (!core || !autoRefresh || !core.sessionTokenExpired(this.id)) {
        return Promise.resolve((core && core.sessionToken(this.id)) || undefined);
      }
      if (!this._refreshing) {
        const factory = this.options.signatureFactory;
        const signing = factory ? runSignatureFactory(factory, [this.id]) : Promise.resolve(undefined);
        this._refreshing = signing
          .then((signature) => this._request((c) => call(c, 'refreshSessionToken', this.id, signature)))
          .then((ok) => ok.sessionToken)
          .finally(() => {
            this._refreshing = null;
          });
      }
      return this._refreshing;
    }
    /** The Conversation object for a core conversation JSON (one object per id). */
    _upsert(json) {
      let conv = this._conversations.get(json.id);
      const Cls = KINDS[json.kind] || Conversation;
      if (!conv || !(conv instanceof Cls)) {
        conv = new Cls(this, json.id);
        this._conversations.set(json.id, conv);
        conv._apply(json);
        applyDecorators(this._realtime._plugins.onConversationCreate, conv);
        return conv;
      }
      return conv._apply(json);
    }
    _refresh(cid) {
      const json = this._realtime._core && this._realtime._core.conversation(this.id, cid);
      if (!json) return this._conversations.get(cid);
      const conv = this._upsert(JSON.parse(json));
      conv._synced = true;
      return conv;
    }
    /**
     * The conversation after a message or an unread-count change. `state` is what such an event can
     * change (unread count, last message), as the core has it now: when the object already holds
     * the core's snapshot and its last message is this `message` or unchanged, patching those fields
     * is enough (no snapshot crosses from wasm per message); otherwise the snapshot is re-read.
     */
    _patched(cid, state, message) {
      const conv = this._conversations.get(cid);
      if (conv && conv._synced && state) {
        const last = conv.lastMessage;
        const isNew = message && state.lastMessageId === message.id;
        const same = last ? last.id === state.lastMessageId && (+last.updatedAt || null) === state.lastMessageUpdatedAt
          : state.lastMessageId == null;
        if (isNew || same) {
          if (isNew) conv.lastMessage = message;
          conv.lastMessageAt = toDate(state.lastMessageAt);
          conv.unreadMessagesCount = state.unreadMessagesCount;
          conv.unreadMessagesMentioned = state.unreadMessagesMentioned;
          return conv;
        }
      }
      const fresh = this._refresh(cid);
      // The event's message object is the last message, as it came through the parse middlewares.
      if (fresh && message && fresh.lastMessage && fresh.lastMessage.id === message.id) {
        fresh.lastMessage = message;
        fresh._unparsedLast = null;
      }
      return fresh;
    }
    /**
     * Creates a conversation (`unique` by default, as the official SDK), signed by
     * `conversationSignatureFactory(null, clientId, sortedMembersWithSelf, 'create')` when given.
     */
    createConversation({ members = [], name, transient, unique, ...attributes } = {}) {
      return this._create({ members, name, transient, unique, attributes });
    }
    _create(options) {
      const factory = this.options.conversationSignatureFactory;
      const everyone = [...new Set([...(options.members || []), this.id])].sort();
      const signing = factory
        ? runSignatureFactory(factory, [null, this.id, everyone, 'create'])
        : Promise.resolve(undefined);
      return signing
        .then((signature) => this._request((core) =>
          call(core, 'createConversation', this.id, { ...options, signature })))
        .then((ok) => this._refresh(ok.conversation.id) || this._upsert(ok.conversation));
    }
    /** Creates a chat room. */
    createChatRoom({ name, ...attributes } = {}) {
      return this.createConversation({ name, transient: true, ...attributes });
    }
    /** Creates a temporary conversation. */
    createTemporaryConversation({ members = [], ttl } = {}) {
      return this._create({ members, ttl: ttl || 86400 });
    }
    /** A conversation by id (from the cache unless `noCache`); `null` when there is none. */
    getConversation(id, noCache = false) {
      if (typeof id !== 'string') return Promise.reject(new TypeError(`${id} is not a String`));
      const cached = this._conversations.get(id);
      if (cached && !noCache && cached.members.length) return cached._settle();
      return this._request((core) => call(core, 'getConversation', this.id, id)).then((ok) => {
        const found = ok && ok.conversations && ok.conversations[0];
        return found ? (this._refresh(found.id) || this._upsert(found))._settle() : null;
      });
    }
    /** Several conversations by id, in order; `null` for ids without a conversation. */
    getConversations(ids, noCache = false) {
      return Promise.all(ids.map((id) => this.getConversation(id, noCache)));
    }
    getQuery() { return new ConversationQuery(this); }
    getChatRoomQuery() { return new ConversationQuery(this, { tr: true }); }
    getServiceConversationQuery() { return new ConversationQuery(this, { sys: true }); }
    /** Which of `clientIds` are online. */
    ping(clientIds) {
      return this._request((core) => call(core, 'ping', this.id, clientIds)).then((ok) => ok.online);
    }
    /** Marks conversations read. */
    markAllAsRead(conversations) {
      return Promise.all(conversations.map((c) => c.read()));
    }
    /** Signs out. */
    close() {
      return this._request((core) => call(core, 'close', this.id)).then(() => {
        this._realtime._clients.delete(this.id);
        this._realtime._maybeStop();
        this.emit(Event.CLOSE, { code: 0, reason: 'closed' });
      });
    }
  }

  // ---- realtime -------------------------------------------------------------------------------

  /** A conversation known only by id (an event about one the core has not cached). */
  const placeholder = (id) => ({ id, kind: 'normal', members: [], mutedMembers: [], attributes: {}, unreadMessagesCount: 0 });

  const CONNECTION_EVENTS = new Set(['disconnect', 'schedule', 'retry', 'reconnect', 'offline', 'online']);

  // ---- plugins (the official hook names and semantics) -----------------------------------------

  /** Merges plugins into `{hook: [functions]}`, tagging each function with its plugin's name. */
  function mergePlugins(plugins) {
    const merged = {};
    for (const plugin of [].concat(plugins || [])) {
      for (const hook of Object.keys(plugin)) {
        if (hook === 'name') continue;
        const values = [].concat(plugin[hook]);
        if (plugin.name) {
          for (const value of values) {
            if (typeof value === 'function') value._pluginName = plugin.name;
          }
        }
        merged[hook] = (merged[hook] || []).concat(values);
      }
    }
    return merged;
  }

  const withPluginName = (error, fn) => {
    if (fn && fn._pluginName && error && typeof error.message === 'string') error.message += `[${fn._pluginName}]`;
    return error;
  };

  /** Synchronous decorators (`onRealtimeCreate`, `onIMClientCreate`, `onConversationCreate`). */
  function applyDecorators(decorators, target) {
    for (const decorator of decorators || []) {
      try {
        decorator(target);
      } catch (error) {
        throw withPluginName(error, decorator);
      }
    }
  }

  /** Middlewares (`beforeMessageParse`, `afterMessageParse`): each gets the previous one's result. */
  function applyMiddlewares(middlewares, target) {
    return (middlewares || []).reduce((previous, middleware) => previous.then((value) =>
      Promise.resolve(middleware(value)).then((result) => {
        if (result === undefined || result === null) {
          console.warn(`Middleware[${middleware._pluginName || 'anonymous plugin'}:${middleware.name || 'anonymous middleware'}] returns ${result}`);
        }
        return result;
      }, (error) => {
        throw withPluginName(error, middleware);
      })), Promise.resolve(target));
  }

  /** Dispatchers (`beforeMessageDispatch`): any `false` stops the message. */
  function applyDispatcher(dispatchers, args) {
    return (dispatchers || []).reduce((previous, dispatcher) => previous.then((go) =>
      (go === false ? false : Promise.resolve(dispatcher(...args)).catch((error) => {
        throw withPluginName(error, dispatcher);
      }))), Promise.resolve(true));
  }

  /** Checks a message class as the official parser does. */
  function checkMessageClass(cls) {
    if (!(cls && typeof cls.parse === 'function' && cls.prototype && typeof cls.prototype.getPayload === 'function')) {
      throw new TypeError('Invalid messageClass');
    }
    return cls;
  }

  /** The entry point: one connection shared by the clients it creates. */
  class Realtime extends EventEmitter {
    constructor(options = {}) {
      super();
      if (!options.appId) throw new TypeError('appId required');
      this._options = { ...options };
      Object.defineProperty(this, '_core', { value: null, writable: true, enumerable: false });
      Object.defineProperty(this, '_pending', { value: new Map(), enumerable: false });
      Object.defineProperty(this, '_clients', { value: new Map(), enumerable: false });
      Object.defineProperty(this, '_opening', { value: new Map(), enumerable: false });
      Object.defineProperty(this, '_plugins', { value: mergePlugins(options.plugins), enumerable: false });
      Object.defineProperty(this, '_messageClasses', { value: [], enumerable: false });
      // With message hooks, events are handled in order on a promise chain (hooks may be async, as
      // in the official SDK); without them, synchronously as they leave the core.
      const hooks = this._plugins;
      Object.defineProperty(this, '_parseHooks', { value: Boolean(hooks.beforeMessageParse || hooks.afterMessageParse), enumerable: false });
      const ordered = this._parseHooks || Boolean(hooks.beforeMessageDispatch);
      Object.defineProperty(this, '_chain', { value: ordered ? Promise.resolve() : null, writable: true, enumerable: false });
      // How many dropped messages changed their conversation when taken back (unread count, last
      // message); events remember the number to tell a snapshot taken before.
      Object.defineProperty(this, '_takenBack', { value: 0, writable: true, enumerable: false });
      this.register(hooks.messageClasses || []);
      applyDecorators(hooks.onRealtimeCreate, this);
    }
    /** A core message through the plugins' parse middlewares. */
    _parseMessage(json) {
      const hooks = this._plugins;
      if (!this._parseHooks) return Promise.resolve(parseMessage(json, this));
      return applyMiddlewares(hooks.beforeMessageParse, contentOf(json))
        .then((content) => withMeta(classify(content, this), json))
        .then((message) => applyMiddlewares(hooks.afterMessageParse, message));
    }
    /** The REST API base: `server` (string or `{api}`), else the origin of the first `RTMServers` URL. */
    _apiBase() {
      const { server, RTMServers } = this._options;
      if (typeof server === 'string') return server.replace(/\/+$/, '');
      if (server && server.api) return server.api.replace(/\/+$/, '');
      const first = [].concat(RTMServers || [])[0];
      if (first) return first.replace(/^ws/, 'http').replace(/^(https?:\/\/[^/]+).*$/, '$1');
      return `https://${this._options.appId.slice(0, 8).toLowerCase()}.api.lncldglobal.com`;
    }
    /**
     * A REST GET (`/1.1` + `path`) as `client`, with its IM session token, refreshed first when it
     * expired (as `_requestWithSessionToken`).
     */
    _rest(client, path) {
      const url = `${this._apiBase()}/1.1${path}${path.includes('?') ? '&' : '?'}client_id=${encodeURIComponent(client.id)}`;
      const headers = { 'X-LC-Id': this._options.appId, 'X-LC-Key': this._options.appKey || '' };
      return client._sessionToken().then((token) => {
        if (token) headers['X-LC-IM-Session-Token'] = token;
        return fetch(url, { headers });
      }).then((response) => response.json().then((body) => {
        if (!response.ok) throw new RealtimeError({ code: body.code || response.status, name: 'REST_ERROR', message: body.error || response.statusText });
        return body;
      }));
    }
    _ensureCore() {
      if (this._core) return this._core;
      const { appId, RTMServers, server } = this._options;
      const servers = RTMServers ? [].concat(RTMServers) : [];
      let router = null;
      if (!servers.length) {
        if (typeof server === 'string') router = server;
        else if (server && server.RTMRouter) router = server.RTMRouter;
        else router = `https://${appId.slice(0, 8).toLowerCase()}.rtm.lncldglobal.com`;
        if (!/^https?:\/\//.test(router)) router = `https://${router}`;
      }
      const fetchRoute = (url) => {
        // The router answers `{server, secondary, ttl}`; no URL at all (or a failed fetch) is a failure.
        const core = this._core;
        fetch(url)
          .then((response) => response.json())
          .then((json) => ['server', 'secondary'].map((key) => json && json[key]).filter((u) => typeof u === 'string'), () => [])
          .then((urls) => {
            if (this._core === core) core.routeFetched(JSON.stringify(urls));
          });
      };
      this._core = new Core(appId, JSON.stringify(servers), router, (json) => this._dispatch(JSON.parse(json)), fetchRoute);
      // Browsers tell when the network goes away and comes back.
      if (typeof window !== 'undefined' && typeof window.addEventListener === 'function') {
        const target = window;
        const listeners = [['online', () => this.resume()], ['offline', () => this.pause()]];
        for (const [name, listener] of listeners) target.addEventListener(name, listener);
        this._unwatchNetwork = () => {
          for (const [name, listener] of listeners) target.removeEventListener(name, listener);
        };
      }
      return this._core;
    }
    _request(f) {
      return new Promise((resolve, reject) => {
        const core = this._ensureCore();
        // Register before the call: the core may answer synchronously (local errors).
        const slot = { resolve, reject, id: null };
        const outer = this._pending.get('next');
        this._pending.set('next', slot);
        let id;
        try {
          id = f(core);
        } finally {
          if (outer) this._pending.set('next', outer);
          else this._pending.delete('next');
        }
        if (slot.done) {
          if (slot.error) reject(slot.error);
          else resolve(slot.ok);
          return;
        }
        this._pending.set(id, slot);
      });
    }
    _dispatch(events) {
      for (const event of events) {
        if (this._chain && event.type !== 'response') {
          event.takenBack = this._takenBack;
          this._chain = this._chain.then(() => this._handleWithHooks(event)).catch((error) => {
            setTimeout(() => {
              throw error;
            });
          });
          continue;
        }
        try {
          this._handle(event);
        } catch (error) {
          setTimeout(() => {
            throw error;
          });
        }
      }
    }
    /** `_handle` with the message hooks: parse middlewares, then `beforeMessageDispatch`. */
    _handleWithHooks(e) {
      if (!e.message) {
        // A conversation an event brings along has its last message parsed by the middlewares first.
        const client = e.cid && this._clients.get(e.client);
        const conv = client && client._refresh(e.cid);
        return conv ? conv._settle().then(() => this._handle(e)) : this._handle(e);
      }
      return this._parseMessage(e.message).then((message) => {
        if (e.type !== 'message') return this._handle(e, message);
        const client = this._clients.get(e.client);
        // The hook sees the conversation as it was before this message (as in the official SDK,
        // which updates it only for a message the hook keeps); a new one as the core fetched it.
        const conv = client && (client._conversations.get(e.cid) || client._refresh(e.cid));
        return applyDispatcher(this._plugins.beforeMessageDispatch, [message, conv]).then((go) => {
          if (go !== false) return this._handle(e, message);
          // Dropped: neither unread nor the last message, as in the official SDK. Events already
          // queued carry the conversation from before, so they re-read it (see `_handle`).
          if (this._core && this._core.takeBackDroppedMessage(e.client, JSON.stringify(e.message))) {
            this._takenBack += 1;
            const fresh = client && client._refresh(e.cid);
            // A last message put back as a new object goes through the parse middlewares again.
            if (fresh) return fresh._settle();
          }
          return undefined;
        });
      });
    }
    _handle(e, parsed) {
      if (e.type === 'response') {
        let slot = this._pending.get(e.request);
        if (slot) this._pending.delete(e.request);
        else {
          slot = this._pending.get('next');
          if (!slot || slot.done) return;
          slot.done = true;
          slot.ok = e.ok;
          slot.error = e.error && new RealtimeError(e.error);
          return;
        }
        if (e.error) slot.reject(new RealtimeError(e.error));
        else slot.resolve(e.ok);
        return;
      }
      if (e.type === 'connected') return;
      if (CONNECTION_EVENTS.has(e.type)) {
        const args = e.type === 'schedule' ? [e.attempt, e.delay] : [];
        if (e.type === 'reconnect' && e.client) {
          const client = this._clients.get(e.client);
          if (client) client.emit(Event.RECONNECT);
          return;
        }
        this.emit(e.type, ...args);
        if (e.type === 'schedule') this.emit(Event.RETRY, e.attempt);
        for (const client of this._clients.values()) {
          client.emit(e.type, ...args);
          if (e.type === 'schedule') client.emit(Event.RETRY, e.attempt);
        }
        return;
      }
      const client = e.client && this._clients.get(e.client);
      if (!client) return;
      // A dropped message was taken back (unread count, last message) after this event left the core.
      const stale = e.takenBack !== undefined && e.takenBack !== this._takenBack;
      // The hot path: per message, patch the conversation rather than re-read its snapshot.
      if (e.type === 'message') {
        const message = parsed || parseMessage(e.message, this);
        const conv = client._patched(e.cid, stale ? null : e.conv, message) || client._upsert(placeholder(e.cid));
        client.emit(Event.MESSAGE, message, conv);
        conv.emit(Event.MESSAGE, message);
        return;
      }
      if (e.type === 'unreadmessagescountupdate') {
        client.emit(e.type, e.cids.map((cid, i) => client._patched(cid, stale ? null : e.convs[i])).filter(Boolean));
        return;
      }
      const conv = e.cid ? client._refresh(e.cid) || client._upsert(placeholder(e.cid)) : undefined;
      switch (e.type) {
        case 'messagerecall':
        case 'messageupdate': {
          const message = parsed || parseMessage(e.message, this);
          if (parsed && conv.lastMessage && conv.lastMessage.id === message.id) {
            conv.lastMessage = message;
            conv._unparsedLast = null;
          }
          const reason = e.reason ? { code: e.reason.code, detail: e.reason.reason } : undefined;
          client.emit(e.type, message, conv, reason);
          conv.emit(e.type, message, reason);
          return;
        }
        case 'lastdeliveredatupdate':
        case 'lastreadatupdate':
          conv.emit(e.type);
          return;
        case 'receipt':
          return;
        case 'conversationinfoupdated':
          client.emit(e.type, e.payload, conv);
          conv.emit(Event.INFO_UPDATED, e.payload);
          return;
        case 'close':
        case 'conflict':
          this._clients.delete(client.id);
          client.emit(e.type, e.payload);
          return;
        case 'reconnecterror':
          client.emit(e.type, new RealtimeError(e.error));
          return;
        case 'unhandledmessage':
          client.emit(e.type, e.payload);
          return;
        case 'memberinfoupdated': {
          // The official payload: `{member, memberInfo, updatedBy}` (`role` kept as a convenience).
          if (!conv) return;
          if (conv instanceof Conversation) conv._setMemberRole(e.payload.member, e.payload.role);
          const known = conv._memberInfoMap && conv._memberInfoMap[e.payload.member];
          const memberInfo = known || new ConversationMemberInfo({ conversation: conv, memberId: e.payload.member, role: e.payload.role });
          const payload = { ...e.payload, memberInfo };
          client.emit(e.type, payload, conv);
          conv.emit(e.type, payload);
          return;
        }
        default:
          // Member events: on the client with the conversation, and on the conversation.
          if (conv) {
            client.emit(e.type, e.payload, conv);
            conv.emit(e.type, e.payload);
          }
      }
    }
    /**
     * Signs `id` in; the same id gives the same client. `options.signatureFactory(clientId)` signs
     * the login; `conversationSignatureFactory` and `blacklistSignatureFactory` sign conversation
     * creation, membership and blacklist changes (each may return the result or a promise of it).
     */
    createIMClient(id, options = {}, legacyTag) {
      if (typeof options === 'string') options = { tag: options };
      const clientId = typeof id === 'object' && id && id.id ? id.id : id;
      if (this._opening.has(clientId)) return this._opening.get(clientId);
      const token = id && typeof id.getSessionToken === 'function' ? id.getSessionToken() : undefined;
      const tag = options.tag || legacyTag;
      const client = new IMClient(this, clientId, { ...options, tag });
      try {
        applyDecorators(this._plugins.onIMClientCreate, client);
      } catch (error) {
        return Promise.reject(error);
      }
      this._clients.set(clientId, client);
      const signing = options.signatureFactory && !token
        ? runSignatureFactory(options.signatureFactory, [clientId])
        : Promise.resolve(undefined);
      const opening = signing.then((signature) =>
        this._request((core) => call(core, 'open', clientId, tag, token, signature)))
        .then(() => client, (error) => {
        this._clients.delete(clientId);
        this._opening.delete(clientId);
        this._maybeStop();
        throw error;
      });
      this._opening.set(clientId, opening);
      return opening;
    }
    /** Registers message classes; received messages try them latest first (by their `validate`). */
    register(classes) {
      for (const cls of [].concat(classes)) this._messageClasses.push(checkMessageClass(cls));
    }
    /** Tells the core the network came back or went away (browsers do this from `window`). */
    retry() {
      if (this._core) {
        this._core.setOnline(false);
        this._core.setOnline(true);
      }
      return 0;
    }
    pause() {
      if (this._core) this._core.setOnline(false);
    }
    resume() {
      if (this._core) this._core.setOnline(true);
    }
    _maybeStop(force = false) {
      if (!this._core || (!force && (this._clients.size > 0 || this._pending.size > 0))) return;
      if (this._unwatchNetwork) this._unwatchNetwork();
      this._unwatchNetwork = null;
      this._core.shutdown();
      this._core.free();
      this._core = null;
      this._opening.clear();
      const pending = [...this._pending.values()];
      this._pending.clear();
      for (const slot of pending) {
        slot.reject(new RealtimeError({ code: 1000, name: 'CONNECTION_CLOSED', message: 'connection closed' }));
      }
    }
    /** Closes every client and the connection (chinwag extension, handy in tests and pages). */
    close() {
      return Promise.all([...this._clients.values()].map((c) => c.close().catch(() => {})))
        .then(() => this._maybeStop(true));
    }
    static defineConversationProperty(prop, descriptor) {
      Object.defineProperty(PersistentConversation.prototype, prop, descriptor || {
        get() { return this.get(prop); },
        set(value) { this.set(prop, value); },
      });
      return Conversation;
    }
  }

  return {
    Realtime, IMClient, Conversation, ChatRoom, ServiceConversation, TemporaryConversation, ConversationBase,
    ConversationQuery, Message, BinaryMessage, TypedMessage, TextMessage, RecalledMessage, messageType,
    messageField, Event, MessageStatus, MessagePriority, MessageQueryDirection, ConversationMemberRole, ErrorCode,
    EventEmitter, RealtimeError,
  };
}
