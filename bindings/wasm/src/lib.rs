//! `chinwag-wasm`: the JavaScript front end of chinwag, shipped as the npm package `chinwag`.
//!
//! A wasm-bindgen driver ([`Core`], wasm only) runs one `chinwag-core` engine over the host's
//! `WebSocket`, `setTimeout` and `performance.now()`; the hand-written JS in `js/` gives it the API of
//! `leancloud-realtime`. No business logic lives here: [`convert`] only reshapes data as JSON
//! (written by [`json`]), and [`request`] reads the JS layer's requests into engine commands.

pub mod convert;
pub mod json;
pub mod request;

#[cfg(target_family = "wasm")]
mod driver;

#[cfg(target_family = "wasm")]
pub use driver::Core;

/// The global allocator of the wasm build: talc instead of std's dlmalloc (the module runs on one
/// thread, so no atomics). Smaller code and faster allocation; memory grows with `memory.grow` as
/// dlmalloc's does.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
