//! Branch-free `expm1` and `log1p` that the compiler can vectorise inside kernel loops.
//!
//! libm's versions are opaque calls with branches, so a loop that calls them runs one element
//! at a time; these are plain arithmetic and bit operations with selects, so a loop over a
//! slice becomes SIMD code (AVX-512: 8 lanes). Both are within 1 ulp of the correctly
//! rounded result (checked against libm in the tests below). They are pure functions of their
//! argument and use no fused multiply-add, so every build on every CPU, vectorised or not,
//! gives the same bits: results do not depend on threads, ranks or the remainder loop.
//! Rust (unlike C) never contracts `a * b + c` into an FMA on its own.

// fdlibm's constants are quoted with all their published digits.
#![allow(clippy::excessive_precision)]

// ln 2 split as in fdlibm: LN2_HI has 32 trailing zero bits, so `k * LN2_HI` is exact.
const LN2_HI: f64 = 6.931_471_803_691_238_164_9e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
const INV_LN2: f64 = std::f64::consts::LOG2_E;
/// 1.5 * 2^52: adding and subtracting it rounds a double below 2^51 to an integer.
const ROUND_SHIFTER: f64 = 6_755_399_441_055_744.0;

/// `exp(x) - 1`, accurate also for `x` near 0 (as `f64::exp_m1`).
#[inline(always)]
pub fn exp_m1(x: f64) -> f64 {
    // Beyond these bounds the result rounds to -1 or overflows to +inf; the clamp keeps
    // 2^(k-1) a normal double (NaN is selected back at the end).
    let xc = x.clamp(-64.0, 709.79);
    // x = k ln2 + r with |r| <= ln2 / 2 (Cody-Waite reduction).
    let shifted = xc * INV_LN2 + ROUND_SHIFTER;
    let kf = shifted - ROUND_SHIFTER;
    // k as an integer from the shifted value's low bits: a float-to-int `as` cast saturates
    // and would not vectorise.
    let k = shifted.to_bits().wrapping_sub(ROUND_SHIFTER.to_bits()) as i64;
    let r = (xc - kf * LN2_HI) - kf * LN2_LO;
    // expm1(r) by its Taylor series to r^13 (truncation below 1e-17 relative for |r| <= ln2/2),
    // the tail r^3 q(r) in Estrin's scheme: a short dependency chain, so vectors overlap.
    const C: [f64; 11] = [
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let q = (C[0] + C[1] * r)
        + r2 * (C[2] + C[3] * r)
        + r4 * ((C[4] + C[5] * r) + r2 * (C[6] + C[7] * r))
        + r8 * ((C[8] + C[9] * r) + r2 * C[10]);
    let t = r2 * (0.5 + r * q);
    let p = r + t;
    // expm1(x) = 2^k (1 + r + t) - 1 = 2 (((h - 1/2) + h r) + h t) with h = 2^(k-1): the first
    // sum is exact where it cancels most (k = ±1), and h stays finite for k = 1024 (the final
    // doubling then overflows correctly).
    let h = f64::from_bits(((k - 1 + 1023) as u64) << 52);
    let y = 2.0 * (((h - 0.5) + h * r) + h * t);
    // expm1(±0) = ±0 and NaN stays NaN, as libm; k = 0 returns p itself (no halving of a
    // subnormal p).
    if x == 0.0 || x.is_nan() {
        x
    } else if kf == 0.0 {
        p
    } else {
        y
    }
}

// fdlibm's minimax coefficients for log(1 + f) = f - f²/2 + s (f²/2 + R(s²)), s = f / (2 + f).
const LG1: f64 = 6.666_666_666_666_735_13e-1;
const LG2: f64 = 3.999_999_999_940_941_908e-1;
const LG3: f64 = 2.857_142_874_366_239_149e-1;
const LG4: f64 = 2.222_219_843_214_978_396e-1;
const LG5: f64 = 1.818_357_216_161_805_012e-1;
const LG6: f64 = 1.531_383_769_920_937_332e-1;
const LG7: f64 = 1.479_819_860_511_658_591e-1;
/// Bits of sqrt(2) / 2: mantissas are reduced into [sqrt(2)/2, sqrt(2)).
const SQRT_HALF_BITS: u64 = 0x3fe6_a09e_667f_3bcd;

/// `ln(1 + x)`, accurate also for `x` near 0 (as `f64::ln_1p`).
#[inline(always)]
pub fn ln_1p(x: f64) -> f64 {
    // 1 + x = 2^k m with m in [sqrt(2)/2, sqrt(2)), read from the bits of u = 1 + x.
    let u = 1.0 + x;
    let offset = u.to_bits().wrapping_sub(SQRT_HALF_BITS);
    let k_u = ((offset as i64) >> 52) as f64;
    let m = f64::from_bits(u.to_bits().wrapping_sub(offset & (0xfff << 52)));
    // u is 1 + x rounded; c / u corrects log(u) to log(1 + x) to first order (fdlibm). Each
    // form of the rounding error 1 + x - u is exact on its side of 2.
    let c = if u >= 2.0 { 1.0 - (u - x) } else { x - (u - 1.0) } / u;
    // Where 1 + x is already in [sqrt(2)/2, sqrt(2)), f = x exactly and no correction is due.
    let near = x > -0.292_893_218_813_452_4 && x < 0.414_213_562_373_095_1;
    let (k, f, c) = if near { (0.0, x, 0.0) } else { (k_u, m - 1.0, c) };
    let s = f / (2.0 + f);
    let z = s * s;
    // fdlibm's log splits the polynomial into even and odd parts: two short chains.
    let w = z * z;
    let r = z * (LG1 + w * (LG3 + w * (LG5 + w * LG7))) + w * (LG2 + w * (LG4 + w * LG6));
    let hfsq = 0.5 * f * f;
    let y = k * LN2_HI - ((hfsq - (s * (hfsq + r) + (k * LN2_LO + c))) - f);
    // log1p(-1) = -inf, below -1 NaN, +inf stays +inf, ±0 stays ±0, NaN stays NaN, as libm.
    if x == -1.0 {
        f64::NEG_INFINITY
    } else if x < -1.0 || x.is_nan() {
        f64::NAN
    } else if x == f64::INFINITY || x == 0.0 {
        x
    } else {
        y
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in ulps between two finite doubles of the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} vs {b}");
        a.to_bits().abs_diff(b.to_bits())
    }

    /// Deterministic uniform samples in [lo, hi).
    fn samples(lo: f64, hi: f64, n: usize, mut seed: u64) -> Vec<f64> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                lo + (hi - lo) * ((seed >> 11) as f64 / (1u64 << 53) as f64)
            })
            .collect()
    }

    /// Samples spread over magnitudes 10^lo .. 10^hi, both signs.
    fn log_samples(lo: f64, hi: f64, n: usize, seed: u64) -> Vec<f64> {
        samples(lo, hi, n, seed)
            .into_iter()
            .enumerate()
            .map(|(i, e)| if i % 2 == 0 { 10f64.powf(e) } else { -(10f64.powf(e)) })
            .collect()
    }

    fn max_ulps(f: fn(f64) -> f64, libm: fn(f64) -> f64, xs: &[f64]) -> u64 {
        let (worst, x) = xs.iter().map(|&x| (ulps(f(x), libm(x)), x)).max_by_key(|p| p.0).unwrap();
        eprintln!("worst {worst} ulps at {x:e}");
        worst
    }

    #[test]
    fn exp_m1_is_within_an_ulp_of_libm() {
        let ranges = [
            samples(-0.05, 0.0, 200_000, 1), // LIF decays: -dt / tau_rc
            samples(-1.0, 1.0, 200_000, 2),
            samples(-40.0, 40.0, 200_000, 3),
            samples(-750.0, 709.7, 200_000, 4),
            log_samples(-300.0, 0.0, 200_000, 5),
        ];
        for xs in &ranges {
            // libm itself is within 1 ulp of the exact value, so we are within 2.
            let worst = max_ulps(exp_m1, f64::exp_m1, xs);
            assert!(worst <= 1, "{worst} ulps");
        }
    }

    #[test]
    fn ln_1p_is_within_an_ulp_of_libm() {
        let ranges = [
            samples(-1.0, 0.0, 200_000, 6), // LIF spike times: -(v - 1) / (J - 1)
            samples(-0.3, 0.5, 200_000, 7),
            samples(0.0, 1e6, 200_000, 8),
            log_samples(-300.0, 0.0, 200_000, 9),
            log_samples(0.0, 300.0, 100_000, 10).into_iter().map(f64::abs).collect(),
            (1..=60).map(|e| -1.0 + 2f64.powi(-e)).collect(),
        ];
        for xs in &ranges {
            let worst = max_ulps(ln_1p, f64::ln_1p, xs);
            assert!(worst <= 1, "{worst} ulps");
        }
    }

    #[test]
    fn special_values_match_libm() {
        for x in [0.0, -0.0, f64::INFINITY, f64::NEG_INFINITY, -800.0, 709.78, 709.79, 710.0, 1e-300, -1e-300, 5e-324] {
            let (ours, libm) = (exp_m1(x), x.exp_m1());
            assert_eq!(ours.to_bits(), libm.to_bits(), "expm1({x}): {ours} vs {libm}");
        }
        for x in [0.0, -0.0, -1.0, f64::INFINITY, f64::MAX, 1e-300, -1e-300, 5e-324] {
            let (ours, libm) = (ln_1p(x), x.ln_1p());
            assert_eq!(ours.to_bits(), libm.to_bits(), "log1p({x}): {ours} vs {libm}");
        }
        assert!(exp_m1(f64::NAN).is_nan());
        for x in [f64::NAN, -1.5, f64::NEG_INFINITY] {
            assert!(ln_1p(x).is_nan(), "log1p({x})");
        }
    }
}
