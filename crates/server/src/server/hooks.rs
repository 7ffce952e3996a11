//! Calls the IM hooks of the app's LeanEngine (see `hub::hooks` for what is called when).
//!
//! The calls are LeanCloud's: `POST {engine}/1.1/functions/{hook}` with the app id, the master key
//! (`X-LC-Key: {key},master`), the hook key (`X-LC-Hook-Key`, LeanEngine's
//! `LEANCLOUD_APP_HOOK_KEY`) and a `__sign` parameter (`{ms},{HMAC-SHA1(master key, "{hook}:{ms}")}`)
//! for older SDKs; the answer is the cloud function's `{"result": ...}`. Which hooks the engine
//! defines comes from its `GET /1.1/functions/_ops/metadatas`, read at start and every minute.
//!
//! Each call runs on its own task; a deciding hook's answer goes back to the hub thread as
//! [`HubEvent::HookAnswered`]. Deciding calls (a client waits for each) have their own queue and
//! their own [`MAX_CALLS_IN_FLIGHT`] slots, so the notifying ones (up to
//! [`MAX_NOTIFICATIONS_IN_FLIGHT`] at once, [`MAX_QUEUED_NOTIFICATIONS`] waiting) never hold
//! them up.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use super::hub_thread::HubEvent;
use crate::hub::{HookCall, HookSet};

/// Deciding hook calls made at once; more wait for one to finish.
pub const MAX_CALLS_IN_FLIGHT: usize = 256;

/// Notifying hook calls made at once.
pub const MAX_NOTIFICATIONS_IN_FLIGHT: usize = 64;

/// Notifying calls (those nobody waits for) that may wait to be made; past it new ones are
/// dropped, with a warning, rather than piling up while the engine is slow or down.
pub const MAX_QUEUED_NOTIFICATIONS: usize = 10_000;

/// How often the engine's hook list is read again.
const METADATA_EVERY: Duration = Duration::from_secs(60);

/// How soon it is read again while it could not be read yet (the engine starting up).
const METADATA_RETRY: Duration = Duration::from_secs(5);

/// Where the app's LeanEngine is and how to call it.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Its base URL (`https://engine.example.com`).
    pub url: String,
    /// The hook key it checks (`LEANCLOUD_APP_HOOK_KEY`), if any.
    pub hook_key: Option<String>,
    /// How long a call may take; a deciding hook that takes longer lets its command through
    /// (or refuses it, with `refuse_on_failure`).
    pub timeout: Duration,
    /// A deciding hook that fails or times out refuses its command instead of letting it through.
    pub refuse_on_failure: bool,
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

    /// Calls `call`'s hook (its parameters are taken); its answer when it is an object (an empty
    /// one when the hook returned nothing).
    pub async fn call(&self, call: &mut HookCall, now_ms: i64) -> Result<Map<String, Value>, EngineError> {
        let name = call.hook.function();
        let url = format!("{}/1.1/functions/{name}", self.base_url);
        let mut params = std::mem::take(&mut call.params);
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
    deciding: mpsc::UnboundedSender<HookCall>,
    notifying: mpsc::UnboundedSender<HookCall>,
    queued_notifications: Arc<AtomicUsize>,
}

impl HookCaller {
    /// Starts calling `client`'s engine; deciding hooks' answers go to `hub`. Also reads the
    /// engine's hook list again (every minute; every few seconds until it could be read once, when
    /// `known` is false) and tells the hub when it changed (`defined` is what the hub has now).
    pub(crate) fn start(
        client: EngineClient,
        hub: mpsc::Sender<HubEvent>,
        defined: HookSet,
        known: bool,
    ) -> Self {
        let (deciding, deciding_rx) = mpsc::unbounded_channel::<HookCall>();
        let (notifying, notifying_rx) = mpsc::unbounded_channel::<HookCall>();
        let queued_notifications = Arc::new(AtomicUsize::new(0));
        let queued = Arc::clone(&queued_notifications);
        let deciding_slots = Arc::new(Semaphore::new(MAX_CALLS_IN_FLIGHT));
        let notifying_slots = Arc::new(Semaphore::new(MAX_NOTIFICATIONS_IN_FLIGHT));
        // One loop per queue, each with its own slots: notifications waiting for a slot never
        // hold up a deciding call.
        tokio::spawn(call_loop(
            deciding_rx,
            deciding_slots,
            client.clone(),
            hub.clone(),
            None,
        ));
        tokio::spawn(call_loop(
            notifying_rx,
            notifying_slots,
            client.clone(),
            hub.clone(),
            Some(queued),
        ));
        tokio::spawn(refresh_hooks(client, hub, defined, known));
        Self {
            deciding,
            notifying,
            queued_notifications,
        }
    }

    /// Hands `calls` over to be made. Notifying ones past [`MAX_QUEUED_NOTIFICATIONS`] are
    /// dropped.
    pub(crate) fn make(&self, calls: Vec<HookCall>) {
        for call in calls {
            if call.ticket.is_some() {
                // Fails only once the runtime stops; the hub's deadline lets the command go then.
                let _ = self.deciding.send(call);
                continue;
            }
            let queued = self.queued_notifications.fetch_add(1, Ordering::Relaxed);
            if queued >= MAX_QUEUED_NOTIFICATIONS {
                self.queued_notifications.fetch_sub(1, Ordering::Relaxed);
                tracing::warn!(
                    hook = call.hook.function(),
                    "too many hook calls queued; dropped one"
                );
                continue;
            }
            let _ = self.notifying.send(call);
        }
    }
}

/// Makes the calls of one queue as they come, at most as many at once as `slots` has; `queued`
/// counts the calls waiting in the queue (notifications).
async fn call_loop(
    mut calls: mpsc::UnboundedReceiver<HookCall>,
    slots: Arc<Semaphore>,
    client: EngineClient,
    hub: mpsc::Sender<HubEvent>,
    queued: Option<Arc<AtomicUsize>>,
) {
    while let Some(call) = calls.recv().await {
        if let Some(queued) = &queued {
            queued.fetch_sub(1, Ordering::Relaxed);
        }
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        tokio::spawn(make_call(client.clone(), call, slot, hub.clone()));
    }
}

/// Makes one call, holding `slot` meanwhile; a deciding hook's answer (`None` if the call failed)
/// goes to `hub`.
async fn make_call(
    client: EngineClient,
    mut call: HookCall,
    slot: OwnedSemaphorePermit,
    hub: mpsc::Sender<HubEvent>,
) {
    let answer = client.call(&mut call, crate::time::now_ms()).await;
    drop(slot);
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
}

/// Reads the engine's hook list again from time to time and tells `hub` when it changed.
async fn refresh_hooks(
    client: EngineClient,
    hub: mpsc::Sender<HubEvent>,
    mut defined: HookSet,
    mut known: bool,
) {
    loop {
        tokio::time::sleep(if known { METADATA_EVERY } else { METADATA_RETRY }).await;
        if hub.is_closed() {
            break;
        }
        match client.defined_hooks().await {
            Ok(now_defined) => {
                known = true;
                if now_defined != defined {
                    defined = now_defined;
                    tracing::info!(?defined, "the engine's hooks changed");
                    if hub.send(HubEvent::HooksDefined(defined)).await.is_err() {
                        break;
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "cannot read the engine's hooks; keeping the ones known"),
        }
    }
}
