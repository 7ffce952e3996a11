//! Authentication of the HTTP API: `X-LC-Id` (an app id this server serves) and `X-LC-Key` (the
//! app key, or `<master key>,master` for the master key), as LeanCloud checks them. A failure is
//! answered `401 {"code": 401, "error": "Unauthorized."}`.

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
}
