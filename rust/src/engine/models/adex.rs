//! Adaptive exponential integrate-and-fire with exponential synaptic conductances (NEST
//! aeif_cond_exp); the executable specification is `python/spikeshard/models/adex.py`, which
//! this kernel follows operation for operation (the exponential is `fastmath::exp`, within an
//! ulp of numpy's, so the two agree to round-off rather than to the bit).
//!
//! Per step: `n_sub` classical Runge-Kutta sub-steps of (v, w) with the conductances exact at
//! every stage, the equations reading min(v, v_peak) (v_reset while held, as NEST's); after
//! each sub-step a held neuron stays at v_reset, and a free one at or above v_detect spikes:
//! v <- v_reset, w <- w + b, held for the rest of the step and t_ref steps. The refractory
//! count goes down at the end of the step; the step's input is added after it.

use super::conductance::ConductanceConstants;
use super::constants::{kernel_constants, ConstantReader};
use super::{update_then_add_input, InputAfterStep, Kernel, Model, StepContext};
use crate::engine::fastmath;

/// State variables: v (mV), w (pA), g_ex, g_in (nS), refractory steps left.
pub const STATE: &[&str] = &["v", "w", "g_ex", "g_in", "refractory"];
pub const N_STATE: usize = 5;
const G_EX: usize = 2;
const G_IN: usize = 3;

kernel_constants! {
    /// The exponential, the spike and the adaptation (`AdEx.constants`).
    pub struct AdexConstants {
        /// Threshold of the exponential (mV), g_l delta_t (nS mV) and 1 / delta_t (0 without
        /// the exponential).
        v_th,
        spike_factor,
        inv_delta_t,
        /// The equations read v up to this (mV); a spike is v >= v_detect (v_peak, or v_th
        /// without the exponential).
        v_peak,
        v_detect,
        v_reset,
        /// Subthreshold (nS) and spike-triggered (pA) adaptation, 1 / tau_w (1/ms).
        a,
        b,
        inv_tau_w,
    }
}

pub const MODEL: Model = Model {
    name: "adex",
    state: STATE,
    constant_names: || {
        [ConductanceConstants::NAMES, AdexConstants::NAMES].concat().iter().map(|n| n.to_string()).collect()
    },
    new: |c: &mut ConstantReader, _key| {
        Ok(Box::new(Adex { cond: ConductanceConstants::read(c, "")?, ad: AdexConstants::read(c, "")? }))
    },
};

#[derive(Clone, Debug)]
pub struct Adex {
    pub cond: ConductanceConstants,
    pub ad: AdexConstants,
}

impl Kernel for Adex {
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

    fn input_after_step(&mut self) -> Option<&mut dyn InputAfterStep> {
        Some(self)
    }
}

impl InputAfterStep for Adex {
    fn input_variables(&self) -> &'static [usize] {
        &[G_EX, G_IN]
    }

    /// g_in holds the magnitude of the (negative) inhibitory weights.
    fn subtracts_inhibitory_input(&self) -> bool {
        true
    }

    fn update_without_input(
        &mut self,
        ctx: &StepContext,
        state: &mut [Vec<f64>],
        spiked: &mut [u8],
        _spike_offset: &mut [f64],
    ) {
        let [v, w, g_ex, g_in, refractory] = state else { unreachable!("adex state has {N_STATE} variables") };
        let n = v.len();
        let (w, g_ex, g_in, refractory, spiked) =
            (&mut w[..n], &mut g_ex[..n], &mut g_in[..n], &mut refractory[..n], &mut spiked[..n]);
        spiked.fill(0);
        let neurons = Neurons { v, w, g_ex, g_in, refractory, spiked };
        match ctx.current {
            Some(current) => steps::<true>(&self.cond, &self.ad, neurons, &current[..n]),
            None => steps::<false>(&self.cond, &self.ad, neurons, &[]),
        }
        for r in refractory.iter_mut() {
            *r = if *r > 0.5 { *r - 1.0 } else { *r };
        }
    }
}

/// The state slices of a block and its spike flags.
struct Neurons<'a> {
    v: &'a mut [f64],
    w: &'a mut [f64],
    g_ex: &'a mut [f64],
    g_in: &'a mut [f64],
    refractory: &'a mut [f64],
    spiked: &'a mut [u8],
}

/// The sub-steps of one step for every neuron.
#[inline(never)]
fn steps<const CURRENT: bool>(c: &ConductanceConstants, ad: &AdexConstants, nr: Neurons, current: &[f64]) {
    let Neurons { v, w, g_ex, g_in, refractory, spiked } = nr;
    let derivatives = |v: f64, w: f64, g: (f64, f64), i: f64, held: bool| {
        let vc = if held {
            ad.v_reset
        } else if v < ad.v_peak {
            v
        } else {
            ad.v_peak
        };
        let i_spike = ad.spike_factor * fastmath::exp((vc - ad.v_th) * ad.inv_delta_t);
        // g_l (e_l - v) + i_spike + g_ex (e_ex - v) + g_in (e_in - v) - w + i, as Python.
        let leak_and_spike = c.g_l * (c.e_l - vc) + i_spike;
        let dv = (leak_and_spike + g.0 * (c.e_ex - vc) + g.1 * (c.e_in - vc) - w + i) * c.inv_c_m;
        let dw = (ad.a * (vc - c.e_l) - w) * ad.inv_tau_w;
        (if held { 0.0 } else { dv }, dw)
    };
    let hold_after_spike = c.refractory_steps > 0.0;
    for _ in 0..c.n_sub as usize {
        for k in 0..v.len() {
            let i = if CURRENT { current[k] + c.i_e } else { c.i_e };
            let held = refractory[k] > 0.5;
            let g = c.stages(g_ex[k], g_in[k]);
            let (v0, w0) = (v[k], w[k]);
            let (v1, w1) = derivatives(v0, w0, g.start, i, held);
            let (v2, w2) = derivatives(v0 + c.h_half * v1, w0 + c.h_half * w1, g.mid, i, held);
            let (v3, w3) = derivatives(v0 + c.h_half * v2, w0 + c.h_half * w2, g.mid, i, held);
            let (v4, w4) = derivatives(v0 + c.h * v3, w0 + c.h * w3, g.end, i, held);
            let v_new = v0 + c.h_sixth * ((v1 + v4) + 2.0 * (v2 + v3));
            let w_new = w0 + c.h_sixth * ((w1 + w4) + 2.0 * (w2 + w3));
            (g_ex[k], g_in[k]) = g.end;
            let crossed = !held && v_new >= ad.v_detect;
            v[k] = if held || crossed { ad.v_reset } else { v_new };
            w[k] = if crossed { w_new + ad.b } else { w_new };
            // Held for the rest of the step and t_ref steps (NEST's counts + 1, counted down
            // at the end of the step); without t_ref the neuron integrates on.
            refractory[k] = if crossed && hold_after_spike { c.refractory_steps + 1.0 } else { refractory[k] };
            spiked[k] |= crossed as u8;
        }
    }
}
