//! Authentication of the HTTP API: `X-LC-Id` (an app id this server serves) and `X-LC-Key` (the
//! app key, or `<master key>,master` for the master key), or instead of `X-LC-Key` the signed
//! `X-LC-Sign: md5(timestamp + key),timestamp[,master]` (lower-case hex, timestamp in ms), as
//! LeanCloud checks them. A failure is answered `401 {"code": 401, "error": "Unauthorized."}`.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};

use super::ServerConfig;

/// Who is calling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Caller {
    /// The app id of `X-LC-Id`.
    pub app_id: String,
    /// Whether it authenticated with the master key.
    pub master: bool,
}

/// Checks `X-LC-Id` and `X-LC-Key`; `need_master` refuses the app key. `None`: answer
/// [`unauthorized`].
pub(crate) fn authenticate(config: &ServerConfig, headers: &HeaderMap, need_master: bool) -> Option<Caller> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let app_id = header("X-LC-Id").filter(|id| !id.is_empty())?;
    let known = config.allow_any_app_id
        || app_id == config.app_id
        || config.other_app_ids.iter().any(|a| a == app_id);
    if !known {
        return None;
    }
    if let Some(sign) = header("X-LC-Sign").filter(|_| header("X-LC-Key").is_none()) {
        let master = signed(config, sign, need_master, crate::time::now_ms())?;
        return Some(Caller {
            app_id: app_id.to_owned(),
            master,
        });
    }
    let key = header("X-LC-Key").unwrap_or_default();
    let master = match key.strip_suffix(",master") {
        Some(master_key) => match &config.master_key {
            Some(expected) if same(master_key, expected) => true,
            _ => return None,
        },
        None if !need_master && same(key, &config.app_key) => false,
        None => return None,
    };
    Some(Caller {
        app_id: app_id.to_owned(),
        master,
    })
}

/// Checks `X-LC-Sign: <md5(timestamp + key)>,<timestamp>[,master]`; returns whether it was
/// signed with the master key. The timestamp (ms) must be within the signature window
/// ([`ServerConfig::signature_ttl_secs`]) of `now_ms`, so a captured header cannot be replayed
/// forever.
fn signed(config: &ServerConfig, sign: &str, need_master: bool, now_ms: i64) -> Option<bool> {
    use md5::Digest as _;
    let mut parts = sign.split(',');
    let (digest, timestamp) = (parts.next()?, parts.next()?);
    let master = match parts.next() {
        None => false,
        Some("master") => true,
        Some(_) => return None,
    };
    if parts.next().is_some() || (need_master && !master) {
        return None;
    }
    let at: i64 = timestamp.parse().ok()?;
    if now_ms.saturating_sub(at).saturating_abs() > config.signature_ttl_secs.saturating_mul(1000) {
        return None;
    }
    let key = if master {
        config.master_key.as_deref()?
    } else {
        config.app_key.as_str()
    };
    let expected = hex::encode(md5::Md5::digest(format!("{timestamp}{key}").as_bytes()));
    same(&digest.to_ascii_lowercase(), &expected).then_some(master)
}

/// `401 {"code": 401, "error": "Unauthorized."}`.
pub(crate) fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({"code": 401, "error": "Unauthorized."})),
    )
        .into_response()
}

/// Compares secrets without stopping at the first difference.
fn same(given: &str, expected: &str) -> bool {
    let (given, expected) = (given.as_bytes(), expected.as_bytes());
    given.len() == expected.len() && given.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().expect("header value"));
        }
        map
    }

    #[test]
    fn checks_app_id_app_key_and_master_key() {
        let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
        config.app_id = "app".into();
        config.app_key = "key".into();
        config.master_key = Some("master".into());
        let ok = |pairs: &[(&'static str, &str)], need_master: bool| {
            authenticate(&config, &headers(pairs), need_master).map(|c| c.master)
        };
        assert_eq!(ok(&[("X-LC-Id", "app"), ("X-LC-Key", "key")], false), Some(false));
        assert_eq!(
            ok(&[("X-LC-Id", "app"), ("X-LC-Key", "master,master")], false),
            Some(true)
        );
        assert_eq!(
            ok(&[("X-LC-Id", "app"), ("X-LC-Key", "master,master")], true),
            Some(true)
        );
        assert_eq!(ok(&[("X-LC-Id", "app"), ("X-LC-Key", "key")], true), None);
        assert_eq!(ok(&[("X-LC-Id", "app"), ("X-LC-Key", "master")], false), None);
        assert_eq!(ok(&[("X-LC-Id", "app"), ("X-LC-Key", "key,master")], false), None);
        assert_eq!(ok(&[("X-LC-Id", "other"), ("X-LC-Key", "key")], false), None);
        assert_eq!(ok(&[("X-LC-Key", "key")], false), None);
        assert_eq!(ok(&[("X-LC-Id", "app")], false), None);
        config.master_key = None;
        let no_master = authenticate(
            &config,
            &headers(&[("X-LC-Id", "app"), ("X-LC-Key", ",master")]),
            true,
        );
        assert!(no_master.is_none(), "no master key configured: nothing is master");
    }

    #[test]
    fn checks_x_lc_sign_with_the_app_key_or_the_master_key() {
        use md5::Digest as _;
        let mut config = ServerConfig::local("127.0.0.1:0".parse().expect("addr"));
        config.app_id = "app".into();
        config.app_key = "key".into();
        config.master_key = Some("master".into());
        let now = crate::time::now_ms();
        let sign = |at: i64, key: &str| hex::encode(md5::Md5::digest(format!("{at}{key}").as_bytes()));
        let check = |value: String, need_master: bool| {
            authenticate(
                &config,
                &headers(&[("X-LC-Id", "app"), ("X-LC-Sign", &value)]),
                need_master,
            )
            .map(|c| c.master)
        };
        assert_eq!(check(format!("{},{now}", sign(now, "key")), false), Some(false));
        assert_eq!(
            check(format!("{},{now},master", sign(now, "master")), true),
            Some(true)
        );
        assert_eq!(
            check(format!("{},{now}", sign(now, "key").to_uppercase()), false),
            Some(false),
            "hex case does not matter"
        );
        assert_eq!(
            check(format!("{},{now}", sign(now, "key")), true),
            None,
            "app key, master needed"
        );
        assert_eq!(check(format!("{},{now},master", sign(now, "key")), false), None);
        assert_eq!(check(format!("{},{}", sign(now, "key"), now + 1), false), None);
        let stale = now - (config.signature_ttl_secs + 1) * 1000;
        assert_eq!(
            check(format!("{},{stale}", sign(stale, "key")), false),
            None,
            "too old"
        );
        assert_eq!(check(format!("{},{now},other", sign(now, "key")), false), None);
        assert_eq!(check("garbage".into(), false), None);
    }
}
