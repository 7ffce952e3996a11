//! The client engine fed arbitrary server frames, with its timers firing in between: it never panics,
//! and every frame it sends decodes.
#![no_main]

use chinwag_core::{ClientOptions, Engine, Instant, MessageContent, Options, SendOptions};
use chinwag_protocol::Frame;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::from_millis(0);
    let mut engine = Engine::new(
        Options::with_servers("app", ["ws://fuzz/"]),
        7,
        now,
        1_700_000_000_000,
    );
    engine.open_client("Tom", ClientOptions::default(), now);
    engine.handle_connected(now);
    // Records: [kind][len][bytes; len]. Kinds pick a binary or text frame, a send, or time passing.
    let mut rest = data;
    while let [kind, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (body, next) = tail.split_at(len);
        rest = next;
        match kind % 8 {
            0..=3 => {
                let _ = engine.handle_frame(&Frame::Binary(body.to_vec()), now);
            }
            4 => {
                let _ = engine.handle_frame(&Frame::Text(String::from_utf8_lossy(body).into_owned()), now);
            }
            5 => {
                let cid = format!("c{}", body.first().copied().unwrap_or(0) % 4);
                engine.send(
                    "Tom",
                    &cid,
                    MessageContent::Text("x".into()),
                    SendOptions::default(),
                    now,
                );
            }
            6 => {
                now = Instant::from_millis(now.as_millis() + 1000 * u64::from(body.len() as u8));
                engine.handle_timeout(now);
            }
            _ => engine.handle_connected(now),
        }
        while let Some(frame) = engine.poll_transmit() {
            frame.decode().expect("the engine sends frames that decode");
        }
        while engine.poll_action().is_some() {}
        while engine.poll_event().is_some() {}
    }
});
