//! Leaky integrate-and-fire with voltage-jump (delta) synapses, as NEST's iaf_psc_delta:
//! a spike of weight w (mV) moves the membrane by w at its arrival; input that arrives while
//! the neuron is refractory is discarded.

use super::constants::{kernel_constants, ConstantReader};
use super::{names_of, Kernel, Model, StepContext};

/// State variables: v (mV), refractory steps left.
pub const STATE: &[&str] = &["v", "refractory"];
pub const N_STATE: usize = 2;

kernel_constants! {
    /// The membrane propagator of one step and the thresholds (`LIFDelta.constants`).
    pub struct LifDeltaConstants {
        /// Membrane decay over a step, exp(-dt/tau_m).
        p22,
        /// Constant part of the membrane update: v_rest (1 - p22) plus what i_e adds (mV).
        v_const,
        v_th,
        v_reset,
        /// Lower bound of the membrane potential (mV; may be -inf).
        v_min,
        /// The refractory period in steps.
        refractory_steps,
    }
}

pub const MODEL: Model = Model {
    name: "lif_delta",
    state: STATE,
    constant_names: || names_of(LifDeltaConstants::NAMES),
    new: |c: &mut ConstantReader, _key| Ok(Box::new(LifDelta { c: LifDeltaConstants::read(c, "")? })),
};

#[derive(Clone, Debug)]
pub struct LifDelta {
    pub c: LifDeltaConstants,
}

impl Kernel for LifDelta {
    /// One receptor: `input_ex` holds the summed weights (mV) of every spike arriving this
    /// step; it moves the membrane in this very step.
    fn update(
        &mut self,
        _ctx: &StepContext,
        state: &mut [Vec<f64>],
        input_ex: &mut [f64],
        _input_in: &mut [f64],
        spiked: &mut [u8],
        _spike_offset: &mut [f64],
    ) {
        let [v, refractory] = state else { unreachable!("lif_delta state has {N_STATE} variables") };
        update_slices(&self.c, v, refractory, input_ex, spiked);
    }

    fn receptors(&self) -> usize {
        1
    }
}

/// The kernel proper, with non-aliasing slice arguments (see `lif::step_dense`).
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
