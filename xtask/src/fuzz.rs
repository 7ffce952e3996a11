//! `cargo xtask fuzz <target>`: runs one of the libFuzzer targets in `fuzz/` (nightly `cargo fuzz`),
//! seeding its corpus on the first run. Not a test tier: fuzzing has no fixed end and needs nightly.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::shell;

/// The targets in `fuzz/fuzz_targets/` (what each checks: `fuzz/README.md`).
pub(crate) const TARGETS: [&str; 7] = ["frame", "json", "engine", "hub", "query", "delivery", "requests"];

/// Runs `target` for `seconds` (0: until it finds something or is stopped).
pub(crate) fn run(root: &Path, target: &str, seconds: u64) -> Result<()> {
    if !TARGETS.contains(&target) {
        bail!(
            "no fuzz target {target:?}; the targets are {}",
            TARGETS.join(", ")
        );
    }
    if shell::output("rustup", &["run", "nightly", "rustc", "--version"]).is_none() {
        bail!("fuzzing needs a nightly toolchain (`rustup toolchain install nightly`)");
    }
    if shell::output("cargo", &["fuzz", "--version"]).is_none() {
        println!("installing cargo-fuzz (first run only)");
        shell::run(root, "cargo", &["install", "cargo-fuzz", "--locked"])?;
    }
    let fuzz = root.join("fuzz");
    let corpus = fuzz.join("corpus").join(target);
    if !corpus.exists() {
        seed(root, target, &corpus)?;
    }
    let corpus_arg = corpus.to_string_lossy().into_owned();
    let time = format!("-max_total_time={seconds}");
    // The rustup proxy's `+nightly`; RUSTUP_TOOLCHAIN (set when xtask runs under cargo) would override it.
    // `-s none`: no AddressSanitizer. The code is safe Rust, and ASan made the hub target six times
    // slower (the bundled SQLite, the one C code it would watch, is fuzzed by its own project).
    let mut args = vec![
        "+nightly",
        "fuzz",
        "run",
        "-O",
        "-s",
        "none",
        target,
        &corpus_arg,
        "--",
        &time,
    ];
    // The two model targets read at most 60 and 50 steps (128 and 158 bytes): start at full length,
    // since libFuzzer's slowly growing length limit would keep their runs short for most of a session.
    args.extend(match target {
        "delivery" => ["-max_len=128", "-len_control=0"].as_slice(),
        "requests" => ["-max_len=160", "-len_control=0"].as_slice(),
        _ => ["-max_len=4096"].as_slice(),
    });
    println!("$ cargo {}", args.join(" "));
    let status = std::process::Command::new("cargo")
        .args(&args)
        .env_remove("RUSTUP_TOOLCHAIN")
        .current_dir(&fuzz)
        .status()
        .context("starting cargo fuzz")?;
    if !status.success() {
        bail!("the {target} fuzzer stopped with {status}: the input is in fuzz/artifacts/{target}/");
    }
    Ok(())
}

/// A first corpus: the golden vectors (real commands of the official SDK), as the target reads its input,
/// or the committed seeds in `fuzz/seeds/<target>/`.
fn seed(root: &Path, target: &str, corpus: &Path) -> Result<()> {
    fs::create_dir_all(corpus)?;
    let seeds = root.join("fuzz/seeds").join(target);
    if seeds.exists() {
        for entry in fs::read_dir(&seeds)? {
            let path = entry?.path();
            fs::copy(&path, corpus.join(path.file_name().context("seed name")?))?;
        }
        println!("seeded {} from {}", corpus.display(), seeds.display());
        return Ok(());
    }
    let vectors = root.join("crates/protocol/golden/vectors");
    let mut count = 0;
    for entry in fs::read_dir(&vectors).with_context(|| format!("reading {}", vectors.display()))? {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "bin") {
            continue;
        }
        let mut bytes = fs::read(&path)?;
        bytes.truncate(255);
        // The input layouts of `fuzz_targets/engine.rs` (a binary frame) and `hub.rs` (default
        // settings; the command as Tom, on connection 1).
        let len = bytes.len() as u8;
        let record = match target {
            "engine" => [&[0, len][..], &bytes].concat(),
            "hub" => [&[0, 0x10, 0, 0, 0, len][..], &bytes].concat(),
            _ => bytes,
        };
        fs::write(corpus.join(path.file_stem().context("vector name")?), record)?;
        count += 1;
    }
    println!("seeded {} with {count} golden vectors", corpus.display());
    Ok(())
}
