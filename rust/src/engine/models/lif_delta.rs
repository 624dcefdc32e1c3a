//! Leaky integrate-and-fire with voltage-jump (delta) synapses, as NEST's iaf_psc_delta:
//! a spike of weight w (mV) moves the membrane by w at its arrival; input that arrives while
//! the neuron is refractory is discarded.

use super::constants_array;
use crate::engine::error::EngineError;

/// State order: v (mV), refractory steps left.
pub const N_STATE: usize = 2;

#[derive(Clone, Debug)]
pub struct LifDeltaConstants {
    pub p22: f64,
    /// Constant part of the membrane update: v_rest (1 - p22) plus what i_e adds (mV).
    pub v_const: f64,
    pub v_th: f64,
    pub v_reset: f64,
    pub v_min: f64,
    pub refractory_steps: f64,
}

impl LifDeltaConstants {
    pub fn from_slice(c: &[f64]) -> Result<Self, EngineError> {
        let [p22, v_const, v_th, v_reset, v_min, refractory_steps] = constants_array::<6>("lif_delta", c)?;
        Ok(Self { p22, v_const, v_th, v_reset, v_min, refractory_steps })
    }
}

/// Advances the block one step and clears the consumed input.
/// One receptor: `input` holds the summed weights (mV) of every spike arriving this step.
pub fn update(c: &LifDeltaConstants, state: &mut [Vec<f64>], input: &mut [f64], spiked: &mut [u8]) {
    let [v, refractory] = state else { unreachable!("lif_delta state has {N_STATE} variables") };
    update_slices(c, v, refractory, input, spiked);
}

/// The kernel proper, with non-aliasing slice arguments (see `lif::update_slices`).
#[inline(never)]
fn update_slices(c: &LifDeltaConstants, v: &mut [f64], refractory: &mut [f64], input: &mut [f64], spiked: &mut [u8]) {
    let n = v.len();
    let refractory = &mut refractory[..n];
    let (input, spiked) = (&mut input[..n], &mut spiked[..n]);
    for k in 0..n {
        let active = refractory[k] <= 0.5;
        let v_free = (c.v_const + c.p22 * v[k] + input[k]).max(c.v_min);
        input[k] = 0.0;
        let v_now = if active { v_free } else { v[k] };
        let refractory_now = if active { refractory[k] } else { refractory[k] - 1.0 };
        let spike = v_now >= c.v_th;
        v[k] = if spike { c.v_reset } else { v_now };
        refractory[k] = if spike { c.refractory_steps } else { refractory_now };
        spiked[k] = spike as u8;
    }
}
