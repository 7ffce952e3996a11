//! `cargo xtask wasm`: builds the npm package `chinwag` into `target/npm/chinwag`.
//!
//! wasm-bindgen-cli (the exact version of the `wasm-bindgen` crate) turns the `chinwag-wasm` cdylib
//! into a `nodejs` (CommonJS) and a `web` (ES module, also what bundlers take) flavour; wasm-opt from
//! npm `binaryen` shrinks each, and npm `terser` minifies the web flavour's JS; the hand-written `bindings/wasm/js/api.js` (the `leancloud-realtime`
//! API) is wrapped into both entry points; `package.json`, README and types come from templates in
//! `bindings/wasm/`. Tools are installed on first use, and the build says so.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::shell;

/// Must equal the `wasm-bindgen` pin in the root `Cargo.toml`.
pub(crate) const WASM_BINDGEN_VERSION: &str = "0.2.130";

/// What the package exports, in the order `createApi` returns them.
const EXPORTS: &[&str] = &[
    "Realtime",
    "IMClient",
    "Conversation",
    "ChatRoom",
    "ServiceConversation",
    "TemporaryConversation",
    "ConversationBase",
    "ConversationQuery",
    "Message",
    "BinaryMessage",
    "TypedMessage",
    "TextMessage",
    "RecalledMessage",
    "messageType",
    "messageField",
    "Event",
    "MessageStatus",
    "MessagePriority",
    "MessageQueryDirection",
    "ConversationMemberRole",
    "ErrorCode",
    "EventEmitter",
    "RealtimeError",
];

/// Builds the package (size-optimised unless `dev`) and returns its directory.
pub(crate) fn build(root: &Path, dev: bool) -> Result<PathBuf> {
    crate::test::ensure_wasm_target()?;
    ensure_wasm_bindgen()?;
    let tools = root.join("bindings/wasm/tests");
    crate::golden::npm_install(&tools)?;
    if !tools.join("node_modules/terser").exists() {
        // node_modules from before terser joined the lockfile.
        println!(
            "installing the npm packages added to {} since the last install",
            tools.display()
        );
        shell::run(&tools, "npm", &["ci", "--no-audit", "--no-fund"])?;
    }
    let profile = if dev { "dev" } else { "wasm-release" };
    let mut args = vec![
        "build",
        "-p",
        "chinwag-wasm",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        profile,
    ];
    if dev {
        shell::cargo(root, &args)?;
    } else {
        // std rebuilt with the package's profile and panics that abort on the spot: no panic
        // messages, locations or formatting machinery in the module (-16 KB gzip). Stable rustc
        // allows these flags under RUSTC_BOOTSTRAP; they need the std sources (rust-src).
        // `-Zlocation-detail=none`: no source file names for `#[track_caller]` locations, which
        // nothing reads once panics abort (-0.4 KB gzip).
        ensure_rust_src()?;
        args.push("-Zbuild-std=std,panic_abort");
        // std's smaller implementations where it has two (sorts, mostly): -2.8 KB gzip.
        args.push("-Zbuild-std-features=optimize_for_size");
        shell::cargo_with_env(
            root,
            &[
                ("RUSTC_BOOTSTRAP", "1"),
                (
                    "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
                    "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none",
                ),
            ],
            &args,
        )?;
    }
    let target_dir = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), |d| root.join(d));
    let dir_name = if dev { "debug" } else { "wasm-release" };
    let wasm = target_dir
        .join("wasm32-unknown-unknown")
        .join(dir_name)
        .join("chinwag_wasm.wasm");
    let out = target_dir.join("npm/chinwag");
    if out.exists() {
        fs::remove_dir_all(&out).with_context(|| format!("cleaning {}", out.display()))?;
    }
    let wasm_opt = tools.join("node_modules/binaryen/bin/wasm-opt");
    for (flavour, target) in [("node", "nodejs"), ("web", "web")] {
        let dir = out.join(flavour);
        let wasm_arg = wasm.to_string_lossy().into_owned();
        let dir_arg = dir.to_string_lossy().into_owned();
        shell::run(
            root,
            "wasm-bindgen",
            &[
                "--target",
                target,
                "--no-typescript",
                "--out-dir",
                &dir_arg,
                &wasm_arg,
            ],
        )?;
    }
    if !dev {
        let node = out.join("node/chinwag_wasm_bg.wasm");
        let web = out.join("web/chinwag_wasm_bg.wasm");
        // The two flavours differ only in their JS glue; optimise the shared module once.
        let same = fs::read(&node)? == fs::read(&web)?;
        let modules = if same { vec![&node] } else { vec![&node, &web] };
        for module in modules {
            let module = module.to_string_lossy().into_owned();
            shell::run(
                root,
                &wasm_opt.to_string_lossy(),
                &[
                    // Inline a function into its only caller only when it is tiny: the default
                    // (merging every single-caller function into its caller) gives fewer, much
                    // larger functions that gzip worse (-2.6 KB gzip; 16 measured best of 0-50).
                    "-ocimfs=16",
                    "-Oz",
                    // Repeat the passes while they still shrink the module (-1.1 KB gzip).
                    "--converge",
                    // Then rebuild the control flow with the relooper and shrink again (-0.6 KB
                    // gzip; a second round gives 0.2 KB more for twice the time: not taken).
                    "--flatten",
                    "--rereloop",
                    "-Oz",
                    // Functions in the order of their (mangled) names: a crate's and a module's
                    // functions, and the instances of one generic, sit together for gzip (-0.3 KB).
                    "--reorder-functions-by-name",
                    // Rust's 1 MB stack grows down towards address 0 and data starts at 1 MB:
                    // only a stack overflow reaches below 1024, so wasm-opt may fold offsets
                    // into addresses (-1.1 KB gzip).
                    "--low-memory-unused",
                    "--enable-bulk-memory",
                    "--enable-nontrapping-float-to-int",
                    "--enable-sign-ext",
                    "--enable-mutable-globals",
                    "--enable-reference-types",
                    "--enable-multivalue",
                    "--strip-debug",
                    "--strip-producers",
                    &module,
                    "-o",
                    &module,
                ],
            )?;
        }
        if same {
            fs::copy(&node, &web)?;
        }
    }
    write_entries(root, &out)?;
    if !dev {
        // What browsers load is minified (-5.7 KB gzip); the Node flavour stays readable.
        let terser = tools.join("node_modules/terser/bin/terser");
        for file in ["web/index.js", "web/chinwag_wasm.js"] {
            let path = out.join(file).to_string_lossy().into_owned();
            shell::run(
                root,
                "node",
                &[
                    &terser.to_string_lossy(),
                    &path,
                    "--module",
                    "--compress",
                    "--mangle",
                    // Class names stay: they show in logs and some apps read `constructor.name`.
                    "--keep-classnames",
                    "-o",
                    &path,
                ],
            )?;
        }
    }
    report_size(&out)?;
    println!("npm package: {}", out.display());
    Ok(out)
}

fn write_entries(root: &Path, out: &Path) -> Result<()> {
    let template = root.join("bindings/wasm");
    let api = fs::read_to_string(template.join("js/api.js"))?;
    let names = EXPORTS.join(", ");
    let node = format!(
        "'use strict';\n\
         // Node: the global WebSocket (Node 22+, or 20 with --experimental-websocket), else the `ws` package.\n\
         if (typeof globalThis.WebSocket === 'undefined') {{\n  try {{\n    globalThis.WebSocket = require('ws');\n  }} catch (_) {{\n    \
         // Without either, connecting fails with a clear ReferenceError.\n  }}\n}}\n\
         const {{ Core }} = require('./chinwag_wasm.js');\n{api}\nmodule.exports = createApi(Core);\n"
    );
    fs::write(out.join("node/index.js"), node)?;
    let web = format!(
        "import init, {{ Core }} from './chinwag_wasm.js';\n{api}\nawait init();\nconst api = createApi(Core);\n\
         export const {{ {names} }} = api;\nexport default api;\n"
    );
    fs::write(out.join("web/index.js"), web)?;
    fs::write(out.join("web/package.json"), "{ \"type\": \"module\" }\n")?;
    let version = workspace_version(root)?;
    let package = fs::read_to_string(template.join("package.json"))?.replace("0.0.0-workspace", &version);
    fs::write(out.join("package.json"), package)?;
    fs::copy(template.join("README.md"), out.join("README.md"))?;
    fs::copy(template.join("js/index.d.ts"), out.join("index.d.ts"))?;
    Ok(())
}

fn workspace_version(root: &Path) -> Result<String> {
    let manifest = fs::read_to_string(root.join("Cargo.toml"))?;
    let line = manifest
        .lines()
        .skip_while(|l| l.trim() != "[workspace.package]")
        .find(|l| l.trim_start().starts_with("version"))
        .context("no workspace version")?;
    Ok(line.split('"').nth(1).context("bad version line")?.to_owned())
}

/// Prints the gzip -9 size of what a browser loads (JS glue + API + wasm), as the README reports it.
fn report_size(out: &Path) -> Result<()> {
    let files = ["web/index.js", "web/chinwag_wasm.js", "web/chinwag_wasm_bg.wasm"];
    let mut raw = 0;
    let mut gz = 0;
    for file in files {
        let bytes = fs::read(out.join(file))?;
        raw += bytes.len();
        gz += gzip_size(&bytes)?;
    }
    println!("browser build: {raw} B raw, {gz} B gzip -9 (JS + wasm; leancloud-realtime 4.3.1: 76,824 B)");
    Ok(())
}

fn gzip_size(bytes: &[u8]) -> Result<usize> {
    let mut child = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("running gzip")?;
    // Write from another thread: gzip's output would fill its pipe while we still write.
    let mut stdin = child.stdin.take().context("gzip stdin")?;
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("gzip writer panicked"))??;
    Ok(output.stdout.len())
}

/// Installs the standard library's sources (rustup's `rust-src`) when missing: `-Zbuild-std` compiles
/// std from them.
fn ensure_rust_src() -> Result<()> {
    let sysroot = shell::output("rustc", &["--print", "sysroot"]).context("running rustc --print sysroot")?;
    let library = Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library/std/Cargo.toml");
    if library.exists() {
        return Ok(());
    }
    println!("installing rustup's rust-src component (std sources for -Zbuild-std; first run only)");
    shell::run(Path::new("."), "rustup", &["component", "add", "rust-src"])
}

/// Installs wasm-bindgen-cli of exactly [`WASM_BINDGEN_VERSION`] into CARGO_HOME when missing.
fn ensure_wasm_bindgen() -> Result<()> {
    let found = shell::output("wasm-bindgen", &["--version"]).unwrap_or_default();
    if found.trim() == format!("wasm-bindgen {WASM_BINDGEN_VERSION}") {
        return Ok(());
    }
    println!(
        "installing wasm-bindgen-cli {WASM_BINDGEN_VERSION} into CARGO_HOME (first run only, a few minutes; found: {:?})",
        found.trim()
    );
    // Without --locked: the CLI's lockfile names a crate version the registry lacks.
    let spec = format!("wasm-bindgen-cli@{WASM_BINDGEN_VERSION}");
    shell::cargo(Path::new("."), &["install", "--debug", "--force", &spec])?;
    if !shell::has("wasm-bindgen") {
        bail!("wasm-bindgen is not on PATH after installing it (is CARGO_HOME/bin on PATH?)");
    }
    Ok(())
}
