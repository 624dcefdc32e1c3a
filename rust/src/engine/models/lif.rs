//! Current-based leaky integrate-and-fire with exponential synaptic currents (NEST iaf_psc_exp),
//! integrated exactly: the propagators are computed in Python for the step `dt`.
//!
//! Order within a step (as NEST): membrane propagates unless refractory, currents decay, this
//! step's input is added to the currents, threshold is checked and the neuron reset.

use super::constants_array;
use crate::engine::error::EngineError;

/// State order: v (mV), i_syn_ex (pA), i_syn_in (pA), refractory steps left.
pub const N_STATE: usize = 4;

#[derive(Clone, Debug)]
pub struct LifConstants {
    pub p22: f64,
    pub p11_ex: f64,
    pub p11_in: f64,
    pub p21_ex: f64,
    pub p21_in: f64,
    /// Voltage gained per step from the constant current i_e (mV).
    pub v_drive: f64,
    pub v_rest: f64,
    pub v_th: f64,
    pub v_reset: f64,
    pub refractory_steps: f64,
}

impl LifConstants {
    pub fn from_slice(c: &[f64]) -> Result<Self, EngineError> {
        let [p22, p11_ex, p11_in, p21_ex, p21_in, v_drive, v_rest, v_th, v_reset, refractory_steps] =
            constants_array::<10>("lif", c)?;
        Ok(Self { p22, p11_ex, p11_in, p21_ex, p21_in, v_drive, v_rest, v_th, v_reset, refractory_steps })
    }
}

/// Advances the block one step and clears the consumed input.
pub fn update(c: &LifConstants, state: &mut [Vec<f64>], input_ex: &mut [f64], input_in: &mut [f64], spiked: &mut [u8]) {
    let [v, i_ex, i_in, refractory] = state else {
        unreachable!("lif state has {N_STATE} variables")
    };
    update_slices(c, v, i_ex, i_in, refractory, input_ex, input_in, spiked);
}

/// The kernel proper: separate slice arguments tell the compiler they do not alias, so the
/// loop vectorises without run-time overlap checks.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn update_slices(
    c: &LifConstants,
    v: &mut [f64],
    i_ex: &mut [f64],
    i_in: &mut [f64],
    refractory: &mut [f64],
    input_ex: &mut [f64],
    input_in: &mut [f64],
    spiked: &mut [u8],
) {
    let n = v.len();
    let (i_ex, i_in, refractory) = (&mut i_ex[..n], &mut i_in[..n], &mut refractory[..n]);
    let (input_ex, input_in, spiked) = (&mut input_ex[..n], &mut input_in[..n], &mut spiked[..n]);
    for k in 0..n {
        let active = refractory[k] <= 0.5;
        let v_free = c.v_drive + c.p21_ex * i_ex[k] + c.p21_in * i_in[k] + c.p22 * (v[k] - c.v_rest) + c.v_rest;
        let v_now = if active { v_free } else { v[k] };
        let refractory_now = if active { refractory[k] } else { refractory[k] - 1.0 };
        i_ex[k] = i_ex[k] * c.p11_ex + input_ex[k];
        i_in[k] = i_in[k] * c.p11_in + input_in[k];
        input_ex[k] = 0.0;
        input_in[k] = 0.0;
        let spike = v_now >= c.v_th;
        v[k] = if spike { c.v_reset } else { v_now };
        refractory[k] = if spike { c.refractory_steps } else { refractory_now };
        spiked[k] = spike as u8;
    }
}
