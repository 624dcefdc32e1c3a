//! Current-based leaky integrate-and-fire with exponential synaptic currents (NEST iaf_psc_exp),
//! integrated exactly: the propagators are computed in Python for the step `dt`.
//!
//! Order within a step (as NEST): membrane propagates unless refractory, currents decay, this
//! step's input is added to the currents, threshold is checked and the neuron reset.

use super::constants_array;
use crate::engine::error::EngineError;
use crate::engine::ring::SparseInput;

/// State order: v (mV), i_syn_ex (pA), i_syn_in (pA), refractory steps left.
pub const N_STATE: usize = 4;

#[derive(Clone, Debug)]
pub struct LifConstants {
    pub p22: f64,
    pub p11_ex: f64,
    pub p11_in: f64,
    pub p21_ex: f64,
    pub p21_in: f64,
    /// Constant part of the membrane update: v_rest (1 - p22) plus what i_e adds (mV).
    pub v_const: f64,
    pub v_th: f64,
    pub v_reset: f64,
    pub refractory_steps: f64,
}

impl LifConstants {
    pub fn from_slice(c: &[f64]) -> Result<Self, EngineError> {
        let [p22, p11_ex, p11_in, p21_ex, p21_in, v_const, v_th, v_reset, refractory_steps] =
            constants_array::<9>("lif", c)?;
        Ok(Self { p22, p11_ex, p11_in, p21_ex, p21_in, v_const, v_th, v_reset, refractory_steps })
    }
}

/// Advances the block one step and clears the consumed input.
pub fn update(c: &LifConstants, state: &mut [Vec<f64>], input_ex: &mut [f64], input_in: &mut [f64], spiked: &mut [u8]) {
    let [v, i_ex, i_in, refractory] = state else {
        unreachable!("lif state has {N_STATE} variables")
    };
    step_membrane(c, v, i_ex, i_in, refractory, spiked);
    add_input(i_ex, input_ex);
    add_input(i_in, input_in);
}

/// As `update`, with input given only for the neurons that received any. The currents are
/// decayed densely and the input added sparsely: `i * p11 + input` either way.
pub fn update_sparse(c: &LifConstants, state: &mut [Vec<f64>], input: SparseInput, spiked: &mut [u8]) {
    let [v, i_ex, i_in, refractory] = state else {
        unreachable!("lif state has {N_STATE} variables")
    };
    step_membrane(c, v, i_ex, i_in, refractory, spiked);
    input.apply(i_ex, i_in);
}

/// Everything but the input: membrane, current decay, threshold and reset. Separate slice
/// arguments tell the compiler they do not alias, so the loop vectorises without run-time
/// overlap checks; the refractory counter is written only where it changes.
#[inline(never)]
fn step_membrane(c: &LifConstants, v: &mut [f64], i_ex: &mut [f64], i_in: &mut [f64], refractory: &mut [f64], spiked: &mut [u8]) {
    let n = v.len();
    let (i_ex, i_in, refractory, spiked) = (&mut i_ex[..n], &mut i_in[..n], &mut refractory[..n], &mut spiked[..n]);
    for k in 0..n {
        let r = refractory[k];
        let active = r <= 0.5;
        let v_free = c.v_const + c.p21_ex * i_ex[k] + c.p21_in * i_in[k] + c.p22 * v[k];
        let v_now = if active { v_free } else { v[k] };
        // "+ 0.0" turns -0.0 into 0.0, as adding an empty input slot does.
        i_ex[k] = i_ex[k] * c.p11_ex + 0.0;
        i_in[k] = i_in[k] * c.p11_in + 0.0;
        let spike = v_now >= c.v_th;
        v[k] = if spike { c.v_reset } else { v_now };
        if spike || !active {
            refractory[k] = if spike { c.refractory_steps } else { r - 1.0 };
        }
        spiked[k] = spike as u8;
    }
}

/// `current += input; input = 0`, elementwise.
#[inline(never)]
fn add_input(current: &mut [f64], input: &mut [f64]) {
    for (i, x) in current.iter_mut().zip(input.iter_mut()) {
        *i += *x;
        *x = 0.0;
    }
}
