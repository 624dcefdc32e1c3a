//! Vectorisable elementary functions for the neuron kernels.
//!
//! libm's `exp` is an opaque call per element, so a loop that uses it runs one lane at a time.
//! The functions here are branch-free straight-line f64 arithmetic (compares become selects,
//! the power of two is built with integer bit operations), so LLVM inlines them and
//! auto-vectorises the loop around them (AVX2 / AVX-512 with `-C target-cpu=native`). They use
//! no fused multiply-add, so a portable build without FMA does not fall back to a slow libm
//! `fma` call.

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
}
