//! Counter-based random numbers: every draw is a pure function of (key, a, b).
//!
//! A stream key is derived once per (seed, purpose, object) in Python (`spikeshard.rng`), and a
//! draw is `mix(mix(key ^ a*M1) + b*M2)` with `mix` the SplitMix64 finaliser. `a` is a step or a
//! target id, `b` a global id or a draw counter. Because nothing is sequential, the numbers a
//! neuron sees do not depend on which rank or thread computes them. The numpy twin lives in
//! `python/spikeshard/rng.py` and must stay bit-identical.

pub const M1: u64 = 0x9E37_79B9_7F4A_7C15;
pub const M2: u64 = 0xD1B5_4A32_D192_ED03;

/// SplitMix64's output function (Stafford's variant 13).
#[inline(always)]
pub fn mix(mut z: u64) -> u64 {
    z ^= z >> 30;
    z = z.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z ^= z >> 27;
    z = z.wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The per-`a` sub-key: hoisted out of loops over `b`.
#[inline(always)]
pub fn subkey(key: u64, a: u64) -> u64 {
    mix(key ^ a.wrapping_mul(M1))
}

/// Raw 64 random bits for (sub-key, b).
#[inline(always)]
pub fn bits(subkey: u64, b: u64) -> u64 {
    mix(subkey.wrapping_add(b.wrapping_mul(M2)))
}

/// Uniform in [0, 1) with 53 random bits.
#[inline(always)]
pub fn uniform(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// Uniform in (0, 1]: safe under `ln`.
#[inline(always)]
pub fn uniform_open0(bits: u64) -> f64 {
    ((bits >> 11) + 1) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// Integer in [0, n) by Lemire's multiply-shift (bias below 2^-32 for n < 2^32).
#[inline(always)]
pub fn below(bits: u64, n: u64) -> u64 {
    ((bits as u128 * n as u128) >> 64) as u64
}

/// Poisson counts by inversion against a cumulative table (`cdf[k]` = P(count <= k), ending
/// with a 1.0 sentinel; built in Python by `spikeshard.rng.poisson_table` so both engines use
/// identical numbers): each count is the number of entries below its uniform `u[i]`. The
/// table is walked only as far as the largest uniform, one vectorised pass over the group
/// per entry.
#[inline(always)]
pub fn poisson_counts(u: &[f64], cdf: &[f64], counts: &mut [f64]) {
    let counts = &mut counts[..u.len()];
    let largest = u.iter().fold(0.0f64, |a, &b| if b > a { b } else { a });
    counts.fill(0.0);
    for &c in cdf {
        if c >= largest {
            break;
        }
        for (count, &x) in counts.iter_mut().zip(u) {
            *count += if c < x { 1.0 } else { 0.0 };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_matches_reference_values() {
        // Reference from SplitMix64 with state 0: first output is mix(0 + golden).
        assert_eq!(mix(0x9E37_79B9_7F4A_7C15), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn uniform_in_range_and_mean_half() {
        let key = subkey(42, 7);
        let n = 100_000u64;
        let mean = (0..n).map(|b| uniform(bits(key, b))).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
        assert!(uniform(u64::MAX) < 1.0);
        assert!(uniform_open0(0) > 0.0);
    }

    #[test]
    fn poisson_mean_matches_lambda() {
        let key = subkey(1, 2);
        let lambda = 2.0f64;
        // The table as Python builds it: P(count <= k) until it stops growing, then 1.0.
        let mut cdf = vec![(-lambda).exp()];
        let mut p = cdf[0];
        for k in 1..60 {
            p *= lambda / k as f64;
            cdf.push(cdf[k - 1] + p);
        }
        cdf.push(1.0);
        let n = 200_000u64;
        let u: Vec<f64> = (0..n).map(|b| uniform(bits(key, b))).collect();
        let mut counts = vec![0.0; u.len()];
        poisson_counts(&u, &cdf, &mut counts);
        let mean = counts.iter().sum::<f64>() / n as f64;
        assert!((mean - lambda).abs() < 0.02, "mean {mean}");
    }

    #[test]
    fn below_stays_below() {
        for b in 0..1000 {
            assert!(below(bits(3, b), 17) < 17);
        }
    }
}
