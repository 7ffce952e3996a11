//! The `chinwag-server` binary: flags and environment variables → [`chinwag_server::Server`].

use std::net::SocketAddr;
use std::path::PathBuf;

use chinwag_server::{Server, ServerConfig, SyncMode};
use clap::Parser;

/// A self-hostable server for the LeanCloud RTM protocol.
#[derive(Debug, Parser)]
#[command(name = "chinwag-server", version, about)]
struct Args {
    /// Something other than serving.
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "CHINWAG_LISTEN", default_value = "127.0.0.1:8282")]
    listen: SocketAddr,
    /// Directory of the SQLite database.
    #[arg(long, env = "CHINWAG_DATA_DIR", default_value = "chinwag-data", global = true)]
    data_dir: PathBuf,
    /// `full`: every commit is synced to disk before its messages are acknowledged, so they
    /// survive a power loss; `normal`: they survive a process crash, but an OS crash or power loss
    /// may lose the last ones (faster where a disk sync is slow).
    #[arg(long, env = "CHINWAG_SYNC", default_value = "full", global = true)]
    sync: SyncMode,
    /// LeanCloud app id the clients use.
    #[arg(long, env = "CHINWAG_APP_ID", default_value = "chinwag-local")]
    app_id: String,
    /// App key; also the key that signs session tokens.
    #[arg(long, env = "CHINWAG_APP_KEY", default_value = "chinwag-local-key")]
    app_key: String,
    /// Master key: enables the IM REST API 1.2 and `/1.1/rtm/sign`; the key of LeanCloud-style
    /// signatures (HMAC-SHA1).
    #[arg(long, env = "CHINWAG_MASTER_KEY")]
    master_key: Option<String>,
    /// Sign-ins and conversation membership changes must carry signatures made with the master
    /// key (which this then requires).
    #[arg(long, env = "CHINWAG_REQUIRE_SIGNATURES")]
    require_signatures: bool,
    /// Lifetime of session tokens, in seconds (re-logins with an older one get 4112).
    #[arg(long, env = "CHINWAG_SESSION_TTL_SECS", default_value_t = 2 * 24 * 3600)]
    session_ttl_secs: i32,
    /// Further app ids accepted besides `--app-id` (comma-separated).
    #[arg(long, env = "CHINWAG_OTHER_APP_IDS", value_delimiter = ',')]
    other_app_ids: Vec<String>,
    /// Accept any app id (development and tests only); sessions stay tied to the app id used.
    #[arg(long, env = "CHINWAG_ALLOW_ANY_APP_ID")]
    allow_any_app_id: bool,
    /// How far signature timestamps may be from the server clock, in seconds.
    #[arg(long, env = "CHINWAG_SIGNATURE_TTL_SECS", default_value_t = 6 * 3600)]
    signature_ttl_secs: i64,
    /// Messages (`direct`) a connection may send back to back; 0 disables the rate limit.
    #[arg(long, env = "CHINWAG_RATE_BURST", default_value_t = 100)]
    rate_burst: u32,
    /// Messages a second a connection may send once its burst is spent.
    #[arg(long, env = "CHINWAG_RATE_PER_SECOND", default_value_t = 50)]
    rate_per_second: u32,
    /// Messages (`direct`) one client id may send back to back across all its connections;
    /// 0 disables the per-client limit.
    #[arg(long, env = "CHINWAG_CLIENT_RATE_BURST", default_value_t = 200)]
    client_rate_burst: u32,
    /// Messages a second one client id may send once its burst is spent.
    #[arg(long, env = "CHINWAG_CLIENT_RATE_PER_SECOND", default_value_t = 100)]
    client_rate_per_second: u32,
    /// Most clients signed in on one connection; 0 = unlimited.
    #[arg(long, env = "CHINWAG_MAX_CLIENTS_PER_CONNECTION", default_value_t = 50)]
    max_clients_per_connection: usize,
    /// Most members of a normal conversation (LeanCloud: 500); 0 = unlimited.
    #[arg(long, env = "CHINWAG_MAX_MEMBERS", default_value_t = 500)]
    max_members: usize,
    /// Largest page of a history (`logs`) query (LeanCloud: 1000; the default page is 20).
    #[arg(long, env = "CHINWAG_MAX_HISTORY_PAGE", default_value_t = 1000)]
    max_history_page: u32,
    /// IM REST API calls an app may make back to back; 0 disables the REST rate limit.
    #[arg(long, env = "CHINWAG_REST_RATE_BURST", default_value_t = 300)]
    rest_rate_burst: u32,
    /// IM REST API calls a second an app may make once its burst is spent (LeanCloud: 1800 a
    /// minute).
    #[arg(long, env = "CHINWAG_REST_RATE_PER_SECOND", default_value_t = 30)]
    rest_rate_per_second: u32,
    /// Seconds a client whose connection dropped stays in its chat rooms, so a short reconnect
    /// finds it still in them; 0 = leave at once.
    #[arg(long, env = "CHINWAG_CHAT_ROOM_GRACE_SECS", default_value_t = 60)]
    chat_room_grace_secs: u32,
    /// Largest WebSocket frame accepted, in bytes.
    #[arg(long, env = "CHINWAG_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    max_frame_bytes: usize,
    /// Largest message content accepted, in bytes.
    #[arg(long, env = "CHINWAG_MAX_MESSAGE_BYTES", default_value_t = 5 * 1024)]
    max_message_bytes: usize,
    /// Frames queued per connection before a slow client is disconnected.
    #[arg(long, env = "CHINWAG_OUTGOING_QUEUE", default_value_t = 1024)]
    outgoing_queue: usize,
    /// Seconds between WebSocket pings to each connection (0 = none); a connection silent for three
    /// intervals, pongs included, is closed as dead.
    #[arg(long, env = "CHINWAG_WS_PING_SECS", default_value_t = chinwag_server::server::DEFAULT_WS_PING_SECS)]
    ws_ping_secs: u32,
    /// The WebSocket URL `GET /v1/route` hands out, e.g. `wss://chat.example.com/`. Unset, it is
    /// built from the request's `Host`, with `wss://` when a TLS proxy sends `X-Forwarded-Proto:
    /// https` (or `Forwarded: proto=https`).
    #[arg(long, env = "CHINWAG_PUBLIC_WS_URL")]
    public_ws_url: Option<String>,
    /// Base URL of the app's LeanEngine (e.g. `http://127.0.0.1:3000`): its IM hooks
    /// (`AV.Cloud.onIMMessageReceived`, `onIMConversationStart`, `onIMClientOnline`, ...) are
    /// called as LeanCloud called them. Needs --master-key.
    #[arg(long, env = "CHINWAG_ENGINE_URL")]
    engine_url: Option<String>,
    /// The hook key the engine checks (`X-LC-Hook-Key`; LeanEngine's `LEANCLOUD_APP_HOOK_KEY`).
    #[arg(long, env = "CHINWAG_HOOK_KEY")]
    hook_key: Option<String>,
    /// How long a hook may take, in milliseconds; a deciding hook (`_messageReceived`,
    /// `_messageUpdate`, `_conversationStart`, `_conversationAdd`, `_conversationRemove`,
    /// `_conversationUpdate`) that takes longer or fails lets the message or change through
    /// unchanged.
    #[arg(long, env = "CHINWAG_HOOK_TIMEOUT_MS", default_value_t = 5000)]
    hook_timeout_ms: u64,
    /// A deciding hook that fails or times out refuses its command (4402, 4405, 4305) instead of
    /// letting it through: for apps whose moderation must never be skipped.
    #[arg(long, env = "CHINWAG_REFUSE_ON_HOOK_FAILURE")]
    refuse_on_hook_failure: bool,
}

/// What the binary can do besides serving (the default).
#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Imports conversations, members and message history into --data-dir: from LeanCloud's IM
    /// REST API 1.2 (or another chinwag server's) with --from, service subscribers too, or from
    /// export files with --from-files. Stop the server on that data dir first. Running it again reads the
    /// source again and brings what is new or edited since.
    Import {
        /// The source's API base URL, e.g. `https://abcdefgh.api.lncldapi.com` (LeanCloud
        /// console: Settings → App keys → server URL).
        #[arg(
            long,
            env = "CHINWAG_IMPORT_FROM",
            required_unless_present = "from_files",
            conflicts_with = "from_files",
            requires_all = ["from_app_id", "from_master_key"]
        )]
        from: Option<String>,
        /// The source app's id.
        #[arg(long, env = "CHINWAG_IMPORT_APP_ID")]
        from_app_id: Option<String>,
        /// The source app's master key.
        #[arg(long, env = "CHINWAG_IMPORT_MASTER_KEY", hide_env_values = true)]
        from_master_key: Option<String>,
        /// Also import each conversation's shut-up list and blacklist and each normal
        /// conversation's managers: up to three more requests per conversation.
        #[arg(long, requires = "from")]
        with_moderation: bool,
        /// Export files instead of a live app: LeanCloud's data export (`.tar.gz` of
        /// `_Conversation`, `_ConversationMemberInfo`, `_SysMessage` JSON Lines) and history saved
        /// from the REST API, as archives, folders or files. Not with --from (nor its
        /// CHINWAG_IMPORT_FROM).
        #[arg(long, num_args = 1.., value_name = "PATH")]
        from_files: Vec<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    if let Some(Command::Import {
        from,
        from_app_id,
        from_master_key,
        with_moderation,
        from_files,
    }) = &args.command
    {
        let report = if let Some(from) = from {
            let source = chinwag_server::import::Source {
                base_url: from.clone(),
                app_id: from_app_id.clone().unwrap_or_default(),
                master_key: from_master_key.clone().unwrap_or_default(),
                page_size: chinwag_server::import::Source::LARGEST_PAGE,
                with_moderation: *with_moderation,
            };
            chinwag_server::import::import(&source, &args.data_dir, args.sync).await?
        } else {
            let (paths, data_dir, sync) = (from_files.clone(), args.data_dir.clone(), args.sync);
            tokio::task::spawn_blocking(move || chinwag_server::import::import_files(&paths, &data_dir, sync))
                .await??
        };
        tracing::info!(
            conversations = report.conversations,
            members = report.members,
            messages = report.messages,
            messages_already_there = report.messages_already_there,
            messages_without_conversation = report.messages_without_conversation,
            messages_unreadable = report.messages_unreadable,
            managers = report.managers,
            files = report.files,
            data_dir = %args.data_dir.display(),
            "import done"
        );
        return Ok(());
    }
    let config = ServerConfig {
        listen: args.listen,
        data_dir: Some(args.data_dir.clone()),
        sync: args.sync,
        app_id: args.app_id,
        app_key: args.app_key,
        max_frame_bytes: args.max_frame_bytes,
        max_message_bytes: args.max_message_bytes,
        outgoing_queue: args.outgoing_queue,
        master_key: args.master_key.filter(|key| !key.is_empty()),
        require_signatures: args.require_signatures,
        session_ttl_secs: args.session_ttl_secs.max(1),
        signature_ttl_secs: args.signature_ttl_secs,
        other_app_ids: args
            .other_app_ids
            .into_iter()
            .filter(|id| !id.is_empty())
            .collect(),
        allow_any_app_id: args.allow_any_app_id,
        rate_limit: (args.rate_burst > 0).then_some(chinwag_server::RateLimit {
            burst: args.rate_burst,
            per_second: args.rate_per_second,
        }),
        client_rate_limit: (args.client_rate_burst > 0).then_some(chinwag_server::RateLimit {
            burst: args.client_rate_burst,
            per_second: args.client_rate_per_second,
        }),
        max_clients_per_connection: (args.max_clients_per_connection > 0)
            .then_some(args.max_clients_per_connection),
        max_members: (args.max_members > 0).then_some(args.max_members),
        max_logs_limit: args.max_history_page,
        rest_rate_limit: (args.rest_rate_burst > 0).then_some(chinwag_server::RateLimit {
            burst: args.rest_rate_burst,
            per_second: args.rest_rate_per_second,
        }),
        chat_room_grace_secs: args.chat_room_grace_secs,
        public_ws_url: args.public_ws_url.filter(|url| !url.is_empty()),
        engine: args.engine_url.filter(|url| !url.is_empty()).map(|url| {
            chinwag_server::server::hooks::EngineConfig {
                url,
                hook_key: args.hook_key.filter(|key| !key.is_empty()),
                timeout: std::time::Duration::from_millis(args.hook_timeout_ms.max(1)),
                refuse_on_failure: args.refuse_on_hook_failure,
            }
        }),
        ws_ping_secs: args.ws_ping_secs,
        ..ServerConfig::local(args.listen)
    };
    let server = Server::bind(config).await?;
    tracing::info!(
        ws = %server.ws_url(),
        http = %server.http_url(),
        data_dir = %args.data_dir.display(),
        "ready"
    );
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
