//! chinwag-server (docs written below).

pub mod hub;
pub mod query;
pub mod server;
pub mod storage;
pub mod time;
pub mod token;

pub use hub::{ConnId, Hub, HubConfig, Input, Outgoing};
pub use server::{RunningServer, Server, ServerConfig, ServerError};
pub use storage::{SqliteStorage, Storage, StorageError};
