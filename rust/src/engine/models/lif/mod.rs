//! Current-based leaky integrate-and-fire with exponential synaptic currents (NEST iaf_psc_exp),
//! integrated exactly: the propagators are computed in Python for the step `dt`.
//!
//! Order within a step (as NEST): membrane propagates unless refractory, currents decay, this
//! step's input is added to the currents, threshold is checked and the neuron reset. The input
//! reaches the membrane only one step later, so the kernel takes it after the step
//! (`InputAfterStep`, sparsely when few neurons got any) and can compute two steps in one pass
//! (`PairStep`). Refractory neurons are listed aside (`refractory_list`).

mod refractory_list;

use super::constants::{kernel_constants, ConstantReader};
use super::{names_of, update_then_add_input, InputAfterStep, Kernel, Model, PairStep, StepContext};
use refractory_list::{is_refractory, RefractoryList};

/// State variables: v (mV), i_syn_ex (pA), i_syn_in (pA), refractory steps left.
pub const STATE: &[&str] = &["v", "i_syn_ex", "i_syn_in", "refractory"];
pub const N_STATE: usize = 4;

kernel_constants! {
    /// The propagators of one step and the thresholds (`LIF.constants` in Python).
    pub struct LifConstants {
        /// Membrane decay over a step, exp(-dt/tau_m).
        p22,
        /// Current decays over a step, exp(-dt/tau_syn_x).
        p11_ex,
        p11_in,
        /// Membrane response (mV per pA) over a step to each current.
        p21_ex,
        p21_in,
        /// Constant part of the membrane update: v_rest (1 - p22) plus what i_e adds (mV).
        v_const,
        v_th,
        v_reset,
        /// The refractory period in steps (t_ref/dt rounded as NEST rounds it).
        refractory_steps,
    }
}

pub const MODEL: Model = Model {
    name: "lif",
    state: STATE,
    constant_names: || names_of(LifConstants::NAMES),
    new: |c: &mut ConstantReader, _key| Ok(Box::new(Lif::new(LifConstants::read(c, "")?))),
};

/// The kernel of one block: constants and the block's refractory neurons.
#[derive(Clone, Debug)]
pub struct Lif {
    pub c: LifConstants,
    refractory: RefractoryList,
}

impl Lif {
    pub fn new(c: LifConstants) -> Self {
        Self { c, refractory: RefractoryList::default() }
    }
}

impl Kernel for Lif {
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

    /// Starts the refractory period of the neurons that spiked this step.
    fn after_spikes(&mut self, state: &mut [Vec<f64>], spiking: &[u32]) {
        self.refractory.start(self.c.refractory_steps, spiking, &mut state[REFRACTORY]);
    }

    /// Brings the refractory counters in `state` up to date (the list keeps them during a run).
    fn sync_state(&self, state: &mut [Vec<f64>]) {
        self.refractory.sync(&mut state[REFRACTORY]);
    }

    fn input_after_step(&mut self) -> Option<&mut dyn InputAfterStep> {
        Some(self)
    }
}

impl InputAfterStep for Lif {
    fn input_variables(&self) -> &'static [usize] {
        &[I_EX, I_IN]
    }

    /// Membrane, current decay, threshold and reset densely, with one byte per neuron saying
    /// whether it is refractory, then the counters of the few refractory ones. Nothing here
    /// reads the step's input (it reaches the membrane one step later).
    fn update_without_input(
        &mut self,
        _ctx: &StepContext,
        state: &mut [Vec<f64>],
        spiked: &mut [u8],
        _spike_offset: &mut [f64],
    ) {
        let [v, i_ex, i_in, refractory] = state else { unreachable!("lif state has {N_STATE} variables") };
        let held = self.refractory.held(refractory);
        step_dense(&self.c, v, i_ex, i_in, held, spiked);
        self.refractory.count_down(refractory, spiked);
    }

    /// The currents are never -0.0 (see `step_neuron`).
    fn takes_sparse_input(&self) -> bool {
        true
    }

    fn pair_step(&mut self) -> Option<&mut dyn PairStep> {
        Some(self)
    }
}

impl PairStep for Lif {
    /// Step t with its input, then step t + 1 without; the refractory bookkeeping of the two
    /// steps is completed by `after_spikes`, `end_pair`, `after_spikes` (see `PairStep`).
    fn update_pair(
        &mut self,
        state: &mut [Vec<f64>],
        input_ex: &[f64],
        input_in: &[f64],
        spiked: &mut [u8],
        spiked_next: &mut [u8],
    ) {
        let [v, i_ex, i_in, refractory] = state else { unreachable!("lif state has {N_STATE} variables") };
        let (held, leaving) = self.refractory.held_and_leaving(refractory);
        // Whether a spike holds the neuron in the next step is fixed per kernel: a loop for
        // each keeps the held-mask arithmetic to two mask operations.
        let pair_loop =
            if is_refractory(self.c.refractory_steps) { step_pair_loop::<true> } else { step_pair_loop::<false> };
        pair_loop(&self.c, v, i_ex, i_in, input_ex, input_in, held, leaving, spiked, spiked_next);
        self.refractory.count_down(refractory, spiked);
    }

    /// The second step's refractory count-down of `update_pair`.
    fn end_pair(&mut self, state: &mut [Vec<f64>], spiked_next: &[u8]) {
        self.refractory.count_down(&mut state[REFRACTORY], spiked_next);
    }
}

/// Indices of the currents and the refractory counter among the state variables.
const I_EX: usize = 1;
const I_IN: usize = 2;
const REFRACTORY: usize = 3;

/// One neuron's step: (v, i_ex, i_in, spike), the currents decayed and given `input` (ex, in)
/// if any. The membrane keeps its value while the neuron is held (refractory).
#[inline(always)]
fn step_neuron(
    c: &LifConstants,
    v: f64,
    i_ex: f64,
    i_in: f64,
    held: bool,
    input: Option<(f64, f64)>,
) -> (f64, f64, f64, bool) {
    let v_free = c.v_const + c.p21_ex * i_ex + c.p21_in * i_in + c.p22 * v;
    let v_now = if held { v } else { v_free };
    // Without input, "+ 0.0" turns -0.0 into 0.0, as adding an empty input slot does (sparse
    // input relies on it: adding 0.0 again to a current that is never -0.0 changes nothing).
    // With input, `i·p11 + input` has the bits of `i·p11 + 0.0 + input`: an input slot sums
    // weights from +0.0, so it is never -0.0.
    let (input_ex, input_in) = input.unwrap_or((0.0, 0.0));
    let (i_ex, i_in) = (i_ex * c.p11_ex + input_ex, i_in * c.p11_in + input_in);
    let spike = v_now >= c.v_th;
    (if spike { c.v_reset } else { v_now }, i_ex, i_in, spike)
}

/// The dense part of a step. Separate slice arguments tell the compiler they do not alias,
/// so the loop vectorises without run-time overlap checks.
#[inline(never)]
fn step_dense(c: &LifConstants, v: &mut [f64], i_ex: &mut [f64], i_in: &mut [f64], held: &[u8], spiked: &mut [u8]) {
    let n = v.len();
    let (i_ex, i_in, held, spiked) = (&mut i_ex[..n], &mut i_in[..n], &held[..n], &mut spiked[..n]);
    for k in 0..n {
        let spike;
        (v[k], i_ex[k], i_in[k], spike) = step_neuron(c, v[k], i_ex[k], i_in[k], held[k] != 0, None);
        spiked[k] = spike as u8;
    }
}

/// The dense part of two steps in one pass: the first step's input is added in between
/// (`i·p11 + input`, the bits of `add_input` after `step_dense`), and a neuron is held in the
/// second step if it spiked in the first (when `HELD_AFTER_SPIKE`: the period is at least a
/// step) or else if it was held and is not `leaving`. Each neuron's state is loaded and
/// stored once for both steps.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn step_pair_loop<const HELD_AFTER_SPIKE: bool>(
    c: &LifConstants,
    v: &mut [f64],
    i_ex: &mut [f64],
    i_in: &mut [f64],
    input_ex: &[f64],
    input_in: &[f64],
    held: &[u8],
    leaving: &[u8],
    spiked: &mut [u8],
    spiked_next: &mut [u8],
) {
    let n = v.len();
    let (i_ex, i_in, input_ex, input_in) = (&mut i_ex[..n], &mut i_in[..n], &input_ex[..n], &input_in[..n]);
    let (held, leaving, spiked, spiked_next) = (&held[..n], &leaving[..n], &mut spiked[..n], &mut spiked_next[..n]);
    for k in 0..n {
        let held0 = held[k] != 0;
        let (v1, e1, i1, spike1) = step_neuron(c, v[k], i_ex[k], i_in[k], held0, Some((input_ex[k], input_in[k])));
        // Non-short-circuit boolean operators: LLVM keeps them as vector mask operations.
        let stays = held0 & (leaving[k] == 0);
        let held1 = if HELD_AFTER_SPIKE { spike1 | stays } else { !spike1 & stays };
        let spike2;
        (v[k], i_ex[k], i_in[k], spike2) = step_neuron(c, v1, e1, i1, held1, None);
        spiked[k] = spike1 as u8;
        spiked_next[k] = spike2 as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::models::add_input;
    use crate::test_support::uniform_stream;

    const CTX: StepContext = StepContext { step: 0, gids: &[], current: None };

    /// The dense definition (as the numpy kernel): every neuron's counter tested in the loop.
    fn reference_step(c: &LifConstants, state: &mut [Vec<f64>], input_ex: &[f64], input_in: &[f64]) -> Vec<u8> {
        let [v, i_ex, i_in, refractory] = state else { unreachable!() };
        (0..v.len())
            .map(|k| {
                let active = refractory[k] <= 0.5;
                let v_free = c.v_const + c.p21_ex * i_ex[k] + c.p21_in * i_in[k] + c.p22 * v[k];
                let v_now = if active { v_free } else { v[k] };
                i_ex[k] = i_ex[k] * c.p11_ex + 0.0 + input_ex[k];
                i_in[k] = i_in[k] * c.p11_in + 0.0 + input_in[k];
                let spike = v_now >= c.v_th;
                v[k] = if spike { c.v_reset } else { v_now };
                if spike || !active {
                    refractory[k] = if spike { c.refractory_steps } else { refractory[k] - 1.0 };
                }
                spike as u8
            })
            .collect()
    }

    fn constants(refractory_steps: f64, v_reset: f64) -> LifConstants {
        let (p22, p11_ex, p11_in) = ((-0.1f64 / 20.0).exp(), (-0.1f64 / 5.0).exp(), (-0.1f64 / 10.0).exp());
        LifConstants {
            p22,
            p11_ex,
            p11_in,
            p21_ex: 4e-4,
            p21_in: 4e-4,
            v_const: -49.0 * (1.0 - p22),
            v_th: -50.0,
            v_reset,
            refractory_steps,
        }
    }

    /// The listed refractory neurons give the dense definition's bits, stepping one step or
    /// two in one pass (`update_pair`), including user states the list must honour:
    /// fractional and NaN counters, a refractory neuron clamped above threshold (it spikes,
    /// as in NEST), and a reset above or exactly at threshold (every refractory neuron spikes
    /// each step, restarting its period; at threshold, `>=` is tested).
    #[test]
    fn refractory_list_matches_the_dense_definition() {
        for (refractory_steps, v_reset) in
            [(0.0, -60.0), (1.0, -60.0), (20.0, -60.0), (2.5, -60.0), (4.0, -45.0), (4.0, -50.0)]
        {
            let c = constants(refractory_steps, v_reset);
            let n = 300;
            let mut u = uniform_stream(7);
            let v: Vec<f64> = (0..n).map(|k| if k == 7 { -45.0 } else { -60.0 + 12.0 * u() }).collect();
            let counter: Vec<f64> = (0..n)
                .map(|k| match k % 7 {
                    0 => 3.0,
                    1 => 2.7,
                    2 if k == 2 => f64::NAN,
                    2 => 0.4,
                    _ => 0.0,
                })
                .collect();
            let mut expected = vec![v, vec![0.0; n], vec![0.0; n], counter];
            let mut state = expected.clone();
            let mut kernel = Lif::new(c.clone());
            let listed = |flags: &[u8]| (0..n as u32).filter(|&k| flags[k as usize] != 0).collect::<Vec<u32>>();
            let (mut total, mut step, mut round) = (0, 0, 0);
            while step < 400 {
                let mut inputs: Vec<(Vec<f64>, Vec<f64>)> = (0..2)
                    .map(|_| {
                        let ex = (0..n).map(|_| if u() < 0.2 { 300.0 * u() } else { 0.0 }).collect();
                        (ex, (0..n).map(|_| if u() < 0.1 { -300.0 * u() } else { 0.0 }).collect())
                    })
                    .collect();
                let expected_first = reference_step(&c, &mut expected, &inputs[0].0, &inputs[0].1);
                // Pairs (two steps in one pass) and single steps in turn; a pair first, so that
                // neuron 7, held and clamped above threshold, spikes in the first step of a pair.
                if round % 3 == 2 {
                    let mut spiked = vec![0u8; n];
                    let (input_ex, input_in) = &mut inputs[0];
                    kernel.update(&CTX, &mut state, input_ex, input_in, &mut spiked, &mut []);
                    kernel.after_spikes(&mut state, &listed(&spiked));
                    assert_eq!(spiked, expected_first, "step {step}");
                    total += listed(&spiked).len();
                    step += 1;
                } else {
                    let expected_second = reference_step(&c, &mut expected, &inputs[1].0, &inputs[1].1);
                    let (mut first, mut second) = (vec![0u8; n], vec![0u8; n]);
                    kernel.update_pair(&mut state, &inputs[0].0, &inputs[0].1, &mut first, &mut second);
                    kernel.after_spikes(&mut state, &listed(&first));
                    kernel.end_pair(&mut state, &second);
                    kernel.after_spikes(&mut state, &listed(&second));
                    let (input_ex, input_in) = &mut inputs[1];
                    add_input(&kernel, &mut state, input_ex, input_in);
                    assert_eq!((&first, &second), (&expected_first, &expected_second), "steps {step}, {}", step + 1);
                    total += listed(&first).len() + listed(&second).len();
                    step += 2;
                }
                round += 1;
                // The counters may lag between syncs; the spikes above may not.
                if round % 5 != 0 {
                    continue;
                }
                kernel.sync_state(&mut state);
                for (got, want) in state.iter().zip(&expected) {
                    assert!(
                        got.iter().zip(want).all(|(a, b)| a.to_bits() == b.to_bits()),
                        "t_ref {refractory_steps}, v_reset {v_reset}"
                    );
                }
            }
            assert!(total > 1000, "too few spikes to test the list: {total}");
            assert!(state[3][2].is_nan(), "a NaN counter keeps its neuron refractory");
        }
    }

    /// A current that decays to zero without input is +0.0, never -0.0, in either pass: the
    /// sparse input adds nothing to neurons without input, so a -0.0 would stay (the numpy
    /// kernel adds a whole slot of +0.0 every step).
    #[test]
    fn currents_decaying_to_zero_are_positive_zero() {
        let mut c = constants(0.0, -60.0);
        (c.p11_ex, c.p11_in) = (0.3, 0.3);
        let n = 80;
        // Four smallest subnormals: the first step leaves one, the second rounds it to zero.
        let tiny = -4.0 * f64::from_bits(1);
        let fresh = || vec![vec![-60.0; n], vec![tiny; n], vec![tiny; n], vec![0.0; n]];
        let zeros = vec![0.0; n];
        let (mut first, mut second) = (vec![0u8; n], vec![0u8; n]);
        let mut paired = fresh();
        let mut kernel = Lif::new(c.clone());
        kernel.update_pair(&mut paired, &zeros, &zeros, &mut first, &mut second);
        kernel.end_pair(&mut paired, &second);
        let mut single = fresh();
        let mut kernel = Lif::new(c);
        kernel.update_without_input(&CTX, &mut single, &mut first, &mut []);
        add_input(&kernel, &mut single, &mut zeros.clone(), &mut zeros.clone());
        kernel.update_without_input(&CTX, &mut single, &mut second, &mut []);
        for state in [&paired, &single] {
            assert!(state[I_EX].iter().chain(&state[I_IN]).all(|x| x.to_bits() == 0), "{state:?}");
        }
    }
}
