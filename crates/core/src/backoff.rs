//! The reconnect schedule.
//!
//! First retry immediately (most drops are a blip: a proxy timeout, a network switch), then 1 s, 2 s,
//! 4 s … doubling up to a cap of 30 s — far below LeanCloud's 300 s, because a chat app that waits five
//! minutes after a subway tunnel looks broken. Each non-zero delay is jittered down by up to 25 % from
//! the seeded generator so that a server restart does not bring every client back in the same
//! millisecond.

use core::time::Duration;

use crate::rng::Rng;

/// The delay before reconnect attempt `attempt` (0-based), before jitter.
pub fn base_delay(attempt: u32, cap: Duration) -> Duration {
    if attempt == 0 {
        return Duration::ZERO;
    }
    let exp = (attempt - 1).min(20);
    Duration::from_millis(1000u64 << exp).min(cap)
}

/// The delay before reconnect attempt `attempt`, jittered into `[0.75 · base, base]`.
pub(crate) fn jittered_delay(attempt: u32, cap: Duration, rng: &mut Rng) -> Duration {
    let base = base_delay(attempt, cap);
    let ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(ms - rng.below(ms / 4 + 1).min(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_immediate_then_doubles_to_the_cap() {
        let cap = Duration::from_secs(30);
        let secs: Vec<u64> = (0..9).map(|a| base_delay(a, cap).as_millis() as u64).collect();
        assert_eq!(secs, [0, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
        assert_eq!(base_delay(u32::MAX, cap), cap);
    }

    #[test]
    fn jitter_stays_within_a_quarter_below_the_base() {
        let cap = Duration::from_secs(30);
        let mut rng = Rng::new(1);
        for attempt in 0..12 {
            for _ in 0..50 {
                let base = base_delay(attempt, cap);
                let delay = jittered_delay(attempt, cap, &mut rng);
                assert!(
                    delay <= base && delay * 4 >= base * 3,
                    "{attempt}: {delay:?} vs {base:?}"
                );
            }
        }
        assert_eq!(jittered_delay(0, cap, &mut rng), Duration::ZERO);
    }
}
