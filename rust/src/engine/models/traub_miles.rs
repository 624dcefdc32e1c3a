//! The Traub-Miles Hodgkin-Huxley neuron of Brette et al. (2007)'s COBAHH benchmark (NEST
//! hh_cond_exp_traub) with exponential synaptic conductances: a member of the
//! Hodgkin-Huxley family (`hodgkin_huxley.rs` integrates it), with its own rate functions.
//! The executable specification is `python/spikeshard/models/traub_miles.py`.

use super::constants::{kernel_constants, ConstantReader};
use super::hodgkin_huxley::{clip, vtrap, vtrap_taylor, Family, HhConstants, HodgkinHuxley, VTRAP_SMALL};
use super::Model;
use crate::engine::fastmath;
use crate::engine::fastmath::mul_add;

/// State variables: v (mV), m, h, n, g_ex, g_in (nS).
pub const STATE: &[&str] = &["v", "m", "h", "n", "g_ex", "g_in"];

kernel_constants! {
    /// The rate functions' offset and constants, and the synapses (`TraubMilesHH.constants`).
    /// With x = v - v_t (mV): exp((13 - x)/4) = k_am exp(-x/4), exp((x - 40)/5) =
    /// k_bm / exp(-x/5), 0.128 exp((17 - x)/18) = c_ah exp(-x/18), exp((40 - x)/5) =
    /// k_bh exp(-x/5), exp((15 - x)/5) = k_an exp(-x/5), 0.5 exp((10 - x)/40) = c_bn exp(-x/40).
    pub struct TraubMiles {
        v_t,
        k_am,
        k_bm,
        c_ah,
        k_bh,
        k_an,
        c_bn,
        /// Synaptic reversal potentials (mV).
        e_ex,
        e_in,
    }
}

/// exp(-x/360) to the powers 9, 20, 72, 90 gives exp(-x/40), exp(-x/18), exp(-x/5),
/// exp(-x/4) (360 = lcm(4, 5, 18, 40)): one exponential per evaluation of the six rates.
const NEG_INV_360: f64 = -1.0 / 360.0;
/// The rates are evaluated at x = v - v_t limited to +-this (mV): the product of the four
/// denominators below stays finite (and |x/360| within `exp_in_range`).
const X_LIMIT: f64 = 400.0;

impl Family for TraubMiles {
    #[inline(always)]
    fn rates(&self, v: f64) -> [f64; 6] {
        let x = clip(v - self.v_t, -X_LIMIT, X_LIMIT);
        let b = fastmath::exp_in_range(x * NEG_INV_360);
        let b2 = b * b;
        let b4 = b2 * b2;
        let b8 = b4 * b4;
        let e40 = b8 * b;
        let b16 = b8 * b8;
        let b18 = b16 * b2;
        let e18 = b18 * b2;
        let b36 = b18 * b18;
        let e5 = b36 * b36;
        let e4 = e5 * b18;
        // alpha_m = 0.32 (13 - x) / (exp((13 - x)/4) - 1) = 1.28 vtrap((x - 13)/4)
        let (num_am, den_am) = vtrap(mul_add(x, 0.25, -3.25), e4, self.k_am);
        // beta_m = 0.28 (x - 40) / (exp((x - 40)/5) - 1) = 1.4 vtrap((40 - x)/5), whose
        // exp(-y) = k_bm / e5: numerator and denominator multiplied by e5.
        let y_bm = mul_add(x, -0.2, 8.0);
        let small = y_bm.abs() < VTRAP_SMALL;
        let (num_bm, den_bm) =
            (if small { vtrap_taylor(y_bm) } else { y_bm * e5 }, if small { 1.0 } else { e5 - self.k_bm });
        // beta_h = 4 / (1 + exp((40 - x)/5))
        let den_bh = mul_add(e5, self.k_bh, 1.0);
        // alpha_n = 0.032 (15 - x) / (exp((15 - x)/5) - 1) = 0.16 vtrap((x - 15)/5)
        let (num_an, den_an) = vtrap(mul_add(x, 0.2, -3.0), e5, self.k_an);
        // One division gives the four reciprocals.
        let (p12, p34) = (den_am * den_bm, den_bh * den_an);
        let q = 1.0 / (p12 * p34);
        let (q12, q34) = (q * p34, q * p12);
        [
            1.28 * num_am * (q12 * den_bm),
            1.4 * num_bm * (q12 * den_am),
            self.c_ah * e18,
            4.0 * (q34 * den_an),
            0.16 * num_an * (q34 * den_bh),
            self.c_bn * e40,
        ]
    }

    /// Conductances (nS) with reversal potentials; the injected current (pA) adds to the drive.
    #[inline(always)]
    fn synaptic(&self, (g_ex, g_in): (f64, f64), injected: f64) -> (f64, f64) {
        (mul_add(g_ex, self.e_ex, mul_add(g_in, self.e_in, injected)), g_ex + g_in)
    }

    const SUBTRACTS_INHIBITORY_INPUT: bool = true;
}

pub const MODEL: Model = Model {
    name: "traub_miles",
    state: STATE,
    constant_names: || HhConstants::<TraubMiles>::names(TraubMiles::NAMES),
    new: |c: &mut ConstantReader, _key| {
        Ok(Box::new(HodgkinHuxley::new(HhConstants::read(c, |c| TraubMiles::read(c, ""))?)))
    },
};
