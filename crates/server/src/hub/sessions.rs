//! `session/*` commands: sign-in with session tokens and `tag` conflicts, sign-out, online status,
//! and the end of a connection (which delivers `will` messages).

use std::sync::Arc;

use chinwag_protocol::{
    CommandType, ErrorCode, GenericCommand, OpType, SessionCommand, UnreadCommand, UnreadTuple,
};

use serde_json::json;

use super::hooks::{HookName, Offline};
use super::revoked_tokens::Revocation;
use super::{ConnId, Fail, Hub, HubResult, Session};
use crate::storage::{RevokedTokenRecord, Storage, StorageError};
use crate::token::TokenError;

/// Longest client id accepted (LeanCloud: 64 characters).
const MAX_CLIENT_ID_CHARS: usize = 64;

/// Milliseconds in a day.
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The UTC day of `ms` (days since the Unix epoch).
fn utc_day(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS)
}

/// Usage counts (`GET /1.2/rtm/stats`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// Clients with at least one session now (`online_user_count`).
    pub online: usize,
    /// Distinct clients that signed in on the current UTC day (`user_count_today`).
    pub signed_in_today: u64,
}

impl<S: Storage> Hub<S> {
    pub(super) fn session_open(&mut self, conn: ConnId, command: &GenericCommand, now: i64) -> HubResult {
        let body = command.session_message.as_deref().cloned().unwrap_or_default();
        let client = match command.peer_id.as_deref() {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => self.ids.next(now),
        };
        if client.chars().count() > MAX_CLIENT_ID_CHARS {
            return self.session_refused(conn, command, ErrorCode::InvalidLogin, "client id too long");
        }
        // A missing app id means the configured one (clients of this server that never set it).
        let app_id = command
            .app_id
            .clone()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| self.config.app_id.clone());
        if !self.config.accepts_app_id(&app_id) {
            return self.session_refused(conn, command, ErrorCode::AppNotAvailable, "unknown app id");
        }
        // A client signed in on this connection stays with the app it signed in with.
        if let Some(session) = self.sessions.get(&client).and_then(|s| s.get(&conn)) {
            if session.app_id != app_id {
                return self.session_refused(conn, command, ErrorCode::AppNotAvailable, "app id changed");
            }
        }
        if !self.has_room_for_client(conn, &client) {
            return self.session_refused(
                conn,
                command,
                ErrorCode::AppQuotaExceeded,
                "too many clients on this connection",
            );
        }
        let token_relogin = body.r == Some(true) && body.st.is_some();
        if !token_relogin
            && !self.signed(body.s.as_deref(), body.t, body.n.as_deref(), now, |t, n| {
                crate::signature::login_message(&app_id, &client, t, n)
            })
        {
            return self.session_refused(
                conn,
                command,
                ErrorCode::SignatureFailed,
                "login signature mismatch",
            );
        }
        if body.r == Some(true) {
            if let Some(token) = body.st.as_deref() {
                if let Some(why) = self.revoked_tokens.revocation(token, now) {
                    let detail = match why {
                        Revocation::TagConflict => "signed in elsewhere with the same tag",
                        Revocation::Ended => "session token revoked",
                    };
                    return self.session_refused(conn, command, why.code(), detail);
                }
                if let Err(error) = self.signer.verify(token, &app_id, &client, now) {
                    let detail = match error {
                        TokenError::Expired => "session token expired",
                        TokenError::Invalid => "session token invalid",
                    };
                    return self.session_refused(conn, command, ErrorCode::SessionTokenExpired, detail);
                }
            }
        } else if let Some(tag) = body.tag.as_deref().filter(|t| !t.is_empty()) {
            self.kick_conflicting(conn, &client, tag, body.device_id.as_deref(), now)?;
        }

        let (token, token_expires_at) = self.issue_token(&app_id, &client, now);
        self.storage.record_sign_in(utc_day(now), &client)?;
        let clients = self.conns.entry(conn).or_default();
        if !clients.contains(&client) {
            clients.push(client.clone());
        }
        // Back within the grace period: still in its chat rooms.
        self.room_grace.cancel(&client);
        let previous = self.sessions.entry(client.clone()).or_default().insert(
            conn,
            Session {
                peer_id: client.as_str().into(),
                app_id: app_id.clone(),
                tag: if body.r == Some(true) {
                    None
                } else {
                    body.tag.clone()
                },
                device_id: body.device_id.clone(),
                token: token.clone(),
                token_expires_at,
                wills: Vec::new(),
            },
        );
        if let Some(previous) = previous {
            // A re-login on the same connection keeps the tag it signed in with.
            if let Some(session) = self.sessions.get_mut(&client).and_then(|s| s.get_mut(&conn)) {
                if session.tag.is_none() {
                    session.tag = previous.tag;
                    session.device_id = session.device_id.take().or(previous.device_id);
                }
            }
            // Its new token replaces the one it held, as on a refresh: the SDKs keep only the
            // token of the last `session/opened` (`issue_token` never hands out one still held).
            self.revoke_token(previous.token, previous.token_expires_at, Revocation::Ended, now)?;
        }
        let reply = GenericCommand::reply_to(command, CommandType::Session)
            .with_op(OpType::Opened)
            .with_peer_id(client.clone())
            .with_server_ts(now)
            .with(SessionCommand {
                st: Some(token),
                st_ttl: Some(self.config.session_ttl_secs),
                ..Default::default()
            });
        self.reply(conn, reply);
        let tag = body.tag.as_deref().filter(|tag| !tag.is_empty());
        self.notify_hook(HookName::ClientOnline, |hub| {
            json!({
                "peerId": client,
                "tag": tag,
                "reconnect": body.r == Some(true),
                "sourceIP": hub.source_ip(Some(conn)),
            })
        });
        self.push_unread_after_login(conn, &client, body.last_unread_notif_time.unwrap_or(0), now)?;
        match body.last_patch_time {
            Some(since) => self.push_patches_after_login(conn, &client, since, now),
            None => Ok(()),
        }
    }

    /// `GET /1.2/rtm/stats`: how many clients are online now, and how many distinct clients
    /// signed in on the current UTC day (every app id the server serves together).
    pub fn stats(&mut self, now_ms: i64) -> Result<Stats, StorageError> {
        Ok(Stats {
            online: self.sessions.len(),
            signed_in_today: self.storage.clients_signed_in_on(utc_day(now_ms))?,
        })
    }

    /// Forgets the sign-ins of days before yesterday (UTC), which no stats ask for. The runtime
    /// calls this periodically.
    pub fn prune_sign_ins(&mut self, now_ms: i64) {
        match self.storage.prune_sign_ins(utc_day(now_ms) - 1) {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "pruned old sign-in days"),
            Err(error) => tracing::warn!(%error, "pruning sign-in days failed"),
        }
    }

    /// A new session token for `client` of `app_id` at `now`, and when it expires (ms):
    /// [`super::HubConfig::session_ttl_secs`] later. Tokens are a signature of (app, client,
    /// expiry), so two issued in the same millisecond would be equal: the expiry is moved on by a
    /// millisecond until the token is neither revoked (a sign-in right after a sign-out must not get
    /// the token just revoked) nor held by another session of the client (revoking one session's
    /// token must not revoke another's).
    fn issue_token(&self, app_id: &str, client: &str, now: i64) -> (String, i64) {
        let mut expires_at = now.saturating_add(i64::from(self.config.session_ttl_secs) * 1000);
        loop {
            let token = self.signer.issue(app_id, client, expires_at);
            let held = self
                .sessions
                .get(client)
                .is_some_and(|sessions| sessions.values().any(|s| s.token == token));
            if !held && !self.revoked_tokens.is_revoked(&token, now) {
                return (token, expires_at);
            }
            expires_at = expires_at.saturating_add(1);
        }
    }

    /// Revokes `token` (expiring at `expires_at`) for `why`: a re-login with it is refused (and
    /// REST calls with it too) until it would have expired. Stored in the batch's transaction, so
    /// it outlives a restart; when the in-memory set prunes its expired entries, the stored ones go
    /// too (amortised: the set has doubled since the last prune).
    fn revoke_token(&mut self, token: String, expires_at: i64, why: Revocation, now: i64) -> HubResult {
        if expires_at <= now {
            return Ok(());
        }
        let record = RevokedTokenRecord {
            token,
            expires_at,
            code: why.code().code(),
        };
        self.storage.revoke_token(&record)?;
        if self.revoked_tokens.revoke(record.token, expires_at, why, now) {
            self.storage.prune_revoked_tokens(now)?;
        }
        Ok(())
    }

    /// Loads the revocations kept in storage (at start-up); the first batch prunes the ones that
    /// expired meanwhile ([`Self::prune_restored_revocations`]).
    pub(super) fn restore_revocations(&mut self) -> Result<(), StorageError> {
        let stored = self.storage.revoked_tokens()?;
        self.revocations_need_prune = !stored.is_empty();
        for revoked in stored {
            let why = Revocation::from_code(revoked.code);
            self.revoked_tokens
                .restore(revoked.token, revoked.expires_at, why);
        }
        Ok(())
    }

    /// Drops the revocations loaded at start-up that have expired by `now`, in memory and in
    /// storage (once, in the first batch: the hub learns the time from its batches).
    pub(super) fn prune_restored_revocations(&mut self, now: i64) {
        if !self.revocations_need_prune {
            return;
        }
        self.revoked_tokens.prune(now);
        match self.storage.prune_revoked_tokens(now) {
            Ok(pruned) => {
                self.revocations_need_prune = false;
                if pruned > 0 {
                    tracing::debug!(pruned, "pruned revoked session tokens that expired");
                }
            }
            // Housekeeping only (expired tokens are refused anyway): tried again next batch.
            Err(error) => tracing::warn!(%error, "pruning revoked session tokens failed"),
        }
    }

    /// Answers `session/open` with `session/closed{code}` (the shape the SDKs read for login failures).
    fn session_refused(
        &mut self,
        conn: ConnId,
        command: &GenericCommand,
        code: ErrorCode,
        detail: &str,
    ) -> HubResult {
        let reply = GenericCommand::reply_to(command, CommandType::Session)
            .with_op(OpType::Closed)
            .with(SessionCommand {
                code: Some(code.code()),
                reason: Some(code.name().into()),
                detail: Some(detail.into()),
                ..Default::default()
            });
        self.reply(conn, reply);
        Ok(())
    }

    /// Single-device sign-in: an older session of `client` with the same `tag` on another device is
    /// closed with 4111 and its token revoked.
    fn kick_conflicting(
        &mut self,
        conn: ConnId,
        client: &str,
        tag: &str,
        device_id: Option<&str>,
        now: i64,
    ) -> HubResult {
        let Some(sessions) = self.sessions.get(client) else {
            return Ok(());
        };
        let victims: Vec<ConnId> = sessions
            .iter()
            .filter(|(other, session)| {
                **other != conn
                    && session.tag.as_deref() == Some(tag)
                    && (device_id.is_none() || session.device_id.as_deref() != device_id)
            })
            .map(|(other, _)| *other)
            .collect();
        for victim in victims {
            let detail = "signed in on another device with the same tag";
            self.close_session(
                victim,
                client,
                ErrorCode::SessionConflict,
                Some(detail.into()),
                now,
            )?;
        }
        Ok(())
    }

    /// Ends `client`'s session on `conn` from the server's side: it gets `session/closed` with
    /// `code` and `detail`, then is removed as on a sign-out ([`Self::remove_session`]) and its
    /// token revoked (4111 conflicts as [`Revocation::TagConflict`], others as
    /// [`Revocation::Ended`]).
    pub(super) fn close_session(
        &mut self,
        conn: ConnId,
        client: &str,
        code: ErrorCode,
        detail: Option<String>,
        now: i64,
    ) -> HubResult {
        let push = Self::push_body(
            CommandType::Session,
            Some(OpType::Closed),
            SessionCommand {
                code: Some(code.code()),
                reason: Some(code.name().into()),
                detail,
                ..Default::default()
            },
            now,
        );
        self.push_on(conn, client, push);
        let offline = if code == ErrorCode::SessionConflict {
            Offline::TagConflict
        } else {
            Offline::KickedByApp
        };
        if let Some(session) = self.remove_session(conn, client, offline, now) {
            let why = if code == ErrorCode::SessionConflict {
                Revocation::TagConflict
            } else {
                Revocation::Ended
            };
            self.revoke_token(session.token, session.token_expires_at, why, now)?;
        }
        Ok(())
    }

    /// Removes `client`'s session on `conn` at `now` (ended as `why` says); when it was the
    /// client's last one, it leaves its chat rooms (chat-room membership is online-only) at once,
    /// or after the grace period when the connection dropped.
    pub(super) fn remove_session(
        &mut self,
        conn: ConnId,
        client: &str,
        why: Offline,
        now: i64,
    ) -> Option<Session> {
        let dropped = why == Offline::Dropped;
        if let Some(clients) = self.conns.get_mut(&conn) {
            clients.retain(|c| c != client);
        }
        let sessions = self.sessions.get_mut(client)?;
        let session = sessions.remove(&conn);
        if let Some(session) = &session {
            self.notify_hook(HookName::ClientOffline, |_| {
                why.params(client, session.tag.as_deref())
            });
        }
        let Some(sessions) = self.sessions.get_mut(client) else {
            return session;
        };
        if sessions.is_empty() {
            self.sessions.remove(client);
            if dropped && self.config.chat_room_grace_ms > 0 {
                self.room_grace.start(client, now);
            } else {
                self.leave_chat_rooms(client, now);
            }
        }
        session
    }

    /// `client` leaves every chat room it is in (and their `mu` lists).
    fn leave_chat_rooms(&mut self, client: &str, now: i64) {
        self.room_grace.cancel(client);
        let rooms: Vec<String> = self
            .joined
            .conversations_of(client)
            .iter()
            .filter(|cid| self.convs.get(*cid).is_some_and(|c| c.record.transient))
            .map(|cid| cid.to_string())
            .collect();
        let leaving = [client.to_owned()];
        for cid in rooms {
            // Nobody waits for an answer here (a sign-out, a dropped connection): a failed write
            // of the `mu` list is logged, the client is out of the room all the same.
            if let Err(Fail::Storage(error)) = self.leave_room(&cid, &leaving, now) {
                tracing::error!(%error, "cannot store a chat room's mute list");
            }
        }
    }

    /// Clients that dropped longer than the grace period ago and did not come back leave their
    /// chat rooms.
    pub(super) fn leave_rooms_after_grace(&mut self, now: i64) {
        for client in self.room_grace.take_expired(now, self.config.chat_room_grace_ms) {
            if !self.is_online(&client) {
                self.leave_chat_rooms(&client, now);
            }
        }
    }

    /// After a login: one `unread` push with every conversation that has unread messages newer than
    /// the client's `lastUnreadNotifTime`.
    fn push_unread_after_login(&mut self, conn: ConnId, client: &str, since: i64, now: i64) -> HubResult {
        let counts = self.storage.unread_counts(client, since)?;
        if counts.is_empty() {
            return Ok(());
        }
        let convs = counts
            .into_iter()
            .map(|count| {
                let mut tuple = self.unread_tuple(&count.cid, count.unread);
                tuple.mentioned = Some(count.mentioned);
                tuple
            })
            .collect();
        self.push_on(conn, client, Self::unread_push(convs, now));
        Ok(())
    }

    /// The `unread` push of the counts `convs`.
    pub(super) fn unread_push(convs: Vec<UnreadTuple>, now: i64) -> Arc<GenericCommand> {
        Self::push_body(
            CommandType::Unread,
            None,
            UnreadCommand {
                convs,
                notif_time: Some(now),
            },
            now,
        )
    }

    /// An `UnreadTuple` for `cid` with its last message (both required fields filled).
    pub(super) fn unread_tuple(&self, cid: &str, unread: u32) -> UnreadTuple {
        let mut tuple = UnreadTuple {
            cid: cid.to_owned(),
            unread: i32::try_from(unread).unwrap_or(i32::MAX),
            ..Default::default()
        };
        if let Some(last) = self.convs.get(cid).and_then(|c| c.last.as_ref()) {
            tuple.mid = Some(last.id.to_string());
            tuple.timestamp = Some(last.timestamp);
            tuple.from = Some(last.from.to_string());
            tuple.data = last.text();
            tuple.binary_msg = last.binary();
            tuple.patch_timestamp = last.patch_timestamp;
        }
        tuple
    }

    /// `session/close`: signs `client` out of `conn`. Its token is revoked: a sign-out is for
    /// good, so neither the client nor whoever copied the token can come back with it (`r=true`
    /// re-logins are for dropped connections, which keep theirs).
    pub(super) fn session_close(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        now: i64,
    ) -> HubResult {
        // A deliberate sign-out drops pending `will` messages: they are for unexpected drops.
        if let Some(session) = self.remove_session(conn, client, Offline::SignedOut, now) {
            self.revoke_token(session.token, session.token_expires_at, Revocation::Ended, now)?;
        }
        let reply = GenericCommand::reply_to(command, CommandType::Session)
            .with_op(OpType::Closed)
            .with(SessionCommand::default());
        if command.serial().is_some() {
            self.reply(conn, reply);
        }
        Ok(())
    }

    /// `session/refresh`: a fresh session token for a signed-in client (the JS SDK asks when its
    /// cached token expired and a REST call needs one). With signatures required, the client proves
    /// itself as the official SDKs do: the JS SDKs sign the refresh with the login signature
    /// (`signatureFactory(clientId)`), checked as a sign-in is (a forged or stale one gets 4102
    /// SIGNATURE_FAILED and no token); the Swift SDK sends no signature, only the session token this
    /// session holds (`st`, expired or not), which is accepted in its place. The token the session
    /// held is revoked once the new one is handed out: the SDKs keep only the refreshed one (v5
    /// and Swift use it from then on; 4.3.1 keeps `undefined` instead, PROTOCOL.md §3.1, and
    /// signs in afresh), so none of them comes back with the old one.
    pub(super) fn session_refresh(
        &mut self,
        conn: ConnId,
        client: &str,
        command: &GenericCommand,
        now: i64,
    ) -> HubResult {
        let app_id = self.app_of(conn, client);
        let body = command.session_message.as_ref();
        let s = body.and_then(|b| b.s.as_deref());
        let t = body.and_then(|b| b.t);
        let n = body.and_then(|b| b.n.as_deref());
        let holds_session_token = s.is_none()
            && body.and_then(|b| b.st.as_deref()).is_some_and(|st| {
                self.sessions
                    .get(client)
                    .and_then(|sessions| sessions.get(&conn))
                    .is_some_and(|session| session.token == st)
            });
        if !holds_session_token
            && !self.signed(s, t, n, now, |t, n| {
                crate::signature::login_message(&app_id, client, t, n)
            })
        {
            return Err(Fail::Code(
                ErrorCode::SignatureFailed,
                Some("refresh signature mismatch".into()),
            ));
        }
        let (token, token_expires_at) = self.issue_token(&app_id, client, now);
        let replaced = self
            .sessions
            .get_mut(client)
            .and_then(|s| s.get_mut(&conn))
            .map(|session| {
                let old_expiry = std::mem::replace(&mut session.token_expires_at, token_expires_at);
                (std::mem::replace(&mut session.token, token.clone()), old_expiry)
            });
        if let Some((old_token, old_expiry)) = replaced {
            self.revoke_token(old_token, old_expiry, Revocation::Ended, now)?;
        }
        let reply = GenericCommand::reply_to(command, CommandType::Session)
            .with_op(OpType::Refreshed)
            .with(SessionCommand {
                st: Some(token),
                st_ttl: Some(self.config.session_ttl_secs),
                ..Default::default()
            });
        self.reply(conn, reply);
        Ok(())
    }

    pub(super) fn session_query(&mut self, conn: ConnId, command: &GenericCommand) -> HubResult {
        let asked = command
            .session_message
            .as_ref()
            .map(|s| s.session_peer_ids.clone())
            .unwrap_or_default();
        let online = asked
            .into_iter()
            .take(20)
            .filter(|id| self.is_online(id))
            .collect();
        let reply = GenericCommand::reply_to(command, CommandType::Session)
            .with_op(OpType::QueryResult)
            .with(SessionCommand {
                online_session_peer_ids: online,
                ..Default::default()
            });
        self.reply(conn, reply);
        Ok(())
    }

    /// A connection ended: its sessions end, and their `will` messages are delivered.
    pub(super) fn end_connection(&mut self, conn: ConnId, now: i64) {
        self.buckets.remove(&conn);
        self.forget_connection_hooks(conn);
        let clients = self.conns.remove(&conn).unwrap_or_default();
        for client in clients {
            let Some(session) = self.remove_session(conn, &client, Offline::Dropped, now) else {
                continue;
            };
            for will in session.wills {
                if let Err(fail) = self.deliver_will(&client, will, now) {
                    match fail {
                        Fail::Storage(error) => {
                            tracing::error!(%error, "cannot store a will message")
                        }
                        Fail::Code(code, _) | Fail::RejectedByApp { code, .. } => {
                            tracing::debug!(%code, "will message not delivered")
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use chinwag_protocol::{CommandType, GenericCommand, OpType, SessionCommand};

    use crate::storage::Storage as _;
    use crate::{Hub, HubConfig, SqliteStorage};

    const NOW: i64 = 1_795_000_000_000;

    /// Tom signs in on `conn` with the tag "mobile" and the device `conn`, kicking the session
    /// before it.
    fn tagged_login(hub: &mut Hub<SqliteStorage>, conn: u64, now: i64) {
        hub.connect(conn);
        let open = GenericCommand::request(CommandType::Session, 1)
            .with_op(OpType::Open)
            .with_peer_id("Tom")
            .with_app_id("app")
            .with(SessionCommand {
                tag: Some("mobile".into()),
                device_id: Some(conn.to_string()),
                ..Default::default()
            });
        hub.handle(conn, open, now);
    }

    #[test]
    fn revoked_tokens_are_forgotten_once_expired() {
        let mut config = HubConfig::new("app", "secret");
        config.session_ttl_secs = 1;
        let mut hub = Hub::new(config, SqliteStorage::in_memory().expect("db")).expect("hub");
        // A device flapping for ten minutes, each sign-in kicking the one before.
        let logins = 6_000_u64;
        for conn in 0..logins {
            let now = NOW + i64::try_from(conn).expect("small") * 100;
            tagged_login(&mut hub, conn, now);
        }
        assert!(hub.revoked_tokens.len() >= 9, "the last second's tokens are held");
        // Only tokens of the last second are live; the set is bounded by them, not by the logins.
        assert!(
            hub.revoked_tokens.len() <= 2 * 10 + 64,
            "{} revoked tokens held after {logins} kicks",
            hub.revoked_tokens.len()
        );
        // The stored copy is pruned with it.
        let stored = hub.storage.revoked_tokens().expect("stored").len();
        assert!(
            stored <= 2 * 10 + 64,
            "{stored} revoked tokens stored after {logins} kicks"
        );
    }
}
