//! Signed session tokens (`st`): HMAC-SHA1 over the app id, client id and expiry, keyed by a server
//! secret, so the server can verify a re-login (`r=true`) without storing tokens.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Why a session token was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token this server issued (bad shape or signature, other app or client).
    #[error("invalid session token")]
    Invalid,
    /// A genuine token past its expiry.
    #[error("session token expired")]
    Expired,
}

/// Issues and verifies session tokens; each token names the app and the client it was issued for.
#[derive(Clone)]
pub struct TokenSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner").finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// A signer keyed by `secret`.
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self {
            secret: secret.as_ref().to_vec(),
        }
    }

    /// A token for `client_id` of `app_id` that expires at `expires_at_ms`.
    pub fn issue(&self, app_id: &str, client_id: &str, expires_at_ms: i64) -> String {
        let payload = format!("{app_id}\n{client_id}\n{expires_at_ms}");
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload.as_bytes()),
            hex::encode(self.sign(payload.as_bytes()))
        )
    }

    /// Checks that `token` was issued by this signer to `client_id` of `app_id` and is still valid
    /// at `now_ms`.
    pub fn verify(&self, token: &str, app_id: &str, client_id: &str, now_ms: i64) -> Result<(), TokenError> {
        let (app, client) = self.open(token, now_ms)?;
        if app != app_id || client != client_id {
            return Err(TokenError::Invalid);
        }
        Ok(())
    }

    /// The app id and client id of a genuine `token` that is still valid at `now_ms`.
    pub fn open(&self, token: &str, now_ms: i64) -> Result<(String, String), TokenError> {
        let (payload, signature) = token.split_once('.').ok_or(TokenError::Invalid)?;
        let payload = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenError::Invalid)?;
        let signature = hex::decode(signature).map_err(|_| TokenError::Invalid)?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&signature).map_err(|_| TokenError::Invalid)?;
        let payload = String::from_utf8(payload).map_err(|_| TokenError::Invalid)?;
        let mut parts = payload.split('\n');
        let (Some(app), Some(client), Some(expiry), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Invalid);
        };
        let expiry: i64 = expiry.parse().map_err(|_| TokenError::Invalid)?;
        if expiry <= now_ms {
            return Err(TokenError::Expired);
        }
        Ok((app.to_owned(), client.to_owned()))
    }

    fn mac(&self) -> Hmac<Sha1> {
        // HMAC accepts keys of any length, so this cannot fail; an empty key is still a valid key.
        <Hmac<Sha1> as KeyInit>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"))
    }

    fn sign(&self, payload: &[u8]) -> Vec<u8> {
        let mut mac = self.mac();
        mac.update(payload);
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_tampering() {
        let signer = TokenSigner::new("secret");
        let token = signer.issue("app", "Tom", 2_000);
        assert_eq!(signer.verify(&token, "app", "Tom", 1_000), Ok(()));
        assert_eq!(
            signer.verify(&token, "app", "Tom", 2_000),
            Err(TokenError::Expired)
        );
        assert_eq!(
            signer.verify(&token, "app", "Jerry", 1_000),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            signer.verify(&token, "other-app", "Tom", 1_000),
            Err(TokenError::Invalid)
        );
        let other = TokenSigner::new("other secret");
        assert_eq!(
            other.verify(&token, "app", "Tom", 1_000),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            signer.verify("garbage", "app", "Tom", 1_000),
            Err(TokenError::Invalid)
        );
        let forged = token.replacen('.', ".00", 1);
        assert_eq!(
            signer.verify(&forged, "app", "Tom", 1_000),
            Err(TokenError::Invalid)
        );
        // Rewriting the payload to another client breaks the signature.
        let (_, sig) = token.split_once('.').expect("dot");
        let swapped = format!("{}.{sig}", URL_SAFE_NO_PAD.encode("app\nJerry\n2000"));
        assert_eq!(
            signer.verify(&swapped, "app", "Jerry", 1_000),
            Err(TokenError::Invalid)
        );
    }
}
