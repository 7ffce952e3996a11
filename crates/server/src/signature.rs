//! LeanCloud-style request signatures: hex HMAC-SHA1 with the app's master key over `:`-joined
//! fields (PROTOCOL.md §3.14), which an app server hands to its clients so that only the users it
//! vouches for can sign in or change conversation membership.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// The hex HMAC-SHA1 of `message` under `key`.
pub fn sign(key: &[u8], message: &str) -> String {
    let mut mac = mac(key);
    mac.update(message.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` (hex) is the HMAC-SHA1 of `message` under `key` (constant-time compare).
pub fn verify(key: &[u8], message: &str, signature: &str) -> bool {
    let Ok(bytes) = hex::decode(signature.trim()) else {
        return false;
    };
    let mut mac = mac(key);
    mac.update(message.as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

/// The signed text of a login: `appId:clientId::timestamp:nonce`.
pub fn login_message(app_id: &str, client_id: &str, timestamp: i64, nonce: &str) -> String {
    format!("{app_id}:{client_id}::{timestamp}:{nonce}")
}

/// The signed text of a conversation creation: `appId:clientId:sorted members:timestamp:nonce`.
pub fn create_message(
    app_id: &str,
    client_id: &str,
    members: &[String],
    timestamp: i64,
    nonce: &str,
) -> String {
    format!("{app_id}:{client_id}:{}:{timestamp}:{nonce}", sorted(members))
}

/// The signed text of adding or removing members:
/// `appId:clientId:convId:sorted members:timestamp:nonce:action`.
pub fn membership_message(
    app_id: &str,
    client_id: &str,
    cid: &str,
    members: &[String],
    timestamp: i64,
    nonce: &str,
    action: &str,
) -> String {
    format!(
        "{app_id}:{client_id}:{cid}:{}:{timestamp}:{nonce}:{action}",
        sorted(members)
    )
}

fn sorted(members: &[String]) -> String {
    let mut members = members.to_vec();
    members.sort();
    members.join(":")
}

fn mac(key: &[u8]) -> Hmac<Sha1> {
    <Hmac<Sha1> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_official_signing_demo() {
        let message = login_message("app", "Tom", 1_700_000_000, "abc");
        assert_eq!(message, "app:Tom::1700000000:abc");
        let signature = sign(b"masterKey", &message);
        // `echo -n 'app:Tom::1700000000:abc' | openssl dgst -sha1 -hmac masterKey`
        assert_eq!(signature, "712c2236364df00543c29ee736b5d2824b426373");
        assert!(verify(b"masterKey", &message, &signature));
        assert!(!verify(b"other", &message, &signature));
        assert!(!verify(b"masterKey", &message, "not hex"));
        assert_eq!(
            membership_message("app", "Tom", "c1", &["b".into(), "a".into()], 1, "n", "invite"),
            "app:Tom:c1:a:b:1:n:invite"
        );
    }
}
