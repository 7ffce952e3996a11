//! The little HTTP the SDK needs: `GET` a JSON document (`/v1/route`, LeanCloud's app router), over
//! plain TCP or rustls, with hyper's HTTP/1 client.

use std::sync::{Arc, OnceLock};

use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Why a `GET` failed (the driver reports any failure to the engine the same way).
#[derive(Debug, thiserror::Error)]
pub(crate) enum HttpError {
    #[error("bad URL: {0}")]
    Url(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("HTTP: {0}")]
    Http(#[from] hyper::Error),
    #[error("request: {0}")]
    Request(#[from] hyper::http::Error),
    #[error("status {0}")]
    Status(u16),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The rustls configuration for `wss://` and `https://`: the ring provider and the webpki roots.
pub(crate) fn tls_config() -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(config.clone());
    }
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}

/// `GET url` and parse the body as JSON.
pub(crate) async fn get_json(url: &str) -> Result<Value, HttpError> {
    let uri: hyper::Uri = url.parse().map_err(|_| HttpError::Url(url.to_owned()))?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(HttpError::Url(url.to_owned())),
    };
    let host = uri
        .host()
        .ok_or_else(|| HttpError::Url(url.to_owned()))?
        .to_owned();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let tcp = TcpStream::connect((host.trim_matches(['[', ']']), port)).await?;
    tcp.set_nodelay(true)?;
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or(host.clone());
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    if https {
        let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
            .map_err(|_| HttpError::Url(url.to_owned()))?;
        let tls = tokio_rustls::TlsConnector::from(tls_config()?)
            .connect(name, tcp)
            .await?;
        fetch(tls, &authority, &path).await
    } else {
        fetch(tcp, &authority, &path).await
    }
}

async fn fetch<S>(stream: S, authority: &str, path: &str) -> Result<Value, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let connection = tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::ACCEPT, "application/json")
        .header(
            hyper::header::USER_AGENT,
            concat!("chinwag/", env!("CARGO_PKG_VERSION")),
        )
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    connection.abort();
    if !status.is_success() {
        return Err(HttpError::Status(status.as_u16()));
    }
    Ok(serde_json::from_slice(&body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_config_uses_the_ring_provider_and_webpki_roots() {
        // Building it would panic at connect time if no crypto provider were compiled in.
        let config = tls_config().expect("a TLS configuration");
        assert!(!config.crypto_provider().cipher_suites.is_empty());
        assert!(Arc::ptr_eq(&config, &tls_config().expect("cached")));
    }

    #[tokio::test]
    async fn get_json_rejects_urls_it_cannot_fetch() {
        for url in ["ftp://example.com/v1/route", "not a url", "http:///v1/route"] {
            assert!(matches!(get_json(url).await, Err(HttpError::Url(_))), "{url}");
        }
    }
}
