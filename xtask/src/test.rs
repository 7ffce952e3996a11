//! `cargo xtask test`: every test tier, in order, with a summary.
//!
//! Each tier installs what it needs on first run (the wasm target, npm packages, ...) and says so.
//! Under `CI=true` a tier whose tools cannot be installed fails instead of being skipped.

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, bail};

use crate::shell;

/// The crates that must build for `wasm32-unknown-unknown` (no I/O, no clock, no threads).
const PURE_CRATES: &[&str] = &["chinwag-protocol", "chinwag-core"];

struct Tier {
    name: &'static str,
    run: fn(&Path) -> Result<()>,
}

const TIERS: &[Tier] = &[
    Tier {
        name: "format (cargo fmt --check)",
        run: fmt,
    },
    Tier {
        name: "lints (clippy -D warnings, all targets)",
        run: clippy,
    },
    Tier {
        name: "codegen freshness",
        run: crate::codegen::check,
    },
    Tier {
        name: "golden vectors vs the official JS encoder",
        run: golden,
    },
    Tier {
        name: "unit, integration and doc tests",
        run: cargo_tests,
    },
    Tier {
        name: "quickstart (the README's first command)",
        run: quickstart,
    },
    Tier {
        name: "wasm32-unknown-unknown build of the pure crates",
        run: wasm_build,
    },
    Tier {
        name: "interop: official leancloud-realtime 4.3.1 and 5.0.0-rc.8 vs chinwag-server and the Rust SDK; leanengine IM hooks",
        run: server_interop,
    },
    Tier {
        name: "ffi: Python, Kotlin, Swift generation",
        run: crate::ffi_tests::run,
    },
    Tier {
        name: "wasm: npm package in Node and Chromium",
        run: wasm_package,
    },
];

/// Runs every tier (or those whose name contains `only`), stopping at the first failure.
pub(crate) fn run(root: &Path, only: Option<&str>) -> Result<()> {
    let started = Instant::now();
    let mut finished = Vec::new();
    for tier in TIERS
        .iter()
        .filter(|tier| only.is_none_or(|text| tier.name.starts_with(text)))
    {
        println!("\n==> tier: {}", tier.name);
        let tier_started = Instant::now();
        if let Err(error) = (tier.run)(root) {
            bail!("tier `{}` failed: {error:#}", tier.name);
        }
        finished.push((tier.name, tier_started.elapsed()));
    }
    println!(
        "\n==> all {} tiers passed in {:.0?}",
        finished.len(),
        started.elapsed()
    );
    for (name, took) in finished {
        println!("    {took:>8.1?}  {name}");
    }
    Ok(())
}

fn fmt(root: &Path) -> Result<()> {
    shell::cargo(root, &["fmt", "--all", "--check"])?;
    // The fuzz targets are their own workspace (fuzz/README.md).
    shell::cargo(root, &["fmt", "--manifest-path", "fuzz/Cargo.toml", "--check"])
}

fn clippy(root: &Path) -> Result<()> {
    shell::cargo(
        root,
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            // Lint the Rust SDK's interop test too (it only builds with this feature).
            "--features",
            "chinwag/interop-tests",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // The core as the npm package builds it (without `typed-content`), which the workspace build
    // above never sees: feature unification turns the feature on.
    shell::cargo(
        root,
        &[
            "clippy",
            "-p",
            "chinwag-core",
            "--no-default-features",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // The fuzz targets, which no other tier builds (fuzzing itself needs nightly: `cargo xtask
    // fuzz`), so that a change in the crates they call cannot break them unnoticed. Stable checks
    // them; the workspace's target dir keeps the common dependencies built once.
    let target_dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".to_owned());
    shell::cargo(
        root,
        &[
            "clippy",
            "--manifest-path",
            "fuzz/Cargo.toml",
            "--all-targets",
            "--locked",
            "--target-dir",
            &target_dir,
            "--",
            "-D",
            "warnings",
        ],
    )
}

fn cargo_tests(root: &Path) -> Result<()> {
    shell::cargo(root, &["test", "--workspace"])
}

/// `cargo run --example quickstart`: the seed guide against an embedded server; it exits non-zero on
/// any failure and gives up after 30 s.
fn quickstart(root: &Path) -> Result<()> {
    shell::cargo(root, &["run", "--quiet", "--example", "quickstart"])
}

fn golden(root: &Path) -> Result<()> {
    crate::golden::run(root, true)
}

/// Builds the server binary and runs the Node tests in `crates/server/interop/`, which start it and
/// drive the official JS SDK against it; then the Rust SDK's interop test, which chats with the
/// official JS SDK through `crates/server/interop/peer.cjs` (built only with `interop-tests`, since
/// it needs the npm packages installed here).
fn server_interop(root: &Path) -> Result<()> {
    if !shell::has("node") || !shell::has("npm") {
        if shell::is_ci() {
            bail!("node and npm are required for the interop tests under CI");
        }
        println!("interop: SKIPPED, node/npm not found (install Node.js 20 to run this tier)");
        return Ok(());
    }
    shell::cargo(
        root,
        &["build", "-p", "chinwag-server", "--bin", "chinwag-server"],
    )?;
    let interop = root.join("crates/server/interop");
    crate::golden::npm_install(&interop)?;
    shell::run(&interop, "node", &["--test", "--test-concurrency=1"])?;
    shell::cargo(
        root,
        &[
            "test",
            "-p",
            "chinwag",
            "--features",
            "interop-tests",
            "--test",
            "interop",
        ],
    )
}

/// Builds the npm package and runs its Node tests (seed guide, features, reconnect, errors, interop
/// with the official SDK) and the headless Chromium test of `examples/web-chat`, each against a
/// freshly started `chinwag-server`.
fn wasm_package(root: &Path) -> Result<()> {
    if !shell::has("node") || !shell::has("npm") {
        if shell::is_ci() {
            bail!("node and npm are required for the wasm package tests under CI");
        }
        println!("wasm package: SKIPPED, node/npm not found (install Node.js 20 to run this tier)");
        return Ok(());
    }
    ensure_chromium()?;
    shell::cargo(
        root,
        &["build", "-p", "chinwag-server", "--bin", "chinwag-server"],
    )?;
    // The official SDK the interop test talks to.
    crate::golden::npm_install(&root.join("crates/server/interop"))?;
    crate::wasm::build(root, false)?;
    shell::run(
        &root.join("bindings/wasm/tests"),
        "node",
        &["--experimental-websocket", "--test", "--test-concurrency=1"],
    )
}

/// Installs Debian's `chromium` for the browser test when it is missing.
fn ensure_chromium() -> Result<()> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    println!("installing Debian's chromium for the browser test (first run only)");
    shell::run(Path::new("."), "apt-get", &["update", "-qq"])?;
    shell::run(Path::new("."), "apt-get", &["install", "-y", "-qq", "chromium"])?;
    if !Path::new(CHROMIUM).exists() {
        bail!("{CHROMIUM} is still missing after apt-get install chromium");
    }
    Ok(())
}

/// Where Debian's chromium lives (also what the browser test launches).
const CHROMIUM: &str = "/usr/bin/chromium";

fn wasm_build(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    let mut args = vec!["build", "--target", "wasm32-unknown-unknown"];
    for krate in PURE_CRATES {
        args.extend(["-p", krate]);
    }
    shell::cargo(root, &args)
}

/// Installs the wasm32 target with rustup when it is missing.
pub(crate) fn ensure_wasm_target() -> Result<()> {
    let installed = shell::output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed
        .lines()
        .any(|line| line.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    println!("installing the wasm32-unknown-unknown target (first run only)");
    shell::run(
        Path::new("."),
        "rustup",
        &["target", "add", "wasm32-unknown-unknown"],
    )
}
