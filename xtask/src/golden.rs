//! `cargo xtask golden`: golden vectors from the official `leancloud-realtime` encoder.
//!
//! The Node generator lives in `crates/protocol/golden/`; its output (`vectors/`) is committed so that the
//! Rust tests never need Node. `--check` regenerates into a scratch folder and fails on any difference.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::shell;

/// Regenerates the vectors in place, or (with `check`) verifies that the committed ones are fresh.
pub(crate) fn run(root: &Path, check: bool) -> Result<()> {
    let golden = root.join("crates/protocol/golden");
    if !shell::has("node") || !shell::has("npm") {
        if shell::is_ci() {
            bail!("node and npm are required for the golden vectors under CI");
        }
        println!("golden: SKIPPED, node/npm not found (install Node.js 20 to run this tier)");
        return Ok(());
    }
    npm_install(&golden)?;
    let committed = golden.join("vectors");
    if !check {
        return shell::run(&golden, "node", &["generate.cjs", "vectors"]);
    }
    let scratch = root.join("target/golden-check");
    let _ = std::fs::remove_dir_all(&scratch);
    let scratch_arg = scratch.to_string_lossy().into_owned();
    shell::run(&golden, "node", &["generate.cjs", &scratch_arg])?;
    let fresh = list(&scratch)?;
    if fresh != list(&committed)? {
        bail!("the set of golden vectors changed: run `cargo xtask golden` and commit the result");
    }
    for name in &fresh {
        if std::fs::read(scratch.join(name))? != std::fs::read(committed.join(name))? {
            bail!("golden vector {name} is stale: run `cargo xtask golden` and commit the result");
        }
    }
    println!(
        "golden: {} committed files equal the official encoder's output",
        fresh.len()
    );
    Ok(())
}

/// Installs a Node suite's npm packages (from the lockfile) unless they are there already and
/// the lockfile has not changed since (a pull that adds a package installs again).
pub(crate) fn npm_install(dir: &Path) -> Result<()> {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let installed = modified(&dir.join("node_modules/.package-lock.json"));
    let locked = modified(&dir.join("package-lock.json"));
    if installed.is_some() && (locked.is_none() || locked <= installed) {
        return Ok(());
    }
    println!(
        "installing npm packages in {} (first run, or the lockfile changed)",
        dir.display()
    );
    let verb = if dir.join("package-lock.json").exists() {
        "ci"
    } else {
        "install"
    };
    shell::run(dir, "npm", &[verb, "--no-audit", "--no-fund"])
}

fn list(dir: &Path) -> Result<Vec<String>> {
    let mut names = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|entry| Ok(entry?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}
