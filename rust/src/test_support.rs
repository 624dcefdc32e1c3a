//! Helpers shared by the unit tests.

/// A deterministic stream of uniform numbers in [0, 1) (xorshift64, 53-bit mantissas) from a
/// nonzero `seed`: test inputs without a random-number crate.
pub fn uniform_stream(mut seed: u64) -> impl FnMut() -> f64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64
    }
}
