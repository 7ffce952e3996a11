//! The tokio runtime a [`Realtime`](crate::Realtime) owns, and how FFI futures run on it.

use std::future::Future;

use crate::error::ChinwagError;

/// A tokio runtime (one worker thread) shared by a `Realtime` and every object made from it.
/// Released with the last of them, in the background: foreign code may drop objects on any thread,
/// including inside an async context where a blocking shutdown would panic.
pub(crate) struct OwnedRuntime {
    runtime: Option<tokio::runtime::Runtime>,
}

impl OwnedRuntime {
    pub(crate) fn new() -> Result<Self, ChinwagError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("chinwag")
            .enable_all()
            .build()
            .map_err(|error| ChinwagError::local("SHUT_DOWN", format!("cannot start tokio: {error}")))?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        match &self.runtime {
            Some(runtime) => runtime.handle(),
            None => unreachable!("the runtime is taken only on drop"),
        }
    }

    /// Runs one SDK call on the runtime and awaits it from whatever executor polls the FFI future.
    pub(crate) async fn run<T, E>(
        &self,
        call: impl Future<Output = Result<T, E>> + Send + 'static,
    ) -> Result<T, ChinwagError>
    where
        T: Send + 'static,
        E: Into<ChinwagError> + Send + 'static,
    {
        match crate::exit::Guarded::new(self.handle().spawn(call)).await {
            Ok(outcome) => outcome.map_err(Into::into),
            Err(error) => Err(ChinwagError::local("SHUT_DOWN", error.to_string())),
        }
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
