//! Leaky integrate-and-fire with exponential synaptic conductances (NEST iaf_cond_exp); the
//! executable specification is `python/spikeshard/models/lif_cond.py`, which this kernel
//! follows operation for operation (no exponential per neuron, so the bits agree).
//!
//! Per step: `n_sub` classical Runge-Kutta sub-steps of v with the conductances exact at every
//! stage (the membrane frozen while refractory, the equation reading min(v, v_th) as NEST's);
//! then a refractory neuron counts down and stays at v_reset, a free one with v >= v_th
//! spikes and is reset; the step's input is added to the conductances after the step.

use super::conductance::ConductanceConstants;
use super::constants::{kernel_constants, ConstantReader};
use super::{update_then_add_input, InputAfterStep, Kernel, Model, StepContext};

/// State variables: v (mV), g_ex, g_in (nS), refractory steps left.
pub const STATE: &[&str] = &["v", "g_ex", "g_in", "refractory"];
pub const N_STATE: usize = 4;
const G_EX: usize = 1;
const G_IN: usize = 2;

kernel_constants! {
    /// Threshold and reset (mV).
    pub struct LifCondThresholds { v_th, v_reset }
}

pub const MODEL: Model = Model {
    name: "lif_cond",
    state: STATE,
    constant_names: || {
        [ConductanceConstants::NAMES, LifCondThresholds::NAMES].concat().iter().map(|n| n.to_string()).collect()
    },
    new: |c: &mut ConstantReader, _key| {
        Ok(Box::new(LifCond { cond: ConductanceConstants::read(c, "")?, th: LifCondThresholds::read(c, "")? }))
    },
};

#[derive(Clone, Debug)]
pub struct LifCond {
    pub cond: ConductanceConstants,
    pub th: LifCondThresholds,
}

impl Kernel for LifCond {
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

impl InputAfterStep for LifCond {
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
        let [v, g_ex, g_in, refractory] = state else { unreachable!("lif_cond state has {N_STATE} variables") };
        let n = v.len();
        let (g_ex, g_in, refractory, spiked) = (&mut g_ex[..n], &mut g_in[..n], &mut refractory[..n], &mut spiked[..n]);
        for _ in 0..self.cond.n_sub as usize {
            match ctx.current {
                Some(current) => substep::<true>(&self.cond, &self.th, v, g_ex, g_in, refractory, &current[..n]),
                None => substep::<false>(&self.cond, &self.th, v, g_ex, g_in, refractory, &[]),
            }
        }
        for k in 0..n {
            let free = refractory[k] <= 0.5;
            let spike = free && v[k] >= self.th.v_th;
            v[k] = if spike || !free { self.th.v_reset } else { v[k] };
            refractory[k] = if spike {
                self.cond.refractory_steps
            } else if free {
                refractory[k]
            } else {
                refractory[k] - 1.0
            };
            spiked[k] = spike as u8;
        }
    }
}

/// One Runge-Kutta sub-step of every neuron: v of the free ones, the conductances of all.
#[inline(never)]
fn substep<const CURRENT: bool>(
    c: &ConductanceConstants,
    th: &LifCondThresholds,
    v: &mut [f64],
    g_ex: &mut [f64],
    g_in: &mut [f64],
    refractory: &[f64],
    current: &[f64],
) {
    let dv = |v: f64, g: (f64, f64), i: f64| {
        let vc = if v < th.v_th { v } else { th.v_th };
        c.membrane_current(vc, g, i) * c.inv_c_m
    };
    for k in 0..v.len() {
        let i = if CURRENT { current[k] + c.i_e } else { c.i_e };
        let g = c.stages(g_ex[k], g_in[k]);
        let k1 = dv(v[k], g.start, i);
        let k2 = dv(v[k] + c.h_half * k1, g.mid, i);
        let k3 = dv(v[k] + c.h_half * k2, g.mid, i);
        let k4 = dv(v[k] + c.h * k3, g.end, i);
        let v_new = v[k] + c.h_sixth * ((k1 + k4) + 2.0 * (k2 + k3));
        v[k] = if refractory[k] <= 0.5 { v_new } else { v[k] };
        (g_ex[k], g_in[k]) = g.end;
    }
}
