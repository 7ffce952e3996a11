//! The one error type of the SDK.

use chinwag_core::RequestError;

/// Why a request failed. Server errors keep the protocol's numeric code and symbolic name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The server refused the request.
    #[error("server error {code} {name}{}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Server {
        /// The protocol error code, e.g. 4401 (`INVALID_MESSAGING_TARGET`).
        code: i32,
        /// The symbolic name, e.g. `INVALID_MESSAGING_TARGET`.
        name: String,
        /// Free-text detail from the server.
        detail: Option<String>,
        /// An application (hook) error code.
        app_code: Option<i32>,
        /// An application (hook) error message.
        app_message: Option<String>,
    },
    /// No reply within the request timeout (20 s), or a sign-in that did not complete within the
    /// sign-in timeout (30 s; see [`RealtimeOptions::sign_in_timeout`](crate::RealtimeOptions::sign_in_timeout)).
    #[error("request timed out")]
    Timeout,
    /// The connection dropped while the request was in flight (sends are re-queued instead).
    #[error("connection lost")]
    ConnectionLost,
    /// The connection failed for good (fatal close code), or the SDK was shut down.
    #[error("connection closed")]
    ConnectionClosed,
    /// The client is not signed in on this `Realtime`.
    #[error("no such client")]
    NoSuchClient,
    /// A client with this id is already signed in on this `Realtime`.
    #[error("client already open")]
    AlreadyOpen,
    /// Too many requests are queued while offline.
    #[error("offline queue full")]
    QueueFull,
    /// The client was closed or kicked before the request completed.
    #[error("client closed")]
    ClientClosed,
    /// The request was refused locally (e.g. promoting a member to owner).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The server answered with something this request does not expect (a bug on one side).
    #[error("unexpected response: {0}")]
    UnexpectedResponse(String),
}

impl Error {
    /// The protocol error code of a server error.
    pub fn code(&self) -> Option<i32> {
        match self {
            Self::Server { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// The symbolic name of a server error (e.g. `CONVERSATION_NOT_FOUND`).
    pub fn name(&self) -> Option<&str> {
        match self {
            Self::Server { name, .. } => Some(name),
            _ => None,
        }
    }
}

impl From<RequestError> for Error {
    fn from(error: RequestError) -> Self {
        match error {
            RequestError::Server(server) => Self::Server {
                code: server.code,
                name: server.name().to_owned(),
                detail: server.detail,
                app_code: server.app_code,
                app_message: server.app_message,
            },
            RequestError::Timeout => Self::Timeout,
            RequestError::ConnectionLost => Self::ConnectionLost,
            RequestError::ConnectionClosed => Self::ConnectionClosed,
            RequestError::NoSuchClient => Self::NoSuchClient,
            RequestError::AlreadyOpen => Self::AlreadyOpen,
            RequestError::QueueFull => Self::QueueFull,
            RequestError::ClientClosed => Self::ClientClosed,
            RequestError::Invalid(reason) => Self::Invalid(reason),
        }
    }
}

/// `Result<T, chinwag::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;
