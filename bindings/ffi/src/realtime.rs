//! [`Realtime`]: the connection, its owned runtime, and sign-in.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::client::Client;
use crate::error::ChinwagError;
use crate::events::Registry;
use crate::runtime::OwnedRuntime;
use crate::types::{ClientOptions, RealtimeOptions};

/// One connection to a LeanCloud RTM server (LeanCloud or a chinwag-server), shared by the clients
/// signed in through it (the JS `Realtime`). It owns a tokio runtime that lives as long as it or any
/// object made from it.
#[derive(uniffi::Object)]
pub struct Realtime {
    runtime: Arc<OwnedRuntime>,
    inner: chinwag::Realtime,
    event_buffer: usize,
    /// The event registries of the clients signed in here, closed by [`close`](Self::close).
    clients: Mutex<Vec<Weak<Registry>>>,
}

#[uniffi::export]
impl Realtime {
    /// Starts the runtime and the connection task; nothing connects until a client signs in.
    #[uniffi::constructor]
    pub fn new(options: RealtimeOptions) -> Result<Arc<Self>, ChinwagError> {
        let runtime = Arc::new(OwnedRuntime::new()?);
        let inner = {
            let _entered = runtime.handle().enter();
            chinwag::Realtime::new(options.to_sdk())
        };
        Ok(Arc::new(Self {
            runtime,
            inner,
            event_buffer: usize::try_from(options.event_buffer).unwrap_or(usize::MAX),
            clients: Mutex::new(Vec::new()),
        }))
    }

    /// Signs in as `id` (the JS `createIMClient`). The client's `next_event()` sees every event from
    /// the sign-in on.
    pub async fn create_im_client(&self, id: String) -> Result<Arc<Client>, ChinwagError> {
        self.create_im_client_with(id, ClientOptions::default()).await
    }

    /// Signs in as `id` with a tag, a signature or a saved session token.
    pub async fn create_im_client_with(
        &self,
        id: String,
        options: ClientOptions,
    ) -> Result<Arc<Client>, ChinwagError> {
        let realtime = self.inner.clone();
        let options = options.into();
        let client = self
            .runtime
            .run(async move { realtime.create_im_client_with(id, options).await })
            .await?;
        let registry = Arc::new(Registry::default());
        {
            let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
            clients.retain(|weak| weak.strong_count() > 0);
            clients.push(Arc::downgrade(&registry));
        }
        Ok(Client::new(
            self.runtime.clone(),
            registry,
            self.event_buffer,
            client,
        ))
    }

    /// Tells the connection the network went away (`false`) or came back (`true`), e.g. from an OS
    /// reachability callback.
    pub fn set_online(&self, online: bool) {
        self.inner.set_online(online);
    }

    /// Signs every client out; their `next_event()` then returns `None` once drained.
    pub async fn close(&self) -> Result<(), ChinwagError> {
        let realtime = self.inner.clone();
        let outcome = self.runtime.run(async move { realtime.close().await }).await;
        let clients = std::mem::take(&mut *self.clients.lock().unwrap_or_else(PoisonError::into_inner));
        for registry in clients.iter().filter_map(Weak::upgrade) {
            registry.close();
        }
        outcome
    }
}
