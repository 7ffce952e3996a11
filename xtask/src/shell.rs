//! Running external commands with a visible trace of what is being done.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Whether we run under CI (`CI=true`), where no tier may be skipped.
pub(crate) fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true" || value == "1")
}

/// Runs `program args..` in `dir`, echoing the command line, and fails on a non-zero exit.
pub(crate) fn run(dir: &Path, program: &str, args: &[&str]) -> Result<()> {
    println!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .status()
        .with_context(|| format!("starting {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed with {status}", args.join(" "));
    }
    Ok(())
}

/// Runs cargo (the same one that runs xtask) with `args` in `dir`.
pub(crate) fn cargo(dir: &Path, args: &[&str]) -> Result<()> {
    cargo_with_env(dir, &[], args)
}

/// Like [`cargo`], with extra environment variables (echoed before the command line).
///
/// Under CI, builds are not incremental (`CARGO_INCREMENTAL=0`, unless set already): a fresh clone
/// builds everything once, and the incremental caches would only take disk space, of which a CI
/// machine may have little.
pub(crate) fn cargo_with_env(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut env = env.to_vec();
    if is_ci() && std::env::var_os("CARGO_INCREMENTAL").is_none() {
        env.push(("CARGO_INCREMENTAL", "0"));
    }
    let shown: Vec<String> = env
        .iter()
        .map(|(key, value)| format!("{key}=\"{value}\" "))
        .collect();
    println!("$ {}{cargo} {}", shown.concat(), args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .status()
        .with_context(|| format!("starting {cargo}"))?;
    if !status.success() {
        bail!("`{cargo} {}` failed with {status}", args.join(" "));
    }
    Ok(())
}

/// Runs `program args..` and returns its standard output, or `None` if it cannot run or fails.
pub(crate) fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `program` can be started (answers `--version`).
pub(crate) fn has(program: &str) -> bool {
    output(program, &["--version"]).is_some()
}
