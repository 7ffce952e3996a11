//! Project automation for chinwag. Run `cargo xtask --help`.
//!
//! - `cargo xtask test`: every test tier (what `.ci/run` runs with `CI=true`, where no tier may be skipped).
//! - `cargo xtask codegen [--check]`: regenerate (or verify) the protocol types and codec from `proto/messages.proto`.
//! - `cargo xtask golden [--check]`: regenerate (or verify) the golden vectors with the official JS encoder.
//! - `cargo xtask bindings`: build chinwag-ffi and generate its Swift, Kotlin and Python bindings into
//!   `target/bindings/`.
//! - `cargo xtask bench`: run the criterion benchmarks.
//! - `cargo xtask wasm [--dev]`: build the npm package `chinwag` into `target/npm/chinwag`.
//! - `cargo xtask fuzz <target> [--seconds N]`: run a libFuzzer target of `fuzz/` (needs nightly).

mod bindings;
mod codegen;
mod ffi_tests;
mod fuzz;
mod golden;
mod shell;
mod test;
mod wasm;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "chinwag project automation")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Run every test tier: fmt, clippy, tests, codegen and golden freshness, wasm build.
    Test {
        /// Run only the tiers whose name starts with this text (e.g. `--only ffi`).
        #[arg(long)]
        only: Option<String>,
    },
    /// Regenerate the types and wire codec of chinwag-protocol from proto/messages.proto.
    Codegen {
        /// Only check that the checked-in code is fresh.
        #[arg(long)]
        check: bool,
    },
    /// Regenerate the golden vectors with the official `leancloud-realtime` encoder (needs Node + npm).
    Golden {
        /// Only check that the committed vectors equal a fresh generation.
        #[arg(long)]
        check: bool,
    },
    /// Build chinwag-ffi and generate its Swift, Kotlin and Python bindings into target/bindings/.
    Bindings,
    /// Run the criterion benchmarks and print their figures.
    Bench,
    /// Build the npm package `chinwag` (WASM + JS API + types) into target/npm/chinwag.
    Wasm {
        /// A quick unoptimised build (no size profile, no wasm-opt).
        #[arg(long)]
        dev: bool,
    },
    /// Run a libFuzzer target of fuzz/ (frame, json, engine, hub, query, delivery, requests; needs nightly).
    Fuzz {
        /// The target to run.
        target: String,
        /// Stop after this many seconds (0: run until a finding or Ctrl-C).
        #[arg(long, default_value_t = 300)]
        seconds: u64,
    },
}

fn main() -> Result<()> {
    let root = workspace_root();
    match Cli::parse().task {
        Task::Test { only } => test::run(&root, only.as_deref()),
        Task::Codegen { check: false } => codegen::run(&root),
        Task::Codegen { check: true } => codegen::check(&root),
        Task::Golden { check } => golden::run(&root, check),
        Task::Bindings => bindings::run(&root).map(drop),
        Task::Bench => shell::cargo(&root, &["bench", "--workspace"]),
        Task::Wasm { dev } => wasm::build(&root, dev).map(drop),
        Task::Fuzz { target, seconds } => fuzz::run(&root, &target, seconds),
    }
}

/// The repository root (the parent of `xtask/`).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(PathBuf::from).unwrap_or(manifest_dir)
}
