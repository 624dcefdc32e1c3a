//! Hodgkin-Huxley-type neurons (v and the gates m, h, n; g_na m³h and g_k n⁴ channels) with
//! exponentially decaying synapses, and the classic squid giant axon among them; the
//! executable specification is the numpy kernel of `python/spikeshard/models/hodgkin_huxley.py`,
//! which this file mirrors formula by formula. A member of the family (`Family`) brings its
//! rate functions and how its synapses enter the membrane (currents, or conductances with
//! reversal potentials); the integration below is shared (`traub_miles.rs` is another member).
//!
//! Units inside the kernel: v in mV, time in ms, rates in 1/ms; conductances, currents and
//! capacitance in the family's units (mS/cm², µA/cm², µF/cm² for the squid axon; nS, pA, pF
//! for Traub-Miles), so current / capacitance is in mV/ms.
//!
//! Integration: at the start of each step a neuron is *active* if v > v_active or
//! v + dt dv/dt > v_active, else *quiet*; active neurons split the step into the fine sub-steps,
//! quiet ones into the coarse ones (twice as long by default). Each sub-step is one step of the
//! fourth-order exponential Runge-Kutta method of Cox & Matthews (ETDRK4) whose diagonal linear
//! part holds only the *excess* stiffness of each variable: lin = -max(lambda - 2.5/h, 0), with
//! lambda the variable's own relaxation rate (g_total/c_m for v, alpha + beta for a gate) at the
//! start of the sub-step. When no variable of a chunk of neurons is that stiff (nearly always:
//! only spike peaks and extreme drive are), the weights are exactly RK4's and the cheap RK4 path
//! runs; it computes bit for bit what the exponential path would.
//!
//! Robustness under absurd drive (kicks of thousands of µA/cm²): the rates are evaluated at v
//! limited to +-1000 mV (they overflow beyond), the gates are evaluated clipped to [0, 1] and
//! kept there, and a sub-step in which v would move by more than 20 mV also uses the membrane's
//! rate at Euler-predicted gates. Ordinary spiking only occasionally has a stage value clipped
//! (by ~0.01, near spike peaks), with no measurable effect on accuracy.
//!
//! Differences from the numpy specification: `fastmath::exp` (within an ulp of numpy's) and
//! fused multiply-adds where the target has FMA; over 100 ms they move v by about 1e-9 mV.
//!
//! Vectorisation: the neurons of each class are processed in chunks of `LANES`; a chunk's state
//! is gathered into fixed-size local arrays, all sub-steps run on it as loops over the lanes
//! with straight-line branch-free bodies (selects only, `fastmath::exp`), which LLVM turns into
//! SIMD code, and the state is scattered back. The only branch, stiff or not, is per chunk, and
//! both of its sides give every lane the same numbers, so results do not depend on which
//! neurons share a chunk (or a thread, or a rank).

use std::fmt;

use super::constants::{kernel_constants, ConstantReader};
use super::{update_then_add_input, InputAfterStep, Kernel, Model, StepContext};
use crate::engine::error::{invalid, EngineError};
use crate::engine::fastmath;
use crate::engine::fastmath::mul_add;

/// State variables of the squid axon: v (mV), m, h, n, i_syn_ex, i_syn_in (µA/cm²).
pub const STATE: &[&str] = &["v", "m", "h", "n", "i_syn_ex", "i_syn_in"];
pub const N_STATE: usize = 6;
/// The synaptic variables (currents or conductances) among the state variables.
const SYN_EX: usize = 4;
const SYN_IN: usize = 5;

/// A member of the family: its rate functions and synapses. The kernel is generic over it, so
/// each member's rates are inlined into the vectorised loops.
pub trait Family: Clone + fmt::Debug + Send + Sync + 'static {
    /// alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n (1/ms) at v (mV), v within
    /// +-`V_RATE_LIMIT`.
    fn rates(&self, v: f64) -> [f64; 6];

    /// How synaptic variables (x_ex, x_in), plus an injected current, enter the membrane:
    /// (their current at v = 0, their conductance), so that the synaptic current is
    /// `drive - conductance v`.
    fn synaptic(&self, x: (f64, f64), injected: f64) -> (f64, f64);

    /// Whether the inhibitory input is subtracted (conductances keep its magnitude).
    const SUBTRACTS_INHIBITORY_INPUT: bool;
}

/// Neurons advanced together: four AVX2 or two AVX-512 vectors per loop, which leaves the
/// out-of-order core independent work while one vector waits on a division or an exp.
const LANES: usize = 32;

kernel_constants! {
    /// Constants of one sub-step length (one per class of neurons; Python names them with the
    /// prefix `fine_` or `quiet_`).
    pub struct SubstepConstants {
        /// Sub-steps per step (a whole number >= 1).
        n_sub,
        /// Sub-step length and its half (ms).
        h,
        h_half,
        /// Sub-step length (s), for spike offsets.
        h_seconds,
        /// Relaxation rate (1/ms) above which the excess is integrated exponentially (2.5/h).
        lambda0,
        /// Decay of the synaptic variables over half and a whole sub-step.
        p_ex_half,
        p_ex_full,
        p_in_half,
        p_in_full,
    }
}

kernel_constants! {
    /// The membrane, the spike and the classes of neurons, shared by the family.
    pub struct CellConstants {
        /// 1 / c_m.
        inv_c_m,
        /// Maximal conductances.
        g_na,
        g_k,
        g_l,
        /// Sodium and potassium reversal potentials (mV).
        e_na,
        e_k,
        /// g_l e_l + i_e: the constant part of the membrane current.
        gl_el_ie,
        /// Spike detection potential (mV).
        v_spike,
        /// Potential (mV) that makes a neuron active when it is above it or heading there.
        v_active,
        /// The step (ms).
        dt_ms,
    }
}

kernel_constants! {
    /// The squid axon's rate functions: exp(2.5), exp(3), exp(1) turn exp(-(v + 65)/10) into
    /// the exponentials of the rates centred at -40, -35 and -55 mV.
    pub struct SquidAxon {
        k_m,
        k_h,
        k_n,
    }
}

/// The kernel constants, computed in Python (the model's `constants`).
#[derive(Clone, Debug)]
pub struct HhConstants<F> {
    /// Sub-steps of active neurons (`max_substep`).
    pub fine: SubstepConstants,
    /// Sub-steps of quiet neurons (`max_substep_quiet`).
    pub quiet: SubstepConstants,
    pub cell: CellConstants,
    pub family: F,
}

impl SubstepConstants {
    fn checked(c: &mut ConstantReader, which: &str) -> Result<Self, EngineError> {
        let mode = Self::read(c, &format!("{which}_"))?;
        if !(mode.n_sub >= 1.0 && mode.n_sub.fract() == 0.0 && mode.n_sub <= 1e9) {
            return Err(invalid(&format!("hodgkin_huxley {which}_n_sub"), mode.n_sub, "a whole number >= 1"));
        }
        if !(mode.h > 0.0 && mode.h.is_finite()) {
            return Err(invalid(&format!("hodgkin_huxley {which}_h"), mode.h, "a positive length in ms"));
        }
        Ok(mode)
    }
}

impl<F> HhConstants<F> {
    /// Reads the shared constants; `family` reads the member's own.
    pub fn read(
        c: &mut ConstantReader,
        family: impl FnOnce(&mut ConstantReader) -> Result<F, EngineError>,
    ) -> Result<Self, EngineError> {
        Ok(Self {
            fine: SubstepConstants::checked(c, "fine")?,
            quiet: SubstepConstants::checked(c, "quiet")?,
            cell: CellConstants::read(c, "")?,
            family: family(c)?,
        })
    }

    /// Every constant's name, as the Python model's `constants` gives them: the shared ones
    /// and the member's `family_names`.
    pub fn names(family_names: &[&str]) -> Vec<String> {
        let prefixed = |prefix: &'static str| SubstepConstants::NAMES.iter().map(move |n| format!("{prefix}{n}"));
        let shared = CellConstants::NAMES.iter().chain(family_names).map(|n| n.to_string());
        prefixed("fine_").chain(prefixed("quiet_")).chain(shared).collect()
    }
}

impl Family for SquidAxon {
    /// The textbook rates, from one exponential: exp(-(v + 65)/720) to the powers 9, 36, 40,
    /// 72 gives the exponentials with denominators 80, 20, 18, 10 mV (720 = lcm(10, 18, 20,
    /// 80)).
    #[inline(always)]
    fn rates(&self, v: f64) -> [f64; 6] {
        // |argument| <= 1.5: no clamping needed inside the exponential.
        let b = fastmath::exp_in_range((v + 65.0) * NEG_INV_720);
        let b2 = b * b;
        let b4 = b2 * b2;
        let b8 = b4 * b4;
        let e80 = b8 * b;
        let e40 = e80 * e80;
        let e20 = e40 * e40;
        let e18 = e20 * b4;
        let e10 = e20 * e20;
        let (num_m, den_m) = vtrap(mul_add(v, 0.1, 4.0), e10, self.k_m);
        let (num_n, den_n) = vtrap(mul_add(v, 0.1, 5.5), e10, self.k_n);
        let den_h = mul_add(e10, self.k_h, 1.0);
        // One division gives the three reciprocals 1/den_m, 1/den_n, 1/den_h.
        let dd = den_m * den_n;
        let q = 1.0 / (dd * den_h);
        let qh = q * den_h;
        [num_m * (qh * den_n), 4.0 * e18, 0.07 * e20, q * dd, 0.1 * num_n * (qh * den_m), 0.125 * e80]
    }

    /// Synaptic currents (µA/cm²): the injected current adds to them, no conductance.
    #[inline(always)]
    fn synaptic(&self, (i_ex, i_in): (f64, f64), injected: f64) -> (f64, f64) {
        (i_ex + i_in + injected, 0.0)
    }

    const SUBTRACTS_INHIBITORY_INPUT: bool = false;
}

pub const MODEL: Model = Model {
    name: "hodgkin_huxley",
    state: STATE,
    constant_names: || HhConstants::<SquidAxon>::names(SquidAxon::NAMES),
    new: |c: &mut ConstantReader, _key| {
        Ok(Box::new(HodgkinHuxley::new(HhConstants::read(c, |c| SquidAxon::read(c, ""))?)))
    },
};

#[derive(Clone, Debug)]
pub struct HodgkinHuxley<F> {
    pub c: HhConstants<F>,
    /// Scratch: the block's neurons ordered active first (kept so the step does not allocate).
    order: Vec<u32>,
}

impl<F> HodgkinHuxley<F> {
    pub fn new(c: HhConstants<F>) -> Self {
        Self { c, order: Vec::new() }
    }
}

impl<F: Family> Kernel for HodgkinHuxley<F> {
    fn update(
        &mut self,
        ctx: &StepContext,
        state: &mut [Vec<f64>],
        input_ex: &mut [f64],
        input_in: &mut [f64],
        spiked: &mut [u8],
        spike_offset: &mut [f64],
    ) {
        update_then_add_input(self, ctx, state, input_ex, input_in, spiked, spike_offset);
    }

    fn precise_spike_times(&self) -> bool {
        true
    }

    fn input_after_step(&mut self) -> Option<&mut dyn InputAfterStep> {
        Some(self)
    }
}

impl<F: Family> InputAfterStep for HodgkinHuxley<F> {
    /// The input is added to the synaptic variables at the end of the step.
    fn input_variables(&self) -> &'static [usize] {
        &[SYN_EX, SYN_IN]
    }

    fn subtracts_inhibitory_input(&self) -> bool {
        F::SUBTRACTS_INHIBITORY_INPUT
    }

    fn update_without_input(
        &mut self,
        ctx: &StepContext,
        state: &mut [Vec<f64>],
        spiked: &mut [u8],
        spike_offset: &mut [f64],
    ) {
        update(&self.c, state, ctx.current, spiked, spike_offset, &mut self.order);
    }
}

/// See `SquidAxon::rates`.
const NEG_INV_720: f64 = -1.0 / 720.0;
/// Below this |x|, x / (1 - exp(-x)) is evaluated by its Taylor series (removable singularity).
pub(crate) const VTRAP_SMALL: f64 = 0.05;
const INV_12: f64 = 1.0 / 12.0;
const INV_720: f64 = 1.0 / 720.0;
/// A sub-step in which v would move by more than this (mV, at its initial rate) also takes the
/// membrane's stiffness at the predicted end of the sub-step into account (very strong drive).
const VIOLENT_DV: f64 = 20.0;
/// The rate functions are evaluated at v limited to +-this (mV), where they stay finite.
pub const V_RATE_LIMIT: f64 = 1000.0;
/// Below |z| = 0.5 the ETDRK4 weights come from Taylor series (their closed forms cancel).
const ETD_TAYLOR_LIMIT: f64 = 0.5;
/// RK4's weights: what the ETDRK4 weights are at z = 0.
const SIXTH: f64 = 1.0 / 6.0;
const THIRD: f64 = 1.0 / 3.0;

/// Taylor coefficients, lowest degree first, of phi1(x) = (e^x - 1)/x (for |x| <= 0.25) and of
/// the ETDRK4 weights w1 = phi1 - 3 phi2 + 4 phi3, w2 = 2 phi2 - 4 phi3, w4 = 4 phi3 - phi2 (for
/// |z| <= 0.5): the values Python computes exactly with fractions and rounds to f64.
const PHI1_TAYLOR: [f64; 12] = [
    1.0,
    0.5,
    0.16666666666666666,
    0.041666666666666664,
    0.008333333333333333,
    0.001388888888888889,
    0.0001984126984126984,
    2.48015873015873e-05,
    2.7557319223985893e-06,
    2.755731922398589e-07,
    2.505210838544172e-08,
    2.08767569878681e-09,
];
const W1_TAYLOR: [f64; 15] = [
    0.16666666666666666,
    0.16666666666666666,
    0.075,
    0.022222222222222223,
    0.00496031746031746,
    0.0008928571428571428,
    0.00013503086419753085,
    1.763668430335097e-05,
    2.0292207792207792e-06,
    2.08767569878681e-07,
    1.9431443042554154e-08,
    1.6517873660730804e-09,
    1.292370670677549e-10,
    9.367775571479276e-12,
    6.325778822277421e-13,
];
const W2_TAYLOR: [f64; 15] = [
    0.3333333333333333,
    0.16666666666666666,
    0.05,
    0.011111111111111112,
    0.001984126984126984,
    0.00029761904761904765,
    3.8580246913580246e-05,
    4.409171075837742e-06,
    4.5093795093795094e-07,
    4.17535139757362e-08,
    3.532989644100755e-09,
    2.752978943455134e-10,
    1.9882625702731522e-11,
    1.3382536530684678e-12,
    8.434371763036563e-14,
];
const W4_TAYLOR: [f64; 15] = [
    0.16666666666666666,
    0.0,
    -0.008333333333333333,
    -0.002777777777777778,
    -0.0005952380952380953,
    -9.92063492063492e-05,
    -1.3778659611992945e-05,
    -1.6534391534391535e-06,
    -1.7536475869809203e-07,
    -1.670140559029448e-08,
    -1.4453139453139454e-09,
    -1.1470745597729724e-10,
    -8.411880105001798e-12,
    -5.735372798864862e-13,
    -3.654894430649177e-14,
];

/// x / (1 - e) with e = e10 k = exp(-x), as a numerator and a denominator that never vanish.
#[inline(always)]
pub(crate) fn vtrap(x: f64, e10: f64, k: f64) -> (f64, f64) {
    let small = x.abs() < VTRAP_SMALL;
    (if small { vtrap_taylor(x) } else { x }, if small { 1.0 } else { mul_add(-e10, k, 1.0) })
}

/// x / (1 - exp(-x)) = 1 + x/2 + x²/12 - x⁴/720 + ..., for |x| < `VTRAP_SMALL`.
#[inline(always)]
pub(crate) fn vtrap_taylor(x: f64) -> f64 {
    mul_add(x, mul_add(x, mul_add(-x * x, INV_720, INV_12), 0.5), 1.0)
}

/// `x` limited to [lo, hi] by compares (NaN stays NaN, like `np.clip`).
#[inline(always)]
pub(crate) fn clip(x: f64, lo: f64, hi: f64) -> f64 {
    let x = if x < lo { lo } else { x };
    if x > hi {
        hi
    } else {
        x
    }
}

/// dv/dt (mV/ms) and the total membrane conductance, with the synapses' (drive, conductance).
#[inline(always)]
fn membrane<F>(c: &HhConstants<F>, y: [f64; 4], (syn_drive, syn_g): (f64, f64)) -> (f64, f64) {
    let [v, m, h, n] = y;
    let g_na = c.cell.g_na * (m * m * m * h);
    let n2 = n * n;
    let g_k = c.cell.g_k * (n2 * n2);
    let g_total = g_na + g_k + c.cell.g_l + syn_g;
    // sum of g_x (e_x - v) + i_e + i_syn, as (sum of g_x e_x + i_e + i_syn) - g_total v
    let drive = mul_add(g_na, c.cell.e_na, mul_add(g_k, c.cell.e_k, c.cell.gl_el_ie + syn_drive));
    (mul_add(-g_total, v, drive) * c.cell.inv_c_m, g_total)
}

/// dy/dt (per ms) of y = (v, m, h, n) and each variable's own relaxation rate (1/ms), with
/// the synapses' (drive, conductance) `syn` (`Family::synaptic`). Callers that ignore the
/// rates let the compiler drop their arithmetic.
#[inline(always)]
fn derivatives<F: Family>(c: &HhConstants<F>, y: [f64; 4], syn: (f64, f64)) -> ([f64; 4], [f64; 4]) {
    // Gates are evaluated clipped to [0, 1], where they live: the stages of a sub-step that is
    // unstable under extreme drive stay bounded and the next sub-steps recover.
    let y = [y[0], clip(y[1], 0.0, 1.0), clip(y[2], 0.0, 1.0), clip(y[3], 0.0, 1.0)];
    let [v, m, h, n] = y;
    let [alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n] = c.family.rates(clip(v, -V_RATE_LIMIT, V_RATE_LIMIT));
    let (dv, g_total) = membrane(c, y, syn);
    let lambda = [g_total * c.cell.inv_c_m, alpha_m + beta_m, alpha_h + beta_h, alpha_n + beta_n];
    // dx/dt = alpha (1 - x) - beta x = alpha - (alpha + beta) x
    let f = [dv, mul_add(-lambda[1], m, alpha_m), mul_add(-lambda[2], h, alpha_h), mul_add(-lambda[3], n, alpha_n)];
    (f, lambda)
}

#[inline(always)]
fn horner<const N: usize>(coefficients: &[f64; N], x: f64) -> f64 {
    let mut acc = coefficients[N - 1];
    for &coefficient in coefficients[..N - 1].iter().rev() {
        acc = acc * x + coefficient;
    }
    acc
}

/// ETDRK4 coefficients of one variable with linear part `lin` <= 0 (1/ms), z = h lin:
/// exp(z/2), exp(z), (h/2) phi1(z/2), w1(z), w2(z), w4(z).
#[inline(always)]
fn etd_weights(mode: &SubstepConstants, lin: f64) -> [f64; 6] {
    let z = mode.h * lin;
    let zh = mode.h_half * lin;
    let e2 = fastmath::exp(zh);
    let e = e2 * e2;
    let small = z > -ETD_TAYLOR_LIMIT;
    // Closed forms where |z| >= 0.5; elsewhere they are evaluated on z = -1 (and e2 as it
    // is), which keeps them finite, and discarded.
    let zs = if small { -1.0 } else { z };
    let es = e2;
    let inv_z = 1.0 / zs;
    let iz3 = inv_z * inv_z * inv_z;
    let ee = es * es;
    let phi1h = if small { horner(&PHI1_TAYLOR, zh) } else { (es - 1.0) * (2.0 * inv_z) };
    let w1 = if small { horner(&W1_TAYLOR, z) } else { (-4.0 - zs + ee * (4.0 - 3.0 * zs + zs * zs)) * iz3 };
    let w2 = if small { horner(&W2_TAYLOR, z) } else { (4.0 + 2.0 * zs + ee * (2.0 * zs - 4.0)) * iz3 };
    let w4 = if small { horner(&W4_TAYLOR, z) } else { (-4.0 - 3.0 * zs - zs * zs + ee * (4.0 - zs)) * iz3 };
    [e2, e, mode.h_half * phi1h, w1, w2, w4]
}

type Lanes = [f64; LANES];
type Vars = [Lanes; 4];

/// Per-chunk working set: state, synaptic variables, injected current and the first spike
/// crossing of the step.
struct Chunk {
    y: Vars,
    syn_ex: Lanes,
    syn_in: Lanes,
    injected: Lanes,
    /// Sub-step index of the first upward crossing of v_spike in this step, or -1.
    crossed_at: Lanes,
    v_before: Lanes,
    v_after: Lanes,
}

#[inline(always)]
fn column(y: &Vars, k: usize) -> [f64; 4] {
    [y[0][k], y[1][k], y[2][k], y[3][k]]
}

/// One sub-step of the chunk. `STIFF = false` is the RK4 special case (every lin is 0): the
/// weights are compile-time constants there, so the same code computes the same numbers.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn substep<F: Family, const STIFF: bool>(
    c: &HhConstants<F>,
    mode: &SubstepConstants,
    ch: &mut Chunk,
    j: f64,
    f0: &Vars,
    lin: &Vars,
    stiff_vars: [bool; 4],
    syn_mid: &[Lanes; 2],
    syn_end: &[Lanes; 2],
) {
    let rk4_weights = [1.0, 1.0, mode.h_half, SIXTH, THIRD, SIXTH];
    let mut weights = [[[0.0; LANES]; 6]; 4];
    if STIFF {
        for (q, wq) in weights.iter_mut().enumerate() {
            for (slot, value) in wq.iter_mut().zip(rk4_weights) {
                *slot = [value; LANES];
            }
            if stiff_vars[q] {
                // Usually a few lanes of the chunk (spike peaks): compute their weights only.
                // A lane with lin = 0 would get RK4's weights from etd_weights as well.
                for k in 0..LANES {
                    if lin[q][k] != 0.0 {
                        let w = etd_weights(mode, lin[q][k]);
                        for (slot, value) in wq.iter_mut().zip(w) {
                            slot[k] = value;
                        }
                    }
                }
            }
        }
    }
    // (exp(z/2), exp(z), (h/2) phi1(z/2), w1, w2, w4) of variable q in lane k.
    let w = |q: usize, i: usize, k: usize| -> f64 {
        if STIFF {
            weights[q][i][k]
        } else {
            rk4_weights[i]
        }
    };
    // The part of dy/dt that the Runge-Kutta stages integrate: f - lin y.
    let residual = |f: f64, q: usize, k: usize, y: f64| -> f64 {
        if STIFF {
            mul_add(-lin[q][k], y, f)
        } else {
            f
        }
    };
    let mut n0 = [[0.0; LANES]; 4];
    let mut ya = [[0.0; LANES]; 4];
    let mut na = [[0.0; LANES]; 4];
    for k in 0..LANES {
        let mut a = [0.0; 4];
        for q in 0..4 {
            n0[q][k] = residual(f0[q][k], q, k, ch.y[q][k]);
            a[q] = mul_add(w(q, 2, k), n0[q][k], w(q, 0, k) * ch.y[q][k]);
            ya[q][k] = a[q];
        }
        let (fa, _) = derivatives(c, a, (syn_mid[0][k], syn_mid[1][k]));
        for q in 0..4 {
            na[q][k] = residual(fa[q], q, k, a[q]);
        }
    }
    let mut nb = [[0.0; LANES]; 4];
    for k in 0..LANES {
        let mut b = [0.0; 4];
        for q in 0..4 {
            b[q] = mul_add(w(q, 2, k), na[q][k], w(q, 0, k) * ch.y[q][k]);
        }
        let (fb, _) = derivatives(c, b, (syn_mid[0][k], syn_mid[1][k]));
        for q in 0..4 {
            nb[q][k] = residual(fb[q], q, k, b[q]);
        }
    }
    for k in 0..LANES {
        let mut cc = [0.0; 4];
        for q in 0..4 {
            cc[q] = mul_add(w(q, 2, k), mul_add(2.0, nb[q][k], -n0[q][k]), w(q, 0, k) * ya[q][k]);
        }
        let (fc, _) = derivatives(c, cc, (syn_end[0][k], syn_end[1][k]));
        let v_old = ch.y[0][k];
        for q in 0..4 {
            let nc = residual(fc[q], q, k, cc[q]);
            let combination = mul_add(w(q, 5, k), nc, mul_add(w(q, 4, k), na[q][k] + nb[q][k], w(q, 3, k) * n0[q][k]));
            let y_new = mul_add(mode.h, combination, w(q, 1, k) * ch.y[q][k]);
            ch.y[q][k] = if q == 0 { y_new } else { clip(y_new, 0.0, 1.0) };
        }
        let v_new = ch.y[0][k];
        let first = ch.crossed_at[k] < 0.0 && v_old < c.cell.v_spike && v_new >= c.cell.v_spike;
        ch.crossed_at[k] = if first { j } else { ch.crossed_at[k] };
        ch.v_before[k] = if first { v_old } else { ch.v_before[k] };
        ch.v_after[k] = if first { v_new } else { ch.v_after[k] };
        ch.syn_ex[k] *= mode.p_ex_full;
        ch.syn_in[k] *= mode.p_in_full;
    }
}

/// Runs all sub-steps of one step on a loaded chunk.
fn advance_chunk<F: Family>(c: &HhConstants<F>, mode: &SubstepConstants, ch: &mut Chunk) {
    for j in 0..mode.n_sub as usize {
        // The synapses' (drive, conductance) at the start, middle and end of the sub-step.
        let (mut syn_start, mut syn_mid, mut syn_end) = ([[0.0; LANES]; 2], [[0.0; LANES]; 2], [[0.0; LANES]; 2]);
        for k in 0..LANES {
            let (ex, inh, injected) = (ch.syn_ex[k], ch.syn_in[k], ch.injected[k]);
            let stages =
                [(ex, inh), (ex * mode.p_ex_half, inh * mode.p_in_half), (ex * mode.p_ex_full, inh * mode.p_in_full)];
            for (syn, x) in [&mut syn_start, &mut syn_mid, &mut syn_end].into_iter().zip(stages) {
                (syn[0][k], syn[1][k]) = c.family.synaptic(x, injected);
            }
        }
        let mut f0 = [[0.0; LANES]; 4];
        let mut lambda = [[0.0; LANES]; 4];
        let mut violent = [false; LANES];
        for k in 0..LANES {
            let (f, l) = derivatives(c, column(&ch.y, k), (syn_start[0][k], syn_start[1][k]));
            for q in 0..4 {
                f0[q][k] = f[q];
                lambda[q][k] = l[q];
            }
            violent[k] = (mode.h * f[0]).abs() > VIOLENT_DV;
        }
        if violent.iter().any(|&x| x) {
            // Where v moves far within the sub-step (a strong synaptic kick), the gates can open
            // so far that the membrane's rate at the start of the sub-step understates its
            // stiffness: take the larger of that and the rate at Euler-predicted gates.
            for k in 0..LANES {
                let mut g_pred = [0.0; 4];
                for q in 0..4 {
                    g_pred[q] = clip(ch.y[q][k] + mode.h * f0[q][k], 0.0, 1.0);
                }
                let lambda_pred = membrane(c, g_pred, (syn_start[0][k], syn_start[1][k])).1 * c.cell.inv_c_m;
                let l = lambda[0][k];
                let larger = if lambda_pred > l { lambda_pred } else { l };
                lambda[0][k] = if violent[k] { larger } else { l };
            }
        }
        let mut lin = [[0.0; LANES]; 4];
        let mut stiff_vars = [false; 4];
        for q in 0..4 {
            for k in 0..LANES {
                let excess = lambda[q][k] - mode.lambda0;
                let l = if excess > 0.0 { -excess } else { 0.0 };
                lin[q][k] = l;
                stiff_vars[q] |= l != 0.0;
            }
        }
        let (jf, f0, lin) = (j as f64, &f0, &lin);
        if stiff_vars.iter().any(|&s| s) {
            substep::<F, true>(c, mode, ch, jf, f0, lin, stiff_vars, &syn_mid, &syn_end);
        } else {
            substep::<F, false>(c, mode, ch, jf, f0, lin, stiff_vars, &syn_mid, &syn_end);
        }
    }
}

/// The state variables of a block, as `update` receives them, and the injected current.
struct StateSlices<'a> {
    v: &'a mut [f64],
    m: &'a mut [f64],
    h: &'a mut [f64],
    n: &'a mut [f64],
    syn_ex: &'a mut [f64],
    syn_in: &'a mut [f64],
    /// Empty without current sources.
    injected: &'a [f64],
}

/// Advances the neurons `idx` (at most LANES of them) of the block with the sub-steps `mode`.
fn run_chunk<F: Family>(
    c: &HhConstants<F>,
    mode: &SubstepConstants,
    b: &mut StateSlices,
    idx: &[u32],
    spiked: &mut [u8],
    spike_offset: &mut [f64],
) {
    // Lanes past the end of the list repeat its first neuron, a harmless valid state.
    let gather = |x: &[f64]| -> Lanes {
        let mut lanes = [x[idx[0] as usize]; LANES];
        for (lane, &i) in lanes.iter_mut().zip(idx) {
            *lane = x[i as usize];
        }
        lanes
    };
    let mut ch = Chunk {
        y: [gather(b.v), gather(b.m), gather(b.h), gather(b.n)],
        syn_ex: gather(b.syn_ex),
        syn_in: gather(b.syn_in),
        injected: if b.injected.is_empty() { [0.0; LANES] } else { gather(b.injected) },
        crossed_at: [-1.0; LANES],
        v_before: [0.0; LANES],
        v_after: [1.0; LANES],
    };
    advance_chunk(c, mode, &mut ch);
    for (k, &i) in idx.iter().enumerate() {
        let g = i as usize;
        b.v[g] = ch.y[0][k];
        b.m[g] = ch.y[1][k];
        b.h[g] = ch.y[2][k];
        b.n[g] = ch.y[3][k];
        b.syn_ex[g] = ch.syn_ex[k];
        b.syn_in[g] = ch.syn_in[k];
        let spike = ch.crossed_at[k] >= 0.0;
        let fraction = (c.cell.v_spike - ch.v_before[k]) / (ch.v_after[k] - ch.v_before[k]);
        spiked[g] = spike as u8;
        spike_offset[g] = if spike { (ch.crossed_at[k] + fraction) * mode.h_seconds } else { 0.0 };
    }
}

/// Advances every neuron by one step: `spiked[k]` is 1 where v crossed `v_spike` upwards, and
/// `spike_offset[k]` the time of that crossing in seconds from the start of the step (0 where
/// there was no spike). The step's input is added to the synaptic currents afterwards
/// (`InputAfterStep`); `order` is scratch space for the neurons' order.
fn update<F: Family>(
    c: &HhConstants<F>,
    state: &mut [Vec<f64>],
    injected: Option<&[f64]>,
    spiked: &mut [u8],
    spike_offset: &mut [f64],
    order: &mut Vec<u32>,
) {
    let [v, m, h, n, syn_ex, syn_in] = state else { unreachable!("hodgkin-huxley state has {N_STATE} variables") };
    let len = v.len();
    if len == 0 {
        return;
    }
    let mut b = StateSlices {
        v: &mut v[..len],
        m: &mut m[..len],
        h: &mut h[..len],
        n: &mut n[..len],
        syn_ex: &mut syn_ex[..len],
        syn_in: &mut syn_in[..len],
        injected: injected.map_or(&[], |i| &i[..len]),
    };
    let (spiked, spike_offset) = (&mut spiked[..len], &mut spike_offset[..len]);
    update_in_order(c, &mut b, spiked, spike_offset, order);
}

/// Neuron indices into `order`: the active ones from the front, the quiet ones from the back;
/// then each class in chunks of `LANES` with its sub-steps.
fn update_in_order<F: Family>(
    c: &HhConstants<F>,
    b: &mut StateSlices,
    spiked: &mut [u8],
    spike_offset: &mut [f64],
    order: &mut Vec<u32>,
) {
    let len = b.v.len();
    order.clear();
    order.resize(len, 0);
    let n_active = if c.fine == c.quiet {
        for (k, slot) in order.iter_mut().enumerate() {
            *slot = k as u32;
        }
        len
    } else {
        let (mut front, mut back) = (0, len);
        for k in 0..len {
            let y = [b.v[k], b.m[k], b.h[k], b.n[k]];
            let injected = b.injected.get(k).copied().unwrap_or(0.0);
            let (dv, _) = membrane(c, y, c.family.synaptic((b.syn_ex[k], b.syn_in[k]), injected));
            let active = b.v[k] > c.cell.v_active || b.v[k] + c.cell.dt_ms * dv > c.cell.v_active;
            if active {
                order[front] = k as u32;
                front += 1;
            } else {
                back -= 1;
                order[back] = k as u32;
            }
        }
        front
    };
    let (active, quiet) = order.split_at(n_active);
    for (mode, list) in [(&c.fine, active), (&c.quiet, quiet)] {
        for idx in list.chunks(LANES) {
            run_chunk(c, mode, b, idx, spiked, spike_offset);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The constants `HodgkinHuxleyNeuron.constants` computes for the default parameters with
    /// bias current `i_e` (µA/cm²) and step `dt` (s).
    fn constants(i_e: f64, dt: f64) -> HhConstants<SquidAxon> {
        let mode = |max_substep: f64| {
            let n_sub = (dt / max_substep - 1e-9 * dt / max_substep).ceil().max(1.0);
            let h = dt * 1e3 / n_sub;
            let tau = 2.0;
            SubstepConstants {
                n_sub,
                h,
                h_half: 0.5 * h,
                h_seconds: dt / n_sub,
                lambda0: 2.5 / h,
                p_ex_half: (-0.5 * h / tau).exp(),
                p_ex_full: (-h / tau).exp(),
                p_in_half: (-0.5 * h / tau).exp(),
                p_in_full: (-h / tau).exp(),
            }
        };
        let cell = CellConstants {
            inv_c_m: 1.0,
            g_na: 120.0,
            g_k: 36.0,
            g_l: 0.3,
            e_na: 50.0,
            e_k: -77.0,
            gl_el_ie: 0.3 * -54.387 + i_e,
            v_spike: 0.0,
            v_active: -55.0,
            dt_ms: dt * 1e3,
        };
        let family = SquidAxon { k_m: 2.5f64.exp(), k_h: 3.0f64.exp(), k_n: 1.0f64.exp() };
        HhConstants { fine: mode(1.25e-4), quiet: mode(2.5e-4), cell, family }
    }

    /// One step of every neuron, with this step's input.
    fn update(
        c: &HhConstants<SquidAxon>,
        state: &mut [Vec<f64>],
        input_ex: &[f64],
        input_in: &[f64],
        spiked: &mut [u8],
        spike_offset: &mut [f64],
    ) {
        let mut kernel = HodgkinHuxley::new(c.clone());
        let ctx = StepContext { step: 0, gids: &[], current: None };
        let (mut ex, mut inh) = (input_ex.to_vec(), input_in.to_vec());
        kernel.update(&ctx, state, &mut ex, &mut inh, spiked, spike_offset);
    }

    fn rest_state(n: usize) -> Vec<Vec<f64>> {
        // v = -65 mV and the gates at their steady state there.
        vec![
            vec![-65.0; n],
            vec![0.052_932_485_257_250_93; n],
            vec![0.596_120_753_508_460_5; n],
            vec![0.317_676_913_607_969_2; n],
            vec![0.0; n],
            vec![0.0; n],
        ]
    }

    /// Runs `steps` steps; returns the spike times (ms) of neuron 0.
    fn run(
        c: &HhConstants<SquidAxon>,
        state: &mut [Vec<f64>],
        steps: usize,
        kick: impl Fn(usize) -> (Vec<f64>, Vec<f64>),
    ) -> Vec<f64> {
        let n = state[0].len();
        let (mut spiked, mut offset) = (vec![0u8; n], vec![0.0; n]);
        let mut times = Vec::new();
        for s in 0..steps {
            let (ex, inh) = kick(s);
            update(c, state, &ex, &inh, &mut spiked, &mut offset);
            if spiked[0] == 1 {
                times.push(s as f64 * c.cell.dt_ms + offset[0] * 1e3);
            }
        }
        times
    }

    #[test]
    fn constants_are_read_by_name_and_checked() {
        let good = constants(0.0, 1e-3);
        let mut named = HashMap::new();
        good.fine.write("fine_", &mut named);
        good.quiet.write("quiet_", &mut named);
        good.cell.write("", &mut named);
        good.family.write("", &mut named);
        let mut names: Vec<&String> = named.keys().collect();
        names.sort();
        let mut expected = HhConstants::<SquidAxon>::names(SquidAxon::NAMES);
        expected.sort();
        assert_eq!(names, expected.iter().collect::<Vec<_>>());
        let read = |map: &HashMap<String, f64>| MODEL.kernel(map, 0);
        assert!(read(&named).is_ok());
        let mut missing = named.clone();
        missing.remove("quiet_h");
        assert!(matches!(read(&missing), Err(EngineError::Constant { name, .. }) if name == "quiet_h"));
        for bad_n_sub in [0.0, 2.5, f64::NAN] {
            let mut bad = named.clone();
            bad.insert("fine_n_sub".to_string(), bad_n_sub);
            assert!(matches!(read(&bad), Err(EngineError::InvalidArgument { .. })));
        }
        assert_eq!((good.fine.n_sub, good.quiet.n_sub), (8.0, 4.0));
    }

    #[test]
    fn etd_weights_reduce_to_rk4_weights_at_zero() {
        let c = constants(0.0, 1e-3);
        assert_eq!(etd_weights(&c.fine, 0.0), [1.0, 1.0, c.fine.h_half, SIXTH, THIRD, SIXTH]);
    }

    #[test]
    fn etd_weights_series_and_closed_forms_agree() {
        let c = constants(0.0, 1e-3);
        let h = c.fine.h;
        // Just inside and outside the series' range, and the two forms at the same point.
        let inside = etd_weights(&c.fine, -0.5 * (1.0 - 1e-14) / h);
        let outside = etd_weights(&c.fine, -0.5 * (1.0 + 1e-14) / h);
        for (a, b) in inside.iter().zip(outside) {
            assert!((a - b).abs() < 1e-12 * a.abs(), "{inside:?} vs {outside:?}");
        }
        // Closed forms at z = -4 (well conditioned there).
        let z: f64 = -4.0;
        let e = z.exp();
        let w = etd_weights(&c.fine, z / h);
        let expected = [
            (z / 2.0).exp(),
            e,
            c.fine.h_half * ((z / 2.0).exp() - 1.0) / (z / 2.0),
            (-4.0 - z + e * (4.0 - 3.0 * z + z * z)) / z.powi(3),
            2.0 * (2.0 + z + e * (z - 2.0)) / z.powi(3),
            (-4.0 - 3.0 * z - z * z + e * (4.0 - z)) / z.powi(3),
        ];
        for (a, b) in w.iter().zip(expected) {
            assert!((a - b).abs() <= 1e-14 * b.abs(), "{w:?} vs {expected:?}");
        }
    }

    #[test]
    fn rest_is_steady_and_silent() {
        let c = constants(0.0, 1e-3);
        let mut state = rest_state(5);
        let spikes = run(&c, &mut state, 200, |_| (vec![0.0; 5], vec![0.0; 5]));
        assert!(spikes.is_empty());
        assert!(state[0].iter().all(|v| (v + 65.0).abs() < 0.01), "{:?}", state[0]);
    }

    #[test]
    fn constant_current_fires_on_time() {
        // Reference: scipy DOP853 at rtol 1e-10 (tests/engines/test_hodgkin_huxley.py).
        let expected = [1.900_971_95, 16.822_582_65, 31.471_826_64];
        for dt in [1e-3, 1e-4] {
            let c = constants(10.0, dt);
            let mut state = rest_state(1);
            let steps = (35e-3 / dt).round() as usize;
            let spikes = run(&c, &mut state, steps, |_| (vec![0.0], vec![0.0]));
            assert_eq!(spikes.len(), 3, "{spikes:?}");
            for (t, e) in spikes.iter().zip(expected) {
                assert!((t - e).abs() < 0.02, "dt {dt}: {spikes:?} vs {expected:?}");
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_how_neurons_are_split_into_blocks() {
        let c = constants(4.0, 1e-3);
        let n = 70;
        let mut whole = rest_state(n);
        whole[0] = (0..n).map(|k| -80.0 + (k as f64 * 7.3) % 60.0).collect();
        whole[4] = (0..n).map(|k| (k % 9) as f64).collect();
        let mut parts: Vec<Vec<Vec<f64>>> =
            [0..5, 5..37, 37..n].into_iter().map(|r| whole.iter().map(|x| x[r.clone()].to_vec()).collect()).collect();
        let (mut spiked, mut offset) = (vec![0u8; n], vec![0.0; n]);
        let (mut spiked_parts, mut offset_parts) = (vec![0u8; n], vec![0.0; n]);
        for s in 0..60 {
            let ex: Vec<f64> = (0..n).map(|k| if (k + s) % 11 == 0 { 30.0 } else { 0.0 }).collect();
            let inh: Vec<f64> = (0..n).map(|k| if (k + s) % 13 == 0 { -40.0 } else { 0.0 }).collect();
            update(&c, &mut whole, &ex, &inh, &mut spiked, &mut offset);
            let mut start = 0;
            for part in parts.iter_mut() {
                let end = start + part[0].len();
                update(
                    &c,
                    part,
                    &ex[start..end],
                    &inh[start..end],
                    &mut spiked_parts[start..end],
                    &mut offset_parts[start..end],
                );
                start = end;
            }
            assert_eq!(spiked, spiked_parts);
            assert_eq!(offset, offset_parts);
        }
        let joined: Vec<Vec<f64>> = (0..N_STATE).map(|q| parts.iter().flat_map(|p| p[q].clone()).collect()).collect();
        assert_eq!(whole, joined);
    }

    #[test]
    fn extreme_kicks_stay_finite_and_gates_bounded() {
        for dt in [1e-3, 1e-4] {
            let c = constants(0.0, dt);
            let mut state = rest_state(4);
            let kicks = [-5000.0, -500.0, 500.0, 5000.0];
            let steps = (0.02 / dt).round() as usize;
            run(&c, &mut state, steps, |s| {
                let on = if s == 0 { 1.0 } else { 0.0 };
                (
                    kicks.iter().map(|&k: &f64| on * k.max(0.0)).collect(),
                    kicks.iter().map(|&k: &f64| on * k.min(0.0)).collect(),
                )
            });
            assert!(state.iter().flatten().all(|x| x.is_finite()));
            assert!(state[1..4].iter().flatten().all(|&g| (0.0..=1.0).contains(&g)));
        }
    }

    #[test]
    fn empty_block_is_a_no_op() {
        let c = constants(0.0, 1e-3);
        let mut state = rest_state(0);
        update(&c, &mut state, &[], &[], &mut [], &mut []);
    }
}
