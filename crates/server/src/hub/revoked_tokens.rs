//! Session tokens revoked before their expiry: the token of a session kicked by a `tag` conflict,
//! signed out (`session/close`), kicked by the app (REST kick), or replaced by `session/refresh`.
//!
//! Tokens are signed, not stored ([`crate::token`]), so a revoked one has to be remembered, but
//! only until it would have expired anyway: past its expiry the signature check refuses it on its
//! own (4112 SESSION_TOKEN_EXPIRED). Each entry keeps that expiry, and expired entries are dropped
//! when the set has doubled since it was last pruned, so the set stays proportional to the tokens
//! that are still live at an amortised O(1) per revocation, and lookups cost nothing extra.
//!
//! The hub writes each revocation through to storage in the batch's transaction and prunes the
//! stored ones whenever this set is pruned, so a restart loads them back
//! ([`RevokedTokens::restore`]) instead of making the tokens valid again.

use std::collections::HashMap;

use chinwag_protocol::ErrorCode;

/// Entries kept before the first prune (pruning a tiny map is not worth the pass).
const MIN_PRUNE_AT: usize = 64;

/// Why a token was revoked, which decides how a re-login (`r=true` + `st`) with it is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// Its session was replaced by a sign-in with the same `tag` on another device: 4111
    /// SESSION_CONFLICT, which the SDKs report as a conflict and do not retry.
    TagConflict,
    /// Its session was ended for good (signed out, kicked by the app) or the token was replaced by
    /// a refresh: 4112 SESSION_TOKEN_EXPIRED, after which the SDKs sign in afresh (with a login
    /// signature where one is required) instead of with the token.
    Ended,
}

impl Revocation {
    /// The error a re-login with the revoked token gets.
    pub(crate) fn code(self) -> ErrorCode {
        match self {
            Self::TagConflict => ErrorCode::SessionConflict,
            Self::Ended => ErrorCode::SessionTokenExpired,
        }
    }

    /// The revocation a stored [`Revocation::code`] stands for.
    pub(crate) fn from_code(code: i32) -> Self {
        if code == ErrorCode::SessionConflict.code() {
            Self::TagConflict
        } else {
            Self::Ended
        }
    }
}

/// Revoked tokens with their expiry.
#[derive(Debug)]
pub(super) struct RevokedTokens {
    /// Token → when it expires (ms) and why it was revoked.
    expiry_by_token: HashMap<String, (i64, Revocation)>,
    /// Expired entries are dropped when an insert takes the map past this size.
    prune_at: usize,
}

impl Default for RevokedTokens {
    fn default() -> Self {
        Self {
            expiry_by_token: HashMap::new(),
            prune_at: MIN_PRUNE_AT,
        }
    }
}

impl RevokedTokens {
    /// Revokes `token`, which expires at `expires_at_ms`, for `why`. An already expired token
    /// needs no entry. Returns whether expired entries were pruned to make room (the stored copy
    /// is to be pruned too).
    pub(super) fn revoke(&mut self, token: String, expires_at_ms: i64, why: Revocation, now_ms: i64) -> bool {
        if expires_at_ms <= now_ms {
            return false;
        }
        self.expiry_by_token.insert(token, (expires_at_ms, why));
        if self.expiry_by_token.len() > self.prune_at {
            self.prune(now_ms);
            return true;
        }
        false
    }

    /// Takes back a revocation kept in storage (at start-up, before the clock is known: an
    /// expired one is refused as expired anyway and goes at the next prune).
    pub(super) fn restore(&mut self, token: String, expires_at_ms: i64, why: Revocation) {
        self.expiry_by_token.insert(token, (expires_at_ms, why));
    }

    /// Why `token` was revoked, if it was and has not expired by `now_ms` (an expired one is
    /// refused as expired, whether or not its entry was pruned yet).
    pub(super) fn revocation(&self, token: &str, now_ms: i64) -> Option<Revocation> {
        self.expiry_by_token
            .get(token)
            .filter(|&&(expires_at, _)| expires_at > now_ms)
            .map(|&(_, why)| why)
    }

    /// Whether `token` was revoked and has not expired by `now_ms`.
    pub(super) fn is_revoked(&self, token: &str, now_ms: i64) -> bool {
        self.revocation(token, now_ms).is_some()
    }

    /// Drops the entries expired by `now_ms`; the next prune waits until the map has doubled.
    pub(super) fn prune(&mut self, now_ms: i64) {
        self.expiry_by_token
            .retain(|_, &mut (expires_at, _)| expires_at > now_ms);
        self.prune_at = (self.expiry_by_token.len() * 2).max(MIN_PRUNE_AT);
    }

    /// How many entries are held (expired ones included until the next prune).
    pub(super) fn len(&self) -> usize {
        self.expiry_by_token.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revoked_token_is_refused_until_its_expiry() {
        let mut revoked = RevokedTokens::default();
        revoked.revoke("t".into(), 2_000, Revocation::TagConflict, 1_000);
        assert_eq!(revoked.revocation("t", 1_000), Some(Revocation::TagConflict));
        assert!(revoked.is_revoked("t", 1_999));
        assert!(
            !revoked.is_revoked("t", 2_000),
            "expired: the signature check refuses it"
        );
        assert!(!revoked.is_revoked("other", 1_000));
        revoked.revoke("stale".into(), 1_000, Revocation::Ended, 1_000);
        assert_eq!(revoked.len(), 1, "an expired token is not stored");
    }

    #[test]
    fn expired_entries_are_dropped_as_the_set_grows() {
        let mut revoked = RevokedTokens::default();
        // Each token lives 10 ms; one is revoked per ms for far longer than that.
        for now in 0..10_000_i64 {
            revoked.revoke(format!("t{now}"), now + 10, Revocation::Ended, now);
            assert!(
                revoked.len() <= MIN_PRUNE_AT + 1,
                "{} entries held at {now}",
                revoked.len()
            );
        }
        // Tokens still live are all kept.
        for now in 9_990..10_000_i64 {
            assert!(revoked.is_revoked(&format!("t{now}"), 9_999));
        }
        revoked.prune(20_000);
        assert_eq!(revoked.len(), 0);
    }

    #[test]
    fn live_tokens_are_never_dropped() {
        let mut revoked = RevokedTokens::default();
        for i in 0..1_000_i64 {
            revoked.revoke(format!("t{i}"), 1_000_000, Revocation::Ended, i);
        }
        assert_eq!(revoked.len(), 1_000);
        assert!((0..1_000).all(|i| revoked.is_revoked(&format!("t{i}"), 1_000)));
    }
}
