//! Calls the IM hooks of the app's LeanEngine (see `hub::hooks` for what is called when).
//!
//! The calls are LeanCloud's: `POST {engine}/1.1/functions/{hook}` with the app id, the master key
//! (`X-LC-Key: {key},master`), the hook key (`X-LC-Hook-Key`, LeanEngine's
//! `LEANCLOUD_APP_HOOK_KEY`) and a `__sign` parameter (`{ms},{HMAC-SHA1(master key, "{hook}:{ms}")}`)
//! for older SDKs; the answer is the cloud function's `{"result": ...}`. Which hooks the engine
//! defines comes from its `GET /1.1/functions/_ops/metadatas`, read at start and every minute.
//!
//! Each call runs on its own task (at most [`MAX_CALLS_IN_FLIGHT`] at once); a deciding hook's
//! answer goes back to the hub thread as [`HubEvent::HookAnswered`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{Semaphore, mpsc};

use super::hub_thread::HubEvent;
use crate::hub::{HookCall, HookSet};

/// Hook calls made at once; more wait for one to finish.
pub const MAX_CALLS_IN_FLIGHT: usize = 256;

/// Notifying calls (those nobody waits for) that may wait to be made; past it new ones are
/// dropped, with a warning, rather than piling up while the engine is slow or down.
pub const MAX_QUEUED_NOTIFICATIONS: usize = 10_000;

/// How often the engine's hook list is read again.
const METADATA_EVERY: Duration = Duration::from_secs(60);

/// Where the app's LeanEngine is and how to call it.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Its base URL (`https://engine.example.com`).
    pub url: String,
    /// The hook key it checks (`LEANCLOUD_APP_HOOK_KEY`), if any.
    pub hook_key: Option<String>,
    /// How long a call may take; a deciding hook that takes longer lets its command through.
    pub timeout: Duration,
}

/// Why a hook call or the metadata read failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// The request failed (connection, timeout).
    #[error("{url}: {source}")]
    Request {
        /// The URL called.
        url: String,
        /// Why.
        source: reqwest::Error,
    },
    /// The engine answered with an error status.
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        /// The URL called.
        url: String,
        /// The status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The answer was not the JSON expected.
    #[error("{url}: unexpected answer: {what}")]
    Unexpected {
        /// The URL called.
        url: String,
        /// What was wrong.
        what: String,
    },
}

/// Calls one engine's functions.
#[derive(Clone, Debug)]
pub struct EngineClient {
    http: reqwest::Client,
    base_url: String,
    app_id: String,
    master_key: String,
    hook_key: Option<String>,
}

impl EngineClient {
    /// A client for `engine`, as app `app_id` with its `master_key`.
    pub fn new(engine: &EngineConfig, app_id: &str, master_key: &str) -> Result<Self, EngineError> {
        let tls = crate::import::rest::tls_config().map_err(|e| EngineError::Client(e.to_string()))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(engine.timeout)
            .user_agent(concat!("chinwag-server/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| EngineError::Client(e.to_string()))?;
        Ok(Self {
            http,
            base_url: engine.url.trim_end_matches('/').to_owned(),
            app_id: app_id.to_owned(),
            master_key: master_key.to_owned(),
            hook_key: engine.hook_key.clone(),
        })
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, url)
            .header("X-LC-Id", &self.app_id)
            .header("X-LC-Key", format!("{},master", self.master_key));
        if let Some(hook_key) = &self.hook_key {
            request = request.header("X-LC-Hook-Key", hook_key);
        }
        request
    }

    /// The `result` of a JSON answer to `request`.
    async fn result_of(url: &str, request: reqwest::RequestBuilder) -> Result<Value, EngineError> {
        let response = request.send().await.map_err(|source| EngineError::Request {
            url: url.to_owned(),
            source,
        })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|source| EngineError::Request {
            url: url.to_owned(),
            source,
        })?;
        if !status.is_success() {
            let body = String::from_utf8_lossy(&body);
            return Err(EngineError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
                body: body.chars().take(200).collect(),
            });
        }
        let unexpected = |what: String| EngineError::Unexpected {
            url: url.to_owned(),
            what,
        };
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(mut answer)) => Ok(answer.remove("result").unwrap_or(Value::Null)),
            Ok(other) => Err(unexpected(format!("not an object: {other}"))),
            Err(error) => Err(unexpected(error.to_string())),
        }
    }

    /// The hooks the engine defines.
    pub async fn defined_hooks(&self) -> Result<HookSet, EngineError> {
        let url = format!("{}/1.1/functions/_ops/metadatas", self.base_url);
        let result = Self::result_of(&url, self.request(reqwest::Method::GET, &url)).await?;
        let Value::Array(names) = result else {
            return Err(EngineError::Unexpected {
                url,
                what: "no list of functions".into(),
            });
        };
        Ok(HookSet::from_functions(names.iter().filter_map(Value::as_str)))
    }

    /// Calls `call`'s hook; its answer when it is an object (an empty one when the hook returned
    /// nothing).
    pub async fn call(&self, call: &HookCall, now_ms: i64) -> Result<Map<String, Value>, EngineError> {
        let name = call.hook.function();
        let url = format!("{}/1.1/functions/{name}", self.base_url);
        let mut params = call.params.clone();
        let signature = crate::signature::sign(self.master_key.as_bytes(), &format!("{name}:{now_ms}"));
        params.insert("__sign".into(), Value::String(format!("{now_ms},{signature}")));
        let request = self.request(reqwest::Method::POST, &url).json(&params);
        match Self::result_of(&url, request).await? {
            Value::Object(answer) => Ok(answer),
            _ => Ok(Map::new()),
        }
    }
}

/// The running hook caller: where the hub thread hands its calls.
#[derive(Clone, Debug)]
pub struct HookCaller {
    calls: mpsc::UnboundedSender<HookCall>,
    queued_notifications: Arc<AtomicUsize>,
}

impl HookCaller {
    /// Starts calling `client`'s engine; deciding hooks' answers go to `hub`. Also reads the
    /// engine's hook list again every minute and tells the hub when it changed (`defined` is what
    /// the hub has now).
    pub(crate) fn start(client: EngineClient, hub: mpsc::Sender<HubEvent>, defined: HookSet) -> Self {
        let (calls, mut rx) = mpsc::unbounded_channel::<HookCall>();
        let queued_notifications = Arc::new(AtomicUsize::new(0));
        let queued = Arc::clone(&queued_notifications);
        let in_flight = Arc::new(Semaphore::new(MAX_CALLS_IN_FLIGHT));
        let caller_client = client.clone();
        let caller_hub = hub.clone();
        tokio::spawn(async move {
            while let Some(call) = rx.recv().await {
                if call.ticket.is_none() {
                    queued.fetch_sub(1, Ordering::Relaxed);
                }
                let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
                    break;
                };
                let client = caller_client.clone();
                let hub = caller_hub.clone();
                tokio::spawn(async move {
                    let answer = client.call(&call, crate::time::now_ms()).await;
                    drop(permit);
                    let answer = match answer {
                        Ok(answer) => Some(answer),
                        Err(error) => {
                            tracing::warn!(hook = call.hook.function(), %error, "hook call failed; going ahead as if it had answered nothing");
                            None
                        }
                    };
                    if let Some(ticket) = call.ticket {
                        let _ = hub.send(HubEvent::HookAnswered(ticket, answer)).await;
                    }
                });
            }
        });
        tokio::spawn(async move {
            let mut defined = defined;
            loop {
                tokio::time::sleep(METADATA_EVERY).await;
                match client.defined_hooks().await {
                    Ok(now_defined) if now_defined != defined => {
                        defined = now_defined;
                        tracing::info!(?defined, "the engine's hooks changed");
                        if hub.send(HubEvent::HooksDefined(defined)).await.is_err() {
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(%error, "cannot read the engine's hooks; keeping the ones known")
                    }
                }
                if hub.is_closed() {
                    break;
                }
            }
        });
        Self {
            calls,
            queued_notifications,
        }
    }

    /// Hands `calls` over to be made. Notifying ones past [`MAX_QUEUED_NOTIFICATIONS`] are
    /// dropped.
    pub(crate) fn make(&self, calls: Vec<HookCall>) {
        for call in calls {
            if call.ticket.is_none() {
                let queued = self.queued_notifications.fetch_add(1, Ordering::Relaxed);
                if queued >= MAX_QUEUED_NOTIFICATIONS {
                    self.queued_notifications.fetch_sub(1, Ordering::Relaxed);
                    tracing::warn!(
                        hook = call.hook.function(),
                        "too many hook calls queued; dropped one"
                    );
                    continue;
                }
            }
            let _ = self.calls.send(call);
        }
    }
}
