//! What the conductance-based integrate-and-fire kernels (`lif_cond`, `adex`) share: their
//! sub-step and membrane constants, and exponential synaptic conductances that are exact at
//! every Runge-Kutta stage (decayed by constant factors over half and a whole sub-step) and
//! take the step's input after the step, as NEST adds arriving spikes after its integration.

use super::constants::kernel_constants;

kernel_constants! {
    /// Sub-steps and membrane (`lif_cond.conductance_constants` in Python).
    pub struct ConductanceConstants {
        /// Sub-steps per step (a whole number >= 1).
        n_sub,
        /// The sub-step (ms), its half and its sixth.
        h,
        h_half,
        h_sixth,
        /// Decay of the conductances over half and a whole sub-step.
        p_ex_half,
        p_ex_full,
        p_in_half,
        p_in_full,
        /// 1 / c_m (1/pF).
        inv_c_m,
        /// Leak conductance (nS) and the reversal potentials (mV).
        g_l,
        e_l,
        e_ex,
        e_in,
        /// Constant input current (pA).
        i_e,
        /// The refractory period in steps (as NEST rounds t_ref).
        refractory_steps,
    }
}

/// The conductances over one sub-step: at its start, its middle and its end.
#[derive(Clone, Copy)]
pub struct Stages {
    pub start: (f64, f64),
    pub mid: (f64, f64),
    pub end: (f64, f64),
}

impl ConductanceConstants {
    /// The exact conductances of one sub-step from (g_ex, g_in) at its start.
    #[inline(always)]
    pub fn stages(&self, g_ex: f64, g_in: f64) -> Stages {
        Stages {
            start: (g_ex, g_in),
            mid: (g_ex * self.p_ex_half, g_in * self.p_in_half),
            end: (g_ex * self.p_ex_full, g_in * self.p_in_full),
        }
    }

    /// The membrane current (pA) through the leak and the synapses at potential `v`, plus the
    /// injected current `i` (pA): g_l (e_l - v) + g_ex (e_ex - v) + g_in (e_in - v) + i.
    #[inline(always)]
    pub fn membrane_current(&self, v: f64, (g_ex, g_in): (f64, f64), i: f64) -> f64 {
        self.g_l * (self.e_l - v) + g_ex * (self.e_ex - v) + g_in * (self.e_in - v) + i
    }
}
