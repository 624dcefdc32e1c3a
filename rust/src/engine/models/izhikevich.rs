//! The Izhikevich (2003) neuron as NEST's `izhikevich` computes it (`consistent_integration`):
//! one forward-Euler step of the map per `dt`, operation for operation as NEST writes it, so
//! this kernel, the numpy kernel (`python/spikeshard/models/izhikevich.py`) and NEST agree
//! to the last bit.

use super::constants::{kernel_constants, ConstantReader};
use super::{names_of, Kernel, Model, StepContext};

/// State variables: v (mV), u (recovery variable).
pub const STATE: &[&str] = &["v", "u"];
pub const N_STATE: usize = 2;

kernel_constants! {
    /// The step and the parameters (`Izhikevich.constants` in Python).
    pub struct IzhikevichConstants {
        /// The step (ms).
        h,
        a,
        b,
        /// Reset potential (mV) and the increment of u at a spike.
        c,
        d,
        /// Constant input current (pA, i.e. mV/ms in the map).
        i_e,
        v_th,
        /// Lower bound of v (mV; may be -inf).
        v_min,
    }
}

pub const MODEL: Model = Model {
    name: "izhikevich",
    state: STATE,
    constant_names: || names_of(IzhikevichConstants::NAMES),
    new: |c: &mut ConstantReader, _key| Ok(Box::new(Izhikevich { c: IzhikevichConstants::read(c, "")? })),
};

#[derive(Clone, Debug)]
pub struct Izhikevich {
    pub c: IzhikevichConstants,
}

impl Kernel for Izhikevich {
    /// One receptor: `input_ex` holds the summed weights (mV) arriving this step; they move
    /// v in this very step, after the Euler update.
    fn update(
        &mut self,
        ctx: &StepContext,
        state: &mut [Vec<f64>],
        input_ex: &mut [f64],
        _input_in: &mut [f64],
        spiked: &mut [u8],
        _spike_offset: &mut [f64],
    ) {
        let [v, u] = state else { unreachable!("izhikevich state has {N_STATE} variables") };
        let n = v.len();
        let (u, input, spiked) = (&mut u[..n], &mut input_ex[..n], &mut spiked[..n]);
        match ctx.current {
            Some(current) => step::<true>(&self.c, v, u, input, &current[..n], spiked),
            None => step::<false>(&self.c, v, u, input, &[], spiked),
        }
    }

    fn receptors(&self) -> usize {
        1
    }
}

/// NEST's update: v and u from the values before the step, the input after the Euler step,
/// then the lower bound, the threshold and the reset. With `CURRENT`, `current` holds the
/// injected current of each neuron (else it is empty and the current is 0).
#[inline(never)]
fn step<const CURRENT: bool>(
    c: &IzhikevichConstants,
    v: &mut [f64],
    u: &mut [f64],
    input: &mut [f64],
    current: &[f64],
    spiked: &mut [u8],
) {
    for k in 0..v.len() {
        let (v_old, u_old) = (v[k], u[k]);
        let injected = if CURRENT { current[k] } else { 0.0 };
        // ((((0.04 v) v + 5 v) + 140) - u) + I + i_e, left to right as NEST's C++.
        let drive = 0.04 * v_old * v_old + 5.0 * v_old + 140.0 - u_old + injected + c.i_e;
        let v_new = v_old + (c.h * drive + input[k]);
        input[k] = 0.0;
        let u_new = u_old + c.h * c.a * (c.b * v_old - u_old);
        let v_new = if v_new < c.v_min { c.v_min } else { v_new };
        let spike = v_new >= c.v_th;
        v[k] = if spike { c.c } else { v_new };
        u[k] = if spike { u_new + c.d } else { u_new };
        spiked[k] = spike as u8;
    }
}
