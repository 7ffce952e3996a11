//! A tiny seeded generator (splitmix64) for ids and jitter.
//!
//! Determinism matters more than quality here: the same seed and the same inputs must produce the same
//! client message ids and the same reconnect delays, so that simulated runs replay exactly.

/// A splitmix64 generator.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..bound` (`0` when `bound` is zero).
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 { 0 } else { self.next_u64() % bound }
    }

    /// A lowercase uuid-v4-shaped string (version and variant bits set), like the JS SDK's `uuid/v4`.
    pub(crate) fn uuid_v4(&mut self) -> String {
        let hi = (self.next_u64() & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let lo = (self.next_u64() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        // 8-4-4-4-12 hex digits, written out rather than formatted (no `core::fmt` in the wasm).
        let mut id = Vec::with_capacity(36);
        for index in 0..32 {
            if matches!(index, 8 | 12 | 16 | 20) {
                id.push(b'-');
            }
            let bits = if index < 16 { hi } else { lo };
            let nibble = (bits >> (60 - 4 * (index % 16))) & 0xF;
            id.push(b"0123456789abcdef"[nibble as usize]);
        }
        // ASCII only: the conversion cannot fail.
        String::from_utf8(id).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_v4_shape_and_is_deterministic() {
        let a = Rng::new(7).uuid_v4();
        let b = Rng::new(7).uuid_v4();
        assert_eq!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(Rng::new(8).uuid_v4(), a);
    }

    #[test]
    fn uuid_digits_are_the_formatted_hex_of_the_random_bits() {
        for seed in 0..200 {
            let mut bits = Rng::new(seed);
            let hi = (bits.next_u64() & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
            let lo = (bits.next_u64() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
            let expected = format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                hi >> 32,
                (hi >> 16) & 0xFFFF,
                hi & 0xFFFF,
                lo >> 48,
                lo & 0xFFFF_FFFF_FFFF
            );
            assert_eq!(Rng::new(seed).uuid_v4(), expected);
        }
    }
}
