//! The browser/Node driver: one [`Engine`], one `WebSocket`, one timer, the clock.
//!
//! It follows the core's contract literally: after every input or command it drains `poll_transmit`
//! (written to the socket in order), `poll_action` (connect, fetch the route, close) and `poll_event`
//! (written into one reused buffer and handed to JavaScript as one JSON array per drain, after the
//! engine is released so that handlers may call back in), then re-arms its single `setTimeout` from `poll_timeout`.

// wasm-bindgen's generated glue for exported types and imported functions is beyond our lints'
// reach (it names `unsafe` internals and generated items without docs).
#![allow(missing_docs, unreachable_pub)]

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use chinwag_core::json::{self, Value};
use chinwag_core::{Action, Engine, Frame, Instant, Options};
use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, WebSocket};

use crate::json::JsonWriter;
use crate::{convert, request};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

type Callback = Closure<dyn FnMut(JsValue)>;

/// The socket's handlers, kept alive as long as the socket.
struct Socket {
    ws: WebSocket,
    _handlers: [Callback; 4],
}

struct Driver {
    engine: Engine,
    origin: f64,
    socket: Option<Socket>,
    /// Bumped for every socket, so that late callbacks of an old one are ignored.
    generation: u32,
    timer: Option<JsValue>,
    timer_callback: Option<Closure<dyn FnMut()>>,
    /// The events' JSON buffer, reused by every drain.
    events: JsonWriter,
}

struct Shared {
    driver: RefCell<Driver>,
    on_events: Function,
    /// Fetches the RTM router's answer for a URL and hands it to [`Core::route_fetched`]. The fetch is
    /// the JS layer's: its promise callbacks written here cost 2 KB of wasm.
    on_route: Function,
}

/// One connection to a chinwag/LeanCloud RTM server hosting any number of clients; the JS layer's
/// `Realtime` owns one. Every command returns a request id answered by a `response` event.
#[wasm_bindgen]
pub struct Core {
    shared: Rc<Shared>,
}

fn parse(text: &str) -> Value {
    json::parse(text).unwrap_or(Value::Null)
}

/// A JSON array of strings (server URLs, client ids). Lists cross as JSON text because a `Vec<String>`
/// parameter brings its own wasm-bindgen conversion (1.3 KB of wasm, and its JS glue) while the JSON
/// parser is there anyway. Anything else throws, as that conversion did.
fn string_array(json: &str) -> Vec<String> {
    match convert::strings(&parse(json)) {
        Some(strings) => strings,
        None => wasm_bindgen::throw_str("chinwag: expected an array of strings"),
    }
}

fn now_of(driver: &Driver) -> Instant {
    let elapsed = (performance_now() - driver.origin).max(0.0);
    // Truncation to whole milliseconds is the intent.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Instant::from_millis(elapsed as u64)
}

/// Runs `f` on the engine, drains it and hands the events to JavaScript.
fn step(shared: &Rc<Shared>, f: impl FnOnce(&mut Engine, Instant)) {
    let mut f = Some(f);
    step_driver(shared, &mut |driver, now| {
        if let Some(f) = f.take() {
            f(&mut driver.engine, now);
        }
    });
}

/// Like [`step`], with the whole driver. One copy for every caller (`dyn`, never inlined): each
/// exported command used to carry its own copy of the borrow, drain and event delivery.
#[inline(never)]
fn step_driver(shared: &Rc<Shared>, f: &mut dyn FnMut(&mut Driver, Instant)) {
    let events = {
        let Ok(mut driver) = shared.driver.try_borrow_mut() else {
            // Unreachable by construction (events are delivered after the borrow ends); be safe.
            wasm_bindgen::throw_str("chinwag: re-entrant engine call");
        };
        let now = now_of(&driver);
        f(&mut driver, now);
        drain(shared, &mut driver)
    };
    if let Some(events) = events {
        let _ = shared.on_events.call1(&JsValue::NULL, &events);
    }
}

/// Runs the engine's outputs until it has none; returns the events as one JSON array string, if any.
fn drain(shared: &Rc<Shared>, driver: &mut Driver) -> Option<JsValue> {
    // One buffer for every drain: the receive path writes each event into it without allocating.
    let mut events = std::mem::take(&mut driver.events);
    events.clear();
    events.begin_array();
    let mut any = false;
    loop {
        let mut progressed = false;
        while let Some(frame) = driver.engine.poll_transmit() {
            progressed = true;
            let Some(socket) = &driver.socket else { continue };
            let sent = match frame {
                Frame::Binary(bytes) => socket.ws.send_with_u8_array(&bytes),
                Frame::Text(text) => socket.ws.send_with_str(&text),
            };
            if sent.is_err() {
                close_socket(driver);
                let now = now_of(driver);
                driver.engine.handle_disconnected(None, now);
            }
        }
        while let Some(action) = driver.engine.poll_action() {
            progressed = true;
            act(shared, driver, action);
        }
        while let Some(event) = driver.engine.poll_event() {
            progressed = true;
            any = true;
            convert::write_event(&mut events, &event, &driver.engine);
        }
        if !progressed {
            break;
        }
    }
    rearm(shared, driver);
    events.end_array();
    let json = any.then(|| JsValue::from_str(events.as_str()));
    driver.events = events;
    json
}

fn rearm(shared: &Rc<Shared>, driver: &mut Driver) {
    if let Some(id) = driver.timer.take() {
        clear_timeout(&id);
    }
    let Some(at) = driver.engine.poll_timeout() else {
        return;
    };
    #[allow(clippy::cast_precision_loss)]
    let delay = (driver.origin + at.as_millis() as f64 - performance_now()).max(0.0);
    let callback = driver.timer_callback.get_or_insert_with(|| {
        let weak = Rc::downgrade(shared);
        Closure::new(move || {
            if let Some(shared) = weak.upgrade() {
                if let Ok(mut driver) = shared.driver.try_borrow_mut() {
                    driver.timer = None;
                }
                step(&shared, Engine::handle_timeout);
            }
        })
    });
    driver.timer = Some(set_timeout(callback.as_ref().unchecked_ref(), delay + 1.0));
}

fn close_socket(driver: &mut Driver) {
    if let Some(socket) = driver.socket.take() {
        socket.ws.set_onopen(None);
        socket.ws.set_onmessage(None);
        socket.ws.set_onclose(None);
        socket.ws.set_onerror(None);
        let _ = socket.ws.close();
    }
}

/// A socket callback that runs only while its socket is the current one.
fn socket_callback(
    weak: &Weak<Shared>,
    generation: u32,
    mut f: impl FnMut(&mut Driver, Instant, &JsValue) + 'static,
) -> Callback {
    let weak = weak.clone();
    Closure::new(move |event: JsValue| {
        let Some(shared) = weak.upgrade() else { return };
        if shared.driver.borrow().generation != generation {
            return;
        }
        step_driver(&shared, &mut |driver, now| f(driver, now, &event));
    })
}

fn act(shared: &Rc<Shared>, driver: &mut Driver, action: Action) {
    match action {
        Action::Connect { url, protocol, .. } => {
            close_socket(driver);
            driver.generation = driver.generation.wrapping_add(1);
            let generation = driver.generation;
            let Ok(ws) = WebSocket::new_with_str(&url, &protocol) else {
                let now = now_of(driver);
                driver.engine.handle_disconnected(None, now);
                return;
            };
            ws.set_binary_type(BinaryType::Arraybuffer);
            let weak = Rc::downgrade(shared);
            let on_open = socket_callback(&weak, generation, |d, now, _| d.engine.handle_connected(now));
            let on_message = socket_callback(&weak, generation, |d, now, event| {
                let Ok(data) = Reflect::get(event, &JsValue::from_str("data")) else {
                    return;
                };
                let _ = match data.as_string() {
                    Some(text) => d.engine.handle_frame(&Frame::Text(text), now),
                    None => d.engine.handle_bytes(&Uint8Array::new(&data).to_vec(), now),
                };
            });
            let closed = |d: &mut Driver, now: Instant, event: &JsValue| {
                // The socket is gone: later callbacks of it (error after close) are stale.
                close_socket(d);
                d.generation = d.generation.wrapping_add(1);
                let code = Reflect::get(event, &JsValue::from_str("code"))
                    .ok()
                    .and_then(|c| c.as_f64());
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                d.engine.handle_disconnected(code.map(|c| c as u16), now);
            };
            let on_close = socket_callback(&weak, generation, closed);
            let on_error = socket_callback(&weak, generation, closed);
            ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            driver.socket = Some(Socket {
                ws,
                _handlers: [on_open, on_message, on_close, on_error],
            });
        }
        Action::FetchRoute { url } => {
            let _ = shared.on_route.call1(&JsValue::NULL, &JsValue::from_str(&url));
        }
        Action::Close => close_socket(driver),
    }
}

#[wasm_bindgen]
impl Core {
    /// Creates the engine for `app_id` with the given WebSocket URLs (a JSON array; or, when empty, the
    /// RTM router base URL `router`). `on_events` receives each drain's events as a JSON array string;
    /// `on_route(url)` starts fetching the RTM router's answer and returns at once (it runs while the
    /// engine is borrowed); the answer comes back through [`route_fetched`](Self::route_fetched).
    #[wasm_bindgen(constructor)]
    pub fn new(
        app_id: &str,
        servers: &str,
        router: Option<String>,
        on_events: Function,
        on_route: Function,
    ) -> Core {
        let servers = string_array(servers);
        let mut options = match router {
            Some(router) if servers.is_empty() => Options::with_router(app_id, &router),
            _ => Options::with_servers(app_id, servers),
        };
        options.user_agent = concat!("chinwag-js/", env!("CARGO_PKG_VERSION")).to_owned();
        // `beforeMessageDispatch` may drop a burst of messages the engine has already applied;
        // taking them back brings back the last message before them (up to four in a row).
        options.earlier_last_messages = 4;
        #[allow(clippy::cast_possible_truncation)]
        let wall_ms = js_sys::Date::now() as i64;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let seed = (js_sys::Math::random() * 9_007_199_254_740_991.0) as u64 ^ wall_ms as u64;
        let origin = performance_now();
        let shared = Rc::new(Shared {
            driver: RefCell::new(Driver {
                engine: Engine::new(options, seed, Instant::from_millis(0), wall_ms),
                origin,
                socket: None,
                generation: 0,
                timer: None,
                timer_callback: None,
                events: JsonWriter::new(),
            }),
            on_events,
            on_route,
        });
        Core { shared }
    }

    /// Runs one request of the JS layer, a JSON array `[op, client, ...arguments]` (see
    /// `request.rs` for the ops and their arguments); its request id, answered by a `response` event.
    pub fn call(&self, request: &str) -> f64 {
        let request = parse(request);
        let mut result = Ok(chinwag_core::RequestId(0));
        step(&self.shared, |engine, now| {
            result = request::run(engine, now, &request)
        });
        match result {
            // Request ids count up from 1: far below 2^53.
            #[allow(clippy::cast_precision_loss)]
            Ok(id) => id.0 as f64,
            Err(error) => wasm_bindgen::throw_str(error.0),
        }
    }

    /// The client's current IM session token (for the REST calls that need one), if signed in.
    #[wasm_bindgen(js_name = sessionToken)]
    pub fn session_token(&self, client: &str) -> Option<String> {
        self.shared
            .driver
            .borrow()
            .engine
            .session_token(client)
            .map(str::to_owned)
    }

    /// Whether `client` has no session token valid now (none yet, or past its `stTtl`).
    #[wasm_bindgen(js_name = sessionTokenExpired)]
    pub fn session_token_expired(&self, client: &str) -> bool {
        let driver = self.shared.driver.borrow();
        driver.engine.session_token_expired(client, now_of(&driver))
    }

    /// Takes back a received message (JSON as the `message` events carry it) that
    /// `beforeMessageDispatch` dropped: out of its conversation's unread count, and no longer its
    /// last message, as the official SDK never counts nor records such a message; whether the
    /// conversation changed (see `Engine::take_back_dropped_message`).
    #[wasm_bindgen(js_name = takeBackDroppedMessage)]
    pub fn take_back_dropped_message(&self, client: &str, message: &str) -> bool {
        let message = convert::message(&parse(message));
        self.shared
            .driver
            .borrow_mut()
            .engine
            .take_back_dropped_message(client, &message)
    }
    /// The engine's cached copy of a conversation (JSON), if any.
    pub fn conversation(&self, client: &str, cid: &str) -> Option<String> {
        let driver = self.shared.driver.borrow();
        driver
            .engine
            .conversation(client, cid)
            .map(convert::conversation_json)
    }

    /// Every cached conversation of `client` (JSON array).
    pub fn conversations(&self, client: &str) -> String {
        let driver = self.shared.driver.borrow();
        let mut j = JsonWriter::new();
        j.begin_array();
        for conversation in driver.engine.conversations(client) {
            convert::write_conversation(&mut j, conversation);
        }
        j.end_array();
        j.finish()
    }

    /// The WebSocket URLs the RTM router answered (a JSON array: `server`, then `secondary`); an empty
    /// array when the fetch failed.
    #[wasm_bindgen(js_name = routeFetched)]
    pub fn route_fetched(&self, urls: &str) {
        let urls = string_array(urls);
        if urls.is_empty() {
            step(&self.shared, Engine::handle_route_failed);
        } else {
            step(&self.shared, |engine, now| engine.handle_route(urls, now));
        }
    }

    /// Tells the engine the network went away or came back (the JS layer wires `window`'s `online` and
    /// `offline` events to it: done here, the window lookup and listeners cost 1.5 KB of wasm).
    #[wasm_bindgen(js_name = setOnline)]
    pub fn set_online(&self, online: bool) {
        step(&self.shared, |e, now| e.set_online(online, now));
    }

    /// Stops: closes the socket and the timer; the object is unusable afterwards.
    pub fn shutdown(&self) {
        let mut driver = self.shared.driver.borrow_mut();
        close_socket(&mut driver);
        if let Some(id) = driver.timer.take() {
            clear_timeout(&id);
        }
        driver.timer_callback = None;
    }
}
