//! Runnable examples of the chinwag Rust SDK (`cargo run --example quickstart`, `cargo run --example
//! chat`). The library part is empty: the examples live next to this file.
