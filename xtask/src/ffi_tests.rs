//! The `ffi` test tier: the generated bindings against a freshly started chinwag-server.
//!
//! - Python (`bindings/ffi/tests/python`, unittest + asyncio): the seed guide, the everyday features,
//!   a program exiting right after a call (30 runs) and the 1,000-client leak check.
//! - Kotlin (`bindings/ffi/tests/kotlin/SeedGuide.kt`): the seed guide, compiled with `kotlinc` from
//!   npm `kotlin-compiler` and run on the JVM with Debian's JNA.
//! - Swift: generation only (no Swift compiler on these machines); the package layout is checked.
//!
//! What is missing is installed on first run (apt `libjna-java`, npm `kotlin-compiler` into
//! `bindings/ffi/tests/kotlin/node_modules`); under `CI=true` nothing is skipped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::bindings::{self, Generated};
use crate::shell;

const JNA: &str = "/usr/share/java/jna.jar";

pub(crate) fn run(root: &Path) -> Result<()> {
    let generated = bindings::run(root)?;
    shell::cargo(
        root,
        &["build", "-p", "chinwag-server", "--bin", "chinwag-server"],
    )?;
    let server = LocalServer::start(&bindings::target_dir(root).join("debug/chinwag-server"))?;
    println!("ffi: chinwag-server at {}", server.http);

    let started = Instant::now();
    python(root, &generated, &server)?;
    println!("ffi: Python passed in {:.1?}", started.elapsed());

    let started = Instant::now();
    if kotlin(root, &generated, &server)? {
        println!("ffi: Kotlin passed in {:.1?}", started.elapsed());
    }

    bindings::check_layout(&generated.out)?;
    if shell::has("swift") {
        println!("ffi: Swift: a Swift compiler exists here but is not used; generation checked only");
    } else {
        println!(
            "ffi: Swift: generation only (no Swift compiler on this machine); package layout checked in {}",
            generated.out.join("swift").display()
        );
    }
    Ok(())
}

fn python(root: &Path, generated: &Generated, server: &LocalServer) -> Result<()> {
    if !shell::has("python3") {
        if shell::is_ci() {
            bail!("python3 is required for the ffi tests under CI");
        }
        println!("ffi: Python SKIPPED, python3 not found");
        return Ok(());
    }
    let tests = root.join("bindings/ffi/tests/python");
    let mut command = Command::new("python3");
    command
        .args(["-m", "unittest", "discover", "-v", "-s", ".", "-p", "test_*.py"])
        .current_dir(&tests)
        .env("PYTHONPATH", generated.out.join("python"))
        .env("CHINWAG_SERVER", &server.http);
    run_command(
        command,
        "python3 -m unittest discover (bindings/ffi/tests/python)",
    )
}

/// Compiles and runs the Kotlin seed guide; `false` when skipped (outside CI only).
fn kotlin(root: &Path, generated: &Generated, server: &LocalServer) -> Result<bool> {
    let missing: Vec<&str> = ["java", "npm"]
        .into_iter()
        .filter(|tool| !shell::has(tool))
        .collect();
    if !missing.is_empty() {
        if shell::is_ci() {
            bail!("{} required for the Kotlin tests under CI", missing.join(" and "));
        }
        println!("ffi: Kotlin SKIPPED, {} not found", missing.join(" and "));
        return Ok(false);
    }
    if !ensure_jna()? {
        return Ok(false);
    }
    let project = root.join("bindings/ffi/tests/kotlin");
    crate::golden::npm_install(&project)?;
    let compiler = project.join("node_modules/kotlin-compiler");
    let lib = compiler.join("lib");
    let classpath = |extra: &[PathBuf]| -> Result<String> {
        let mut parts: Vec<PathBuf> = extra.to_vec();
        parts.push(lib.join("kotlinx-coroutines-core-jvm.jar"));
        parts.push(PathBuf::from(JNA));
        let joined = std::env::join_paths(parts).context("joining the classpath")?;
        Ok(joined.to_string_lossy().into_owned())
    };
    let classes = generated.out.join("kotlin-test/classes");
    println!("ffi: compiling the Kotlin seed guide with kotlinc (takes about half a minute)");
    let mut compile = Command::new(compiler.join("bin/kotlinc"));
    compile
        .arg("-nowarn")
        .arg("-cp")
        .arg(classpath(&[])?)
        .arg(
            generated
                .out
                .join("kotlin/src/main/kotlin/chat/chinwag/chinwag.kt"),
        )
        .arg(project.join("SeedGuide.kt"))
        .arg("-d")
        .arg(&classes);
    run_command(compile, "kotlinc chinwag.kt SeedGuide.kt")?;

    let mut java = Command::new("java");
    java.arg(format!("-Djna.library.path={}", generated.library_dir.display()))
        .arg("-cp")
        .arg(classpath(&[classes, lib.join("kotlin-stdlib.jar")])?)
        .arg("SeedGuideKt")
        .env("CHINWAG_SERVER", &server.http);
    run_command(java, "java SeedGuideKt")?;
    Ok(true)
}

/// Installs Debian's JNA when missing; `false` when it cannot be (outside CI only).
fn ensure_jna() -> Result<bool> {
    if Path::new(JNA).exists() {
        return Ok(true);
    }
    if shell::has("apt-get") {
        println!("ffi: installing libjna-java with apt-get (first run only)");
        let installed = shell::run(Path::new("."), "apt-get", &["update", "-qq"]).and_then(|()| {
            shell::run(
                Path::new("."),
                "apt-get",
                &["install", "-y", "-qq", "libjna-java"],
            )
        });
        if let Err(error) = installed {
            println!("ffi: apt-get failed: {error:#}");
        }
    }
    if Path::new(JNA).exists() {
        return Ok(true);
    }
    if shell::is_ci() {
        bail!("{JNA} (Debian package libjna-java) is required for the Kotlin tests under CI");
    }
    println!("ffi: Kotlin SKIPPED, {JNA} missing (apt-get install libjna-java)");
    Ok(false)
}

fn run_command(mut command: Command, what: &str) -> Result<()> {
    println!("$ {what}");
    let status = command.status().with_context(|| format!("starting {what}"))?;
    if !status.success() {
        bail!("`{what}` failed with {status}");
    }
    Ok(())
}

/// A chinwag-server on a free port with a temporary data dir, stopped on drop.
struct LocalServer {
    child: Child,
    http: String,
    _data: tempfile::TempDir,
}

impl LocalServer {
    fn start(binary: &Path) -> Result<Self> {
        let data = tempfile::tempdir().context("creating the server's data dir")?;
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        // The server logs its address in its `ready` line; keep draining both pipes afterwards so its
        // logging never blocks.
        let (found, address) = mpsc::channel();
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let found = found.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(http) = ready_address(&line) {
                        let _ = found.send(http);
                    }
                }
            });
        }
        let http = match address.recv_timeout(Duration::from_secs(30)) {
            Ok(http) => http,
            Err(_) => {
                let _ = child.kill();
                bail!("chinwag-server did not report its address within 30 s");
            }
        };
        Ok(Self {
            child,
            http,
            _data: data,
        })
    }
}

fn ready_address(line: &str) -> Option<String> {
    if !line.contains("ready") {
        return None;
    }
    let start = line.find("http=")? + "http=".len();
    let rest = &line[start..];
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
