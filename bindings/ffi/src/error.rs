//! The one error type that crosses the FFI.

/// Why a call failed: the server's refusal with its protocol `code`, symbolic `name` and `detail`
/// message, or a failure on this side named in `name`.
///
/// Swift: `catch ChinwagError.Server(let code, let name, let detail, _, _)`; Kotlin:
/// `catch (e: ChinwagException.Server) { e.code }`; Python: `except chinwag.ChinwagError.Server as e: e.code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ChinwagError {
    /// The server refused the request.
    #[error("server error {code} {name}: {detail}")]
    Server {
        /// The protocol error code, e.g. 4401.
        code: i32,
        /// The symbolic name, e.g. `CONVERSATION_NOT_FOUND`.
        name: String,
        /// The server's message (empty when it gave none).
        detail: String,
        /// An application (hook) error code.
        app_code: Option<i32>,
        /// An application (hook) error message.
        app_message: Option<String>,
    },
    /// The request failed on this side. `name` is one of `TIMEOUT`, `CONNECTION_LOST`,
    /// `CONNECTION_CLOSED`, `NO_SUCH_CLIENT`, `ALREADY_OPEN`, `QUEUE_FULL`, `CLIENT_CLOSED`, `INVALID`,
    /// `INVALID_ARGUMENT`, `UNEXPECTED_RESPONSE`, `SHUT_DOWN`.
    #[error("{name}: {detail}")]
    Local {
        /// What went wrong, as a constant name.
        name: String,
        /// A human-readable explanation.
        detail: String,
    },
}

impl ChinwagError {
    pub(crate) fn local(name: &str, detail: impl Into<String>) -> Self {
        Self::Local {
            name: name.to_owned(),
            detail: detail.into(),
        }
    }
}

impl From<chinwag::Error> for ChinwagError {
    fn from(error: chinwag::Error) -> Self {
        let detail = error.to_string();
        match error {
            chinwag::Error::Server {
                code,
                name,
                detail,
                app_code,
                app_message,
            } => Self::Server {
                code,
                name,
                detail: detail.unwrap_or_default(),
                app_code,
                app_message,
            },
            chinwag::Error::Timeout => Self::local("TIMEOUT", detail),
            chinwag::Error::ConnectionLost => Self::local("CONNECTION_LOST", detail),
            chinwag::Error::ConnectionClosed => Self::local("CONNECTION_CLOSED", detail),
            chinwag::Error::NoSuchClient => Self::local("NO_SUCH_CLIENT", detail),
            chinwag::Error::AlreadyOpen => Self::local("ALREADY_OPEN", detail),
            chinwag::Error::QueueFull => Self::local("QUEUE_FULL", detail),
            chinwag::Error::ClientClosed => Self::local("CLIENT_CLOSED", detail),
            chinwag::Error::Invalid(_) => Self::local("INVALID", detail),
            chinwag::Error::UnexpectedResponse(_) => Self::local("UNEXPECTED_RESPONSE", detail),
        }
    }
}

/// Parses a JSON argument (attributes, push data) or says which one was malformed.
pub(crate) fn parse_json(what: &str, json: &str) -> Result<chinwag::json::Value, ChinwagError> {
    chinwag::json::parse(json)
        .map_err(|error| ChinwagError::local("INVALID_ARGUMENT", format!("{what} is not JSON: {error}")))
}
