//! `cargo xtask bindings`: builds `chinwag-ffi` and generates its Swift, Kotlin and Python bindings into
//! `target/bindings/` (generated code is not committed):
//!
//! ```text
//! target/bindings/
//!   python/chinwag.py, libchinwag_ffi.so         import chinwag (with this folder on PYTHONPATH)
//!   kotlin/src/main/kotlin/chat/chinwag/chinwag.kt  sources of an Android library module
//!   kotlin/build.gradle.kts                       a template for that module (JNA + coroutines)
//!   swift/Package.swift                           a Swift package: Chinwag over the ChinwagFFI C module
//!   swift/Sources/Chinwag/Chinwag.swift
//!   swift/Sources/ChinwagFFI/ChinwagFFI.h, module.modulemap
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::shell;

/// Where the generated bindings and the library they load are.
pub(crate) struct Generated {
    /// `target/bindings`.
    pub(crate) out: PathBuf,
    /// The folder holding `libchinwag_ffi.so` (for `-Djna.library.path`).
    pub(crate) library_dir: PathBuf,
}

/// The cargo target directory (`CARGO_TARGET_DIR` or `target/`).
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn library_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libchinwag_ffi.dylib"
    } else if cfg!(target_os = "windows") {
        "chinwag_ffi.dll"
    } else {
        "libchinwag_ffi.so"
    }
}

/// Appended to the generated Python module: before the interpreter finalizes, stop the runtime's
/// threads from calling into it (see `bindings/ffi/src/exit.rs`; uniffi has no hook for this).
const PYTHON_AT_EXIT: &str = "
# Added by `cargo xtask bindings`: no runtime thread may call into a finalizing interpreter.
import atexit as _chinwag_atexit
_chinwag_atexit.register(prepare_for_exit)
";

/// Builds the library (debug) and generates all three languages.
pub(crate) fn run(root: &Path) -> Result<Generated> {
    shell::cargo(root, &["build", "-p", "chinwag-ffi", "-p", "uniffi-bindgen"])?;
    let library_dir = target_dir(root).join("debug");
    let library = library_dir.join(library_name());
    let out = target_dir(root).join("bindings");
    if out.exists() {
        fs::remove_dir_all(&out).with_context(|| format!("removing {}", out.display()))?;
    }
    let raw = out.join("raw");
    for language in ["python", "kotlin", "swift"] {
        generate(root, &library, language, &raw.join(language))?;
    }

    // Python: the module next to the library it loads.
    let python = out.join("python");
    fs::create_dir_all(&python)?;
    let module = fs::read_to_string(raw.join("python/chinwag.py"))?;
    write(&python.join("chinwag.py"), &format!("{module}{PYTHON_AT_EXIT}"))?;
    fs::remove_file(raw.join("python/chinwag.py"))?;
    fs::copy(&library, python.join(library_name()))?;

    // Kotlin: an Android library module's source set.
    let kotlin_sources = out.join("kotlin/src/main/kotlin/chat/chinwag");
    fs::create_dir_all(&kotlin_sources)?;
    fs::rename(
        raw.join("kotlin/chat/chinwag/chinwag.kt"),
        kotlin_sources.join("chinwag.kt"),
    )?;
    write(&out.join("kotlin/build.gradle.kts"), GRADLE_TEMPLATE)?;

    // Swift: a package with the Swift sources over a C module of the header.
    let swift = out.join("swift");
    let swift_sources = swift.join("Sources/Chinwag");
    let ffi_module = swift.join("Sources/ChinwagFFI");
    fs::create_dir_all(&swift_sources)?;
    fs::create_dir_all(&ffi_module)?;
    fs::rename(
        raw.join("swift/Chinwag.swift"),
        swift_sources.join("Chinwag.swift"),
    )?;
    fs::rename(raw.join("swift/ChinwagFFI.h"), ffi_module.join("ChinwagFFI.h"))?;
    let modulemap = fs::read_to_string(raw.join("swift/ChinwagFFI.modulemap"))?;
    write(&ffi_module.join("module.modulemap"), &link_module(&modulemap)?)?;
    write(&swift.join("Package.swift"), PACKAGE_SWIFT)?;

    fs::remove_dir_all(&raw)?;
    check_layout(&out)?;
    println!("bindings generated in {}", out.display());
    Ok(Generated { out, library_dir })
}

fn generate(root: &Path, library: &Path, language: &str, out: &Path) -> Result<()> {
    let library = library.to_str().context("non-UTF-8 library path")?;
    let out = out.to_str().context("non-UTF-8 output path")?;
    shell::cargo(
        root,
        &[
            "run",
            "-q",
            "-p",
            "uniffi-bindgen",
            "--",
            "generate",
            library,
            "--language",
            language,
            "--out-dir",
            out,
            "--no-format",
        ],
    )
}

/// The generated modulemap plus a `link` line, so SwiftPM links `libchinwag_ffi` for the module.
fn link_module(modulemap: &str) -> Result<String> {
    let Some(end) = modulemap.rfind('}') else {
        bail!("unexpected modulemap from uniffi-bindgen:\n{modulemap}");
    };
    Ok(format!("{}    link \"chinwag_ffi\"\n}}\n", &modulemap[..end]))
}

fn write(path: &Path, text: &str) -> Result<()> {
    fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// Fails unless every file of the layout is there and non-empty.
pub(crate) fn check_layout(out: &Path) -> Result<()> {
    for file in [
        "python/chinwag.py",
        "kotlin/src/main/kotlin/chat/chinwag/chinwag.kt",
        "kotlin/build.gradle.kts",
        "swift/Package.swift",
        "swift/Sources/Chinwag/Chinwag.swift",
        "swift/Sources/ChinwagFFI/ChinwagFFI.h",
        "swift/Sources/ChinwagFFI/module.modulemap",
    ] {
        let path = out.join(file);
        let size = fs::metadata(&path)
            .with_context(|| format!("{} was not generated", path.display()))?
            .len();
        if size == 0 {
            bail!("{} is empty", path.display());
        }
    }
    let kotlin = fs::read_to_string(out.join("kotlin/src/main/kotlin/chat/chinwag/chinwag.kt"))?;
    if !kotlin.contains("package chat.chinwag") {
        bail!("the Kotlin sources are not in package chat.chinwag");
    }
    let swift = fs::read_to_string(out.join("swift/Sources/Chinwag/Chinwag.swift"))?;
    if !swift.contains("func nextEvent() async") {
        bail!("the Swift sources lack `func nextEvent() async`");
    }
    Ok(())
}

const PACKAGE_SWIFT: &str = r#"// swift-tools-version:5.7
// Generated by `cargo xtask bindings`. Build the Rust library first (see bindings/ffi/README.md), e.g.
//   cargo build -p chinwag-ffi && swift build -Xlinker -L../../debug
import PackageDescription

let package = Package(
    name: "Chinwag",
    platforms: [.macOS(.v10_15), .iOS(.v13)],
    products: [
        .library(name: "Chinwag", targets: ["Chinwag"]),
    ],
    targets: [
        // The C declarations of libchinwag_ffi; its modulemap links the library.
        .systemLibrary(name: "ChinwagFFI", path: "Sources/ChinwagFFI"),
        .target(name: "Chinwag", dependencies: ["ChinwagFFI"], path: "Sources/Chinwag"),
    ]
)
"#;

const GRADLE_TEMPLATE: &str = r#"// Generated by `cargo xtask bindings`: a template for an Android library module holding the chinwag
// Kotlin bindings. Put libchinwag_ffi.so for each ABI under src/main/jniLibs/<abi>/ (cargo-ndk builds
// them: `cargo ndk -t arm64-v8a -t x86_64 -o src/main/jniLibs build -p chinwag-ffi --release`).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "chat.chinwag"
    compileSdk = 35
    defaultConfig { minSdk = 24 }
}

dependencies {
    implementation("net.java.dev.jna:jna:5.13.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
}
"#;
