//! `cargo xtask codegen`: regenerate the prost types of `chinwag-protocol` from `proto/messages.proto`.
//!
//! The .proto is parsed by `protox` (pure Rust), so no `protoc` binary is needed. The generated file is
//! checked in; [`check`] (and the test below) fails when it is stale.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Where the checked-in generated code lives.
pub(crate) fn generated_file(root: &Path) -> PathBuf {
    root.join("crates/protocol/src/generated/push_server.messages2.rs")
}

/// Generates the Rust code for `proto/messages.proto` into `out_dir` and returns the generated file.
pub(crate) fn generate_into(root: &Path, out_dir: &Path) -> Result<PathBuf> {
    let proto_dir = root.join("proto");
    let descriptors = protox::compile([proto_dir.join("messages.proto")], [&proto_dir])
        .context("parsing proto/messages.proto")?;
    std::fs::create_dir_all(out_dir)?;
    let mut config = prost_build::Config::new();
    config
        .out_dir(out_dir)
        .compile_fds(descriptors)
        .context("prost-build")?;
    Ok(out_dir.join("push_server.messages2.rs"))
}

/// Rewrites the checked-in generated code.
pub(crate) fn run(root: &Path) -> Result<()> {
    let target = generated_file(root);
    let out_dir = target.parent().context("generated file has a parent")?;
    let written = generate_into(root, out_dir)?;
    println!("codegen: wrote {}", written.display());
    Ok(())
}

/// Fails when the checked-in generated code differs from a fresh generation.
pub(crate) fn check(root: &Path) -> Result<()> {
    let scratch = root.join("target/xtask-codegen-check");
    let _ = std::fs::remove_dir_all(&scratch);
    let fresh = std::fs::read_to_string(generate_into(root, &scratch)?)?;
    let checked_in =
        std::fs::read_to_string(generated_file(root)).context("reading the checked-in generated code")?;
    if fresh != checked_in {
        bail!(
            "{} is stale: run `cargo xtask codegen` and commit the result",
            generated_file(root).display()
        );
    }
    println!("codegen: checked-in code matches proto/messages.proto");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn checked_in_code_matches_a_fresh_generation() {
        super::check(&crate::workspace_root()).expect("generated code is fresh");
    }
}
