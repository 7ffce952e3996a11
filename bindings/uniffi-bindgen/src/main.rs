//! The uniffi code generator at exactly the uniffi version `chinwag-ffi` is built with (the generated
//! code and the library's scaffolding must match). `cargo xtask bindings` runs it.

fn main() {
    uniffi::uniffi_bindgen_main()
}
