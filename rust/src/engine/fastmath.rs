//! Vectorisable elementary functions for the neuron kernels.
//!
//! libm's `exp` is an opaque call per element, so a loop that uses it runs one lane at a time.
//! The functions here are branch-free straight-line f64 arithmetic (compares become selects,
//! the power of two is built with integer bit operations), so LLVM inlines them and
//! auto-vectorises the loop around them (AVX2 / AVX-512 with `-C target-cpu=native`). `exp`
//! fuses multiply-adds where the target has FMA (never libm's slow software `fma`);
//! `exp_m1` and `ln_1p` use none, so they give the same bits on every CPU.

/// Arguments are clamped to this range: `exp(-708)` is still a normal number and
/// `exp(709)` still finite, so the exponent field can be built without overflow.
pub const EXP_ARG_MIN: f64 = -708.0;
pub const EXP_ARG_MAX: f64 = 709.0;

const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// ln 2 split in two (Cody–Waite): `LN2_HI` has 32 significant bits, so `n * LN2_HI` is exact
/// for every |n| < 2^11 and the reduced argument loses nothing to cancellation.
const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000); // 0.6931471803691238
const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76); // 1.9082149292705877e-10
/// 1.5 * 2^52: adding it rounds a |value| < 2^51 to the nearest integer (ties to even) and
/// leaves that integer in the low bits of the sum's mantissa.
const ROUND_SHIFT: f64 = 6_755_399_441_055_744.0;

/// exp(r) = 1 + r + r² q(r) on |r| ≤ ln2/2, q of degree 9 fitted (near-minimax, Chebyshev
/// least squares in 50-digit arithmetic): truncation error 1.7e-17 relative, so the result is
/// within about 1 ulp of the exact value. Highest degree first.
const EXP_Q: [f64; 10] = [
    2.510_037_583_256_123_4e-8,
    2.762_007_587_998_336_7e-7,
    2.755_726_848_031_002_4e-6,
    2.480_152_132_236_869_2e-5,
    1.984_126_986_304_054_5e-4,
    1.388_888_891_719_671_9e-3,
    8.333_333_333_330_065e-3,
    4.166_666_666_662_416_4e-2,
    1.666_666_666_666_666_9e-1,
    5.000_000_000_000_001e-1,
];

/// `a * b + c`, fused where the target has FMA (one instruction, one rounding) and as a plain
/// multiply and add where it has not (`f64::mul_add` would call libm's slow software `fma`).
#[inline(always)]
pub fn mul_add(a: f64, b: f64, c: f64) -> f64 {
    if cfg!(target_feature = "fma") {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// e^x with a relative error of about 1 ulp (≤ 3e-16 measured) for x in
/// [`EXP_ARG_MIN`, `EXP_ARG_MAX`]; arguments outside are clamped (so it never returns inf or a
/// subnormal), NaN propagates. Branch-free: inline it into a loop over a slice and the loop
/// vectorises.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // Written as compares (not f64::max/min, which would turn NaN into the bound).
    let x = if x < EXP_ARG_MIN { EXP_ARG_MIN } else { x };
    let x = if x > EXP_ARG_MAX { EXP_ARG_MAX } else { x };
    exp_in_range(x)
}

/// [`exp`] without the clamping, for callers whose argument is known to lie in
/// [`EXP_ARG_MIN`, `EXP_ARG_MAX`] (outside it the result is meaningless, never UB).
#[inline(always)]
pub fn exp_in_range(x: f64) -> f64 {
    // x = n ln2 + r with n an integer and |r| ≤ ln2/2.
    let shifted = x * LOG2_E + ROUND_SHIFT;
    let n = shifted - ROUND_SHIFT;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    // Estrin's scheme: a shorter dependency chain than Horner, so fewer cycles of latency.
    let c = &EXP_Q;
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    let q01 = mul_add(c[0], r, c[1]);
    let q23 = mul_add(c[2], r, c[3]);
    let q45 = mul_add(c[4], r, c[5]);
    let q67 = mul_add(c[6], r, c[7]);
    let q89 = mul_add(c[8], r, c[9]);
    let q25 = mul_add(q23, r2, q45);
    let q69 = mul_add(q67, r2, q89);
    let q29 = mul_add(q25, r4, q69);
    let q = mul_add(q01, r8, q29);
    let p = mul_add(r2, q, r) + 1.0;
    // 2^n: n sits in the low mantissa bits of `shifted` (two's complement); adding the bias and
    // shifting it into the exponent field drops everything above the 11 exponent bits.
    let scale = f64::from_bits(shifted.to_bits().wrapping_add(1023) << 52);
    p * scale
}

// `exp_m1` and `ln_1p` (the nengo LIF kernels) use no FMA at all: results are the same bits on
// every CPU, so spike times do not depend on the machine. Both are within 1 ulp of libm.

/// `exp(x) - 1`, accurate also for `x` near 0 (as `f64::exp_m1`).
#[inline(always)]
pub fn exp_m1(x: f64) -> f64 {
    // Beyond these bounds the result rounds to -1 or overflows to +inf; the clamp keeps
    // 2^(k-1) a normal double (NaN is selected back at the end).
    let xc = x.clamp(-64.0, 709.79);
    // x = k ln2 + r with |r| <= ln2 / 2 (Cody-Waite reduction).
    let shifted = xc * LOG2_E + ROUND_SHIFT;
    let kf = shifted - ROUND_SHIFT;
    // k as an integer from the shifted value's low bits: a float-to-int `as` cast saturates
    // and would not vectorise.
    let k = shifted.to_bits().wrapping_sub(ROUND_SHIFT.to_bits()) as i64;
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

// fdlibm's minimax coefficients (its hex values; about 2/3, 2/5, 2/7, ...) for
// log(1 + f) = f - f²/2 + s (f²/2 + R(s²)) with s = f / (2 + f).
const LG1: f64 = f64::from_bits(0x3FE5_5555_5555_5593);
const LG2: f64 = f64::from_bits(0x3FD9_9999_9997_FA04);
const LG3: f64 = f64::from_bits(0x3FD2_4924_9422_9359);
const LG4: f64 = f64::from_bits(0x3FCC_71C5_1D8E_78AF);
const LG5: f64 = f64::from_bits(0x3FC7_4664_96CB_03DE);
const LG6: f64 = f64::from_bits(0x3FC3_9A09_D078_C69F);
const LG7: f64 = f64::from_bits(0x3FC2_F112_DF3E_5244);
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

    fn rel_err(x: f64) -> f64 {
        let exact = x.exp();
        ((exp(x) - exact) / exact).abs()
    }

    #[test]
    fn exp_is_accurate_over_the_whole_range() {
        let mut worst: f64 = 0.0;
        let n = 2_000_001;
        for i in 0..n {
            let x = EXP_ARG_MIN + (EXP_ARG_MAX - EXP_ARG_MIN) * (i as f64) / ((n - 1) as f64);
            worst = worst.max(rel_err(x));
        }
        // Fine grid around 0, where the reduction does nothing.
        for i in -100_000..=100_000 {
            worst = worst.max(rel_err(i as f64 * 1e-5));
        }
        assert!(worst < 4e-16, "max relative error {worst:e}");
    }

    #[test]
    fn exp_special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f64::NAN).is_nan());
        let at_min = EXP_ARG_MIN.exp();
        assert!((exp(-1e6) / at_min - 1.0).abs() < 4e-16);
        assert!((exp(f64::NEG_INFINITY) / at_min - 1.0).abs() < 4e-16);
        assert!(exp(1e6).is_finite());
        assert!(((exp(1.0) - std::f64::consts::E) / std::f64::consts::E).abs() < 3e-16);
    }

    /// Distance in ulps between two finite doubles of the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} vs {b}");
        a.to_bits().abs_diff(b.to_bits())
    }

    /// Deterministic uniform samples in [lo, hi).
    fn samples(lo: f64, hi: f64, n: usize, seed: u64) -> Vec<f64> {
        let mut uniform = crate::test_support::uniform_stream(seed);
        (0..n).map(|_| lo + (hi - lo) * uniform()).collect()
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
