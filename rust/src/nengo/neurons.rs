//! Nengo neuron types stepped over flat slices, matching nengo 4.1's `NeuronType.step`.
//!
//! Each kernel repeats nengo's numpy expressions operation by operation (same formulas, same
//! order, same in-place updates). `exp` and `tanh` are libm's, so those kernels equal nengo's
//! to the last bit where numpy also calls libm; the LIF family's `expm1`/`log1p` are
//! [`crate::engine::fastmath`]'s vectorisable ones (within an ulp of libm, as numpy's own SIMD versions
//! are within a few), so LIF results agree with nengo's to a few ulp per step.
//! nengo's array steps are elementwise, so one fused loop per neuron computes the same values.
//! Interface used by the operator program: `NeuronKind::from_spec(name, params)`,
//! `n_states()`, `step(dt, j, out, states)`; `spikeshard.nengo.neurons.neuron_spec` gives the
//! names, parameter order and state order.

use super::error::{NengoError, NengoResult};
use crate::engine::fastmath;

/// One nengo neuron type with its parameters (times in seconds).
#[derive(Debug, Clone, PartialEq)]
pub enum NeuronKind {
    /// `nengo.RectifiedLinear`: `amplitude * max(0, J)`.
    RectifiedLinear { amplitude: f64 },
    /// `nengo.SpikingRectifiedLinear`; state: voltage.
    SpikingRectifiedLinear { amplitude: f64 },
    /// `nengo.Sigmoid`: `(1 / tau_ref) / (1 + exp(-J))`.
    Sigmoid { tau_ref: f64 },
    /// `nengo.Tanh`: `(1 / tau_ref) * tanh(J)`.
    Tanh { tau_ref: f64 },
    /// `nengo.LIFRate`.
    LifRate { tau_rc: f64, tau_ref: f64, amplitude: f64 },
    /// `nengo.LIF`; states: voltage, refractory_time.
    Lif { tau_rc: f64, tau_ref: f64, min_voltage: f64, amplitude: f64 },
    /// `nengo.AdaptiveLIFRate`; state: adaptation.
    AdaptiveLifRate { tau_n: f64, inc_n: f64, tau_rc: f64, tau_ref: f64, amplitude: f64 },
    /// `nengo.AdaptiveLIF`; states: voltage, refractory_time, adaptation.
    AdaptiveLif { tau_n: f64, inc_n: f64, tau_rc: f64, tau_ref: f64, min_voltage: f64, amplitude: f64 },
    /// `nengo.Izhikevich` (`tau_recovery` is Izhikevich's rate `a`, per millisecond); states:
    /// voltage, recovery.
    Izhikevich { tau_recovery: f64, coupling: f64, reset_voltage: f64, reset_recovery: f64 },
    /// `nengo.RegularSpiking`'s own operator, whose input is the base type's rate (Hz): nengo
    /// builds the base type as a separate operator, so the base type plays no part here.
    /// State: voltage.
    RegularSpiking { amplitude: f64 },
}

/// Supported names with their parameter names, in `from_spec` order (nengo's constructor order).
const SPECS: [(&str, &[&str]); 10] = [
    ("RectifiedLinear", &["amplitude"]),
    ("SpikingRectifiedLinear", &["amplitude"]),
    ("Sigmoid", &["tau_ref"]),
    ("Tanh", &["tau_ref"]),
    ("LIFRate", &["tau_rc", "tau_ref", "amplitude"]),
    ("LIF", &["tau_rc", "tau_ref", "min_voltage", "amplitude"]),
    ("AdaptiveLIFRate", &["tau_n", "inc_n", "tau_rc", "tau_ref", "amplitude"]),
    ("AdaptiveLIF", &["tau_n", "inc_n", "tau_rc", "tau_ref", "min_voltage", "amplitude"]),
    ("Izhikevich", &["tau_recovery", "coupling", "reset_voltage", "reset_recovery"]),
    ("RegularSpiking", &["amplitude"]),
];

impl NeuronKind {
    /// Builds the kind named by `name` (the nengo class name) from its parameters, in the
    /// order `spikeshard.nengo.neurons.neuron_spec` gives them.
    pub fn from_spec(name: &str, params: &[f64]) -> NengoResult<Self> {
        let Some((_, names)) = SPECS.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = SPECS.iter().map(|(n, _)| *n).collect();
            return Err(NengoError::Invalid(format!(
                "nengo neuron type {name:?} is not supported in Rust (supported: {})",
                known.join(", ")
            )));
        };
        if params.len() != names.len() {
            return Err(NengoError::Invalid(format!(
                "nengo neuron type {name} takes {} parameters ({}), got {}",
                names.len(),
                names.join(", "),
                params.len()
            )));
        }
        let p = params;
        Ok(match name {
            "RectifiedLinear" => NeuronKind::RectifiedLinear { amplitude: p[0] },
            "SpikingRectifiedLinear" => NeuronKind::SpikingRectifiedLinear { amplitude: p[0] },
            "Sigmoid" => NeuronKind::Sigmoid { tau_ref: p[0] },
            "Tanh" => NeuronKind::Tanh { tau_ref: p[0] },
            "LIFRate" => NeuronKind::LifRate { tau_rc: p[0], tau_ref: p[1], amplitude: p[2] },
            "LIF" => NeuronKind::Lif { tau_rc: p[0], tau_ref: p[1], min_voltage: p[2], amplitude: p[3] },
            "AdaptiveLIFRate" => {
                NeuronKind::AdaptiveLifRate { tau_n: p[0], inc_n: p[1], tau_rc: p[2], tau_ref: p[3], amplitude: p[4] }
            }
            "AdaptiveLIF" => NeuronKind::AdaptiveLif {
                tau_n: p[0],
                inc_n: p[1],
                tau_rc: p[2],
                tau_ref: p[3],
                min_voltage: p[4],
                amplitude: p[5],
            },
            "Izhikevich" => {
                NeuronKind::Izhikevich { tau_recovery: p[0], coupling: p[1], reset_voltage: p[2], reset_recovery: p[3] }
            }
            "RegularSpiking" => NeuronKind::RegularSpiking { amplitude: p[0] },
            _ => unreachable!("{name} is in SPECS"),
        })
    }

    /// Number of state arrays `step` takes (in `neuron_spec`'s state order).
    pub fn n_states(&self) -> usize {
        match self {
            NeuronKind::RectifiedLinear { .. }
            | NeuronKind::Sigmoid { .. }
            | NeuronKind::Tanh { .. }
            | NeuronKind::LifRate { .. } => 0,
            NeuronKind::SpikingRectifiedLinear { .. }
            | NeuronKind::AdaptiveLifRate { .. }
            | NeuronKind::RegularSpiking { .. } => 1,
            NeuronKind::Lif { .. } | NeuronKind::Izhikevich { .. } => 2,
            NeuronKind::AdaptiveLif { .. } => 3,
        }
    }

    /// One step of `dt` seconds: reads the input current `j`, writes `out`, updates `states`.
    ///
    /// Panics unless `states` holds `n_states()` slices and every slice is as long as `j`.
    pub fn step(&self, dt: f64, j: &[f64], out: &mut [f64], states: &mut [&mut [f64]]) {
        let n = j.len();
        assert_eq!(out.len(), n, "output length differs from input length");
        assert_eq!(states.len(), self.n_states(), "wrong number of state arrays for {self:?}");
        assert!(states.iter().all(|s| s.len() == n), "state length differs from input length");
        match *self {
            NeuronKind::RectifiedLinear { amplitude } => {
                for (o, &j) in out.iter_mut().zip(j) {
                    // np.maximum(0.0, J) keeps NaN and maps -0.0 to 0.0.
                    *o = amplitude * if j <= 0.0 { 0.0 } else { j };
                }
            }
            NeuronKind::SpikingRectifiedLinear { amplitude } => {
                let [voltage] = states else { unreachable!() };
                let spike = amplitude / dt;
                for ((o, &j), v) in out.iter_mut().zip(j).zip(voltage.iter_mut()) {
                    // np.maximum(J, 0) keeps NaN.
                    *v += if j < 0.0 { 0.0 } else { j } * dt;
                    let n_spikes = v.floor();
                    *o = spike * n_spikes;
                    *v -= n_spikes;
                }
            }
            NeuronKind::Sigmoid { tau_ref } => {
                let max_rate = 1.0 / tau_ref;
                for (o, &j) in out.iter_mut().zip(j) {
                    *o = max_rate / (1.0 + (-j).exp());
                }
            }
            NeuronKind::Tanh { tau_ref } => {
                let max_rate = 1.0 / tau_ref;
                for (o, &j) in out.iter_mut().zip(j) {
                    *o = max_rate * j.tanh();
                }
            }
            NeuronKind::LifRate { tau_rc, tau_ref, amplitude } => {
                for (o, &j) in out.iter_mut().zip(j) {
                    *o = lif_rate(tau_rc, tau_ref, amplitude, j);
                }
            }
            NeuronKind::AdaptiveLifRate { tau_n, inc_n, tau_rc, tau_ref, amplitude } => {
                let [adaptation] = states else { unreachable!() };
                let rate = dt / tau_n;
                for ((o, &j), a) in out.iter_mut().zip(j).zip(adaptation.iter_mut()) {
                    // nengo: LIFRate.step(dt, J - n, output); n += (dt / tau_n) * (inc_n * output - n)
                    let n = *a;
                    *o = lif_rate(tau_rc, tau_ref, amplitude, j - n);
                    *a = n + rate * (inc_n * *o - n);
                }
            }
            NeuronKind::Lif { tau_rc, tau_ref, min_voltage, amplitude } => {
                let [voltage, refractory_time] = states else { unreachable!() };
                let lif = LifStep::new(dt, tau_rc, tau_ref, min_voltage, amplitude);
                lif.step_all(j, out, voltage, refractory_time);
            }
            NeuronKind::AdaptiveLif { tau_n, inc_n, tau_rc, tau_ref, min_voltage, amplitude } => {
                let [voltage, refractory_time, adaptation] = states else { unreachable!() };
                let lif = LifStep::new(dt, tau_rc, tau_ref, min_voltage, amplitude);
                let rate = dt / tau_n;
                // nengo: LIF.step(dt, J - n, ...); n += (dt / tau_n) * (inc_n * output - n)
                let j_adapted: Vec<f64> = j.iter().zip(adaptation.iter()).map(|(j, n)| j - n).collect();
                lif.step_all(&j_adapted, out, voltage, refractory_time);
                for (n, &o) in adaptation.iter_mut().zip(out.iter()) {
                    *n += rate * (inc_n * o - *n);
                }
            }
            NeuronKind::Izhikevich { tau_recovery, coupling, reset_voltage, reset_recovery } => {
                let [voltage, recovery] = states else { unreachable!() };
                for (((o, &j), v), u) in out.iter_mut().zip(j).zip(voltage.iter_mut()).zip(recovery.iter_mut()) {
                    // np.maximum(-30.0, J) keeps NaN.
                    let j = if j < -30.0 { -30.0 } else { j };
                    let dv = (0.04 * (*v * *v) + 5.0 * *v + 140.0 - *u + j) * 1000.0;
                    *v += dv * dt;
                    // nengo: output = (voltage >= 30) / dt, then resets where output > 0
                    // (spikes are 1 / dt, without an amplitude).
                    let spike = f64::from(*v >= 30.0) / dt;
                    *o = spike;
                    if spike > 0.0 {
                        *v = reset_voltage;
                    }
                    // Recovery uses the voltage after the reset, as in nengo.
                    let du = (tau_recovery * (coupling * *v - *u)) * 1000.0;
                    *u += du * dt;
                    if spike > 0.0 {
                        *u += reset_recovery;
                    }
                }
            }
            NeuronKind::RegularSpiking { amplitude } => {
                let [voltage] = states else { unreachable!() };
                let spike = amplitude / dt;
                for ((o, &j), v) in out.iter_mut().zip(j).zip(voltage.iter_mut()) {
                    // J is the base type's rate (Hz); negative rates give negative spikes.
                    *v += dt * j;
                    let n_spikes = v.floor();
                    *o = spike * n_spikes;
                    *v -= n_spikes;
                }
            }
        }
    }
}

/// nengo's `LIFRate.step` for one neuron (Hz times `amplitude`).
#[inline(always)]
fn lif_rate(tau_rc: f64, tau_ref: f64, amplitude: f64, j: f64) -> f64 {
    let j = j - 1.0;
    // `j > 0` is false for NaN, which nengo also maps to 0.
    if j > 0.0 {
        amplitude / (tau_ref + tau_rc * fastmath::ln_1p(1.0 / j))
    } else {
        0.0
    }
}

/// nengo's `LIF.step` constants for one step of `dt` seconds.
struct LifStep {
    dt: f64,
    tau_rc: f64,
    tau_ref: f64,
    min_voltage: f64,
    /// `amplitude / dt`, the output of a spiking neuron.
    spike: f64,
    /// `expm1(-dt / tau_rc)`, the decay of a neuron that is not refractory.
    decay_full: f64,
}

impl LifStep {
    fn new(dt: f64, tau_rc: f64, tau_ref: f64, min_voltage: f64, amplitude: f64) -> Self {
        let decay_full = fastmath::exp_m1(-dt / tau_rc);
        Self { dt, tau_rc, tau_ref, min_voltage, spike: amplitude / dt, decay_full }
    }

    /// [`LifStep::step`] for a population, block by block: a cheap branch-free pass finishes
    /// every neuron that neither spikes nor leaves its refractory period mid-step (the decay
    /// is then one of two constants); the others (a few in ten at high rates) are gathered and
    /// stepped together with `step`, whose `expm1`/`log1p` then run as SIMD code too. Every
    /// neuron gets the same bits as a call to `step`.
    fn step_all(&self, j: &[f64], out: &mut [f64], voltage: &mut [f64], refractory_time: &mut [f64]) {
        let n = j.len();
        let (out, voltage, refractory_time) = (&mut out[..n], &mut voltage[..n], &mut refractory_time[..n]);
        LIF_SCRATCH.with_borrow_mut(|scratch| {
            for start in (0..n).step_by(LIF_BLOCK) {
                let end = (start + LIF_BLOCK).min(n);
                self.step_block(
                    &j[start..end],
                    &mut out[start..end],
                    &mut voltage[start..end],
                    &mut refractory_time[start..end],
                    scratch,
                );
            }
        });
    }

    /// Steps each of at most 64 neurons that neither spikes nor leaves its refractory period
    /// mid-step (clip(delta_t, 0, dt) is then dt, full decay, or +0, where expm1(-0) = -0, so
    /// the decay is a constant) with `step`'s arithmetic; leaves the others (NaN included) as
    /// they were, and returns them as a bit mask.
    #[inline(always)]
    fn step_unless_special(&self, j: &[f64], out: &mut [f64], voltage: &mut [f64], refractory_time: &mut [f64]) -> u64 {
        let n = j.len().min(64);
        let (out, voltage, refractory_time) = (&mut out[..n], &mut voltage[..n], &mut refractory_time[..n]);
        let mut mask = 0u64;
        for i in 0..n {
            let (v0, r0, ji) = (voltage[i], refractory_time[i], j[i]);
            let r = r0 - self.dt;
            let delta_t = self.dt - r;
            let full = delta_t >= self.dt;
            let none = delta_t < 0.0;
            let decay = if full { self.decay_full } else { -0.0 };
            let v = v0 - (ji - v0) * decay;
            let spiked = v > 1.0;
            let v = if v < self.min_voltage { self.min_voltage } else { v };
            let special = spiked | !(full | none);
            mask |= u64::from(special) << i;
            out[i] = f64::from(spiked) * self.spike;
            voltage[i] = if special { v0 } else { v };
            refractory_time[i] = if special { r0 } else { r };
        }
        mask
    }

    /// `step_all` for at most `LIF_BLOCK` neurons.
    fn step_block(
        &self,
        j: &[f64],
        out: &mut [f64],
        voltage: &mut [f64],
        refractory_time: &mut [f64],
        scratch: &mut LifScratch,
    ) {
        let n = j.len();
        let (out, voltage, refractory_time) = (&mut out[..n], &mut voltage[..n], &mut refractory_time[..n]);
        // Pass 1 in chunks of 64 neurons, each giving a bit mask of its special neurons, whose
        // indices are then listed (cost per special neuron, not per neuron).
        let mut m = 0;
        for start in (0..n).step_by(64) {
            let end = (start + 64).min(n);
            let mut mask = self.step_unless_special(
                &j[start..end],
                &mut out[start..end],
                &mut voltage[start..end],
                &mut refractory_time[start..end],
            );
            while mask != 0 {
                scratch.index[m] = start as u32 + mask.trailing_zeros();
                m += 1;
                mask &= mask - 1;
            }
        }
        let LifScratch { index, j: gj, voltage: gv, refractory_time: gr, out: go, .. } = scratch;
        for k in 0..m {
            let i = index[k] as usize;
            (gj[k], gv[k], gr[k]) = (j[i], voltage[i], refractory_time[i]);
        }
        // Whole vectors only: a scalar remainder of this long function would cost as much as
        // the vectors. The padding lanes compute on harmless values that are never stored.
        let padded = m.next_multiple_of(LIF_LANES);
        for k in m..padded {
            (gj[k], gv[k], gr[k]) = (0.0, 0.0, 0.0);
        }
        let lanes = go[..padded]
            .chunks_exact_mut(LIF_LANES)
            .zip(gj[..padded].chunks_exact(LIF_LANES))
            .zip(gv[..padded].chunks_exact_mut(LIF_LANES))
            .zip(gr[..padded].chunks_exact_mut(LIF_LANES));
        for (((o, j), v), r) in lanes {
            for l in 0..LIF_LANES {
                o[l] = self.step(j[l], &mut v[l], &mut r[l]);
            }
        }
        for k in 0..m {
            let i = index[k] as usize;
            (out[i], voltage[i], refractory_time[i]) = (go[k], gv[k], gr[k]);
        }
    }

    /// nengo's `LIF.step` for one neuron: updates voltage and refractory time, returns the
    /// output. Branch-free, so loops over it vectorise.
    #[inline(always)]
    fn step(&self, j: f64, voltage: &mut f64, refractory_time: &mut f64) -> f64 {
        let dt = self.dt;
        let r = *refractory_time - dt;
        // nengo's clip(dt - refractory_time, 0, dt), keeping NaN like numpy's clip.
        let delta_t = dt - r;
        let delta_t = if delta_t < 0.0 { 0.0 } else { delta_t };
        let delta_t = if delta_t > dt { dt } else { delta_t };
        // The same function as `decay_full`, so a neuron outside its refractory period gets
        // those bits here too; expm1(-0) = -0.
        let decay = fastmath::exp_m1(-delta_t / self.tau_rc);
        let v0 = *voltage;
        let v = v0 - (j - v0) * decay;
        let spiked = v > 1.0;
        // nengo multiplies the boolean mask by amplitude / dt.
        let out = f64::from(spiked) * self.spike;
        let v = if v < self.min_voltage { self.min_voltage } else { v };
        // nengo evaluates the spike time on the spiking neurons only; here every neuron of the
        // batch computes it and the others drop it.
        let t_spike = dt + self.tau_rc * fastmath::ln_1p(-(v - 1.0) / (j - 1.0));
        *voltage = if spiked { 0.0 } else { v };
        *refractory_time = if spiked { self.tau_ref + t_spike } else { r };
        out
    }
}

/// Neurons per block of [`LifStep::step_all`]: the block's scratch stays in L1 cache.
const LIF_BLOCK: usize = 512;
/// Neurons stepped together by `LifStep::step` in `step_all` (8 doubles: one AVX-512 vector);
/// divides `LIF_BLOCK`.
const LIF_LANES: usize = 8;

thread_local! {
    /// One scratch per thread, made once: zeroing 24 KiB per call would cost a few percent.
    static LIF_SCRATCH: std::cell::RefCell<Box<LifScratch>> = std::cell::RefCell::new(Box::new(LifScratch::new()));
}

/// Per-block buffers of [`LifStep::step_all`]: which neurons need `step`, and their gathered
/// values.
struct LifScratch {
    index: [u32; LIF_BLOCK],
    j: [f64; LIF_BLOCK],
    voltage: [f64; LIF_BLOCK],
    refractory_time: [f64; LIF_BLOCK],
    out: [f64; LIF_BLOCK],
}

impl LifScratch {
    fn new() -> Self {
        Self {
            index: [0; LIF_BLOCK],
            j: [0.0; LIF_BLOCK],
            voltage: [0.0; LIF_BLOCK],
            refractory_time: [0.0; LIF_BLOCK],
            out: [0.0; LIF_BLOCK],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DT: f64 = 0.001;

    fn kind(name: &str, params: &[f64]) -> NeuronKind {
        NeuronKind::from_spec(name, params).unwrap()
    }

    /// Steps a single neuron `n_steps` times at constant `j`; returns the summed output and states.
    fn run(k: &NeuronKind, j: f64, states: &[f64], n_steps: usize) -> (f64, Vec<f64>) {
        let mut states: Vec<Vec<f64>> = states.iter().map(|&s| vec![s]).collect();
        let mut out = [0.0];
        let mut total = 0.0;
        for _ in 0..n_steps {
            let mut refs: Vec<&mut [f64]> = states.iter_mut().map(|s| s.as_mut_slice()).collect();
            k.step(DT, &[j], &mut out, &mut refs);
            total += out[0];
        }
        (total, states.into_iter().map(|s| s[0]).collect())
    }

    fn lif_rate_hz(tau_rc: f64, tau_ref: f64, j: f64) -> f64 {
        1.0 / (tau_ref + tau_rc * (1.0 / (j - 1.0)).ln_1p())
    }

    #[test]
    fn from_spec_rejects_unknown_names_and_wrong_parameter_counts() {
        let err = NeuronKind::from_spec("PoissonSpiking", &[1.0]).unwrap_err().to_string();
        assert!(err.contains("PoissonSpiking") && err.contains("LIF"), "{err}");
        let err = NeuronKind::from_spec("LIF", &[0.02, 0.002, 0.0]).unwrap_err().to_string();
        assert!(err.contains("takes 4 parameters"), "{err}");
        assert!(NeuronKind::from_spec("lif", &[0.02, 0.002, 0.0, 1.0]).is_err());
    }

    #[test]
    fn every_name_builds_with_its_parameter_count() {
        let expected_states = [0, 1, 0, 0, 0, 2, 1, 3, 2, 1];
        for ((name, params), n_states) in SPECS.iter().zip(expected_states) {
            let k = kind(name, &vec![0.5; params.len()]);
            assert_eq!(k.n_states(), n_states, "{name}");
            assert!(NeuronKind::from_spec(name, &vec![0.5; params.len() + 1]).is_err());
        }
        assert_eq!(
            kind("AdaptiveLIF", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            NeuronKind::AdaptiveLif {
                tau_n: 1.0,
                inc_n: 2.0,
                tau_rc: 3.0,
                tau_ref: 4.0,
                min_voltage: 5.0,
                amplitude: 6.0
            }
        );
    }

    #[test]
    #[should_panic(expected = "wrong number of state arrays")]
    fn step_panics_on_missing_state() {
        kind("LIF", &[0.02, 0.002, 0.0, 1.0]).step(DT, &[1.0], &mut [0.0], &mut []);
    }

    #[test]
    #[should_panic(expected = "state length")]
    fn step_panics_on_short_state() {
        let mut v = [0.0];
        kind("RegularSpiking", &[1.0]).step(DT, &[1.0, 2.0], &mut [0.0, 0.0], &mut [&mut v]);
    }

    #[test]
    fn rate_types_match_their_formulas() {
        let j = [-1.0, 0.0, 0.5, 1.0, 1.5, 3.0, f64::NAN];
        let mut out = [0.0; 7];
        kind("RectifiedLinear", &[2.0]).step(DT, &j, &mut out, &mut []);
        assert_eq!(&out[..6], &[0.0, 0.0, 1.0, 2.0, 3.0, 6.0]);
        assert!(out[6].is_nan(), "np.maximum propagates NaN");

        kind("LIFRate", &[0.02, 0.002, 3.0]).step(DT, &j, &mut out, &mut []);
        assert_eq!(&out[..4], &[0.0; 4]);
        assert_eq!(out[6], 0.0, "nengo's j > 0 mask leaves NaN neurons at 0");
        for (&o, &j) in out[4..6].iter().zip(&j[4..6]) {
            assert!((o - 3.0 * lif_rate_hz(0.02, 0.002, j)).abs() < 1e-9, "{o} at J={j}");
        }

        kind("Sigmoid", &[0.01]).step(DT, &j, &mut out, &mut []);
        assert_eq!(out[1], 50.0);
        assert!((out[5] - 100.0 / (1.0 + (-3.0f64).exp())).abs() < 1e-12);

        kind("Tanh", &[0.01]).step(DT, &j, &mut out, &mut []);
        assert_eq!(out[1], 0.0);
        assert!((out[0] + 100.0 * 1.0f64.tanh()).abs() < 1e-12, "Tanh is negative below 0");
    }

    #[test]
    fn lif_fires_at_the_lif_rate_rate() {
        // nengo's LIF interpolates spike times, so its rate matches LIFRate to within a spike.
        let k = kind("LIF", &[0.02, 0.002, 0.0, 1.0]);
        for j in [1.5, 2.0, 5.0] {
            let (total, _) = run(&k, j, &[0.0, 0.0], 10_000);
            let spikes = total * DT;
            let expected = 10.0 * lif_rate_hz(0.02, 0.002, j);
            assert!((spikes - expected).abs() <= 1.0, "J={j}: {spikes} spikes, expected {expected}");
        }
        let (total, states) = run(&k, 0.9, &[0.0, 0.0], 1000);
        assert_eq!(total, 0.0);
        assert!((states[0] - 0.9).abs() < 1e-6, "subthreshold voltage settles at J");
    }

    #[test]
    fn lif_spike_resets_and_holds_refractory_neurons() {
        let k = kind("LIF", &[0.02, 0.002, -0.5, 2.0]);
        // A neuron just below threshold with strong input spikes in one step.
        let mut v = [0.99, 0.5, 0.5, 0.2];
        // nengo subtracts dt before integrating: the neuron is refractory for r - dt this step.
        let mut r = [0.0, 0.0025, 0.0015, 0.0];
        let mut out = [0.0; 4];
        k.step(DT, &[10.0, 10.0, 10.0, -50.0], &mut out, &mut [&mut v, &mut r]);
        assert_eq!(out[0], 2.0 / DT);
        assert_eq!(v[0], 0.0);
        // Spike time inside the step, so refractory time is tau_ref plus less than dt.
        assert!(r[0] > 0.002 && r[0] < 0.003, "{}", r[0]);
        // Still refractory for the whole step: voltage held, refractory time reduced by dt.
        assert_eq!((out[1], v[1]), (0.0, 0.5));
        assert!((r[1] - 0.0015).abs() < 1e-15);
        // Refractory for half the step: integrates over the remaining half.
        let half = 0.5 - (10.0 - 0.5) * fastmath::exp_m1(-0.0005 / 0.02);
        assert_eq!(v[2], half);
        // Strong inhibition is clipped at min_voltage.
        assert_eq!(v[3], -0.5);
    }

    #[test]
    fn lif_population_pass_is_bit_identical_to_stepping_each_neuron() {
        let lif = LifStep::new(DT, 0.02, 0.002, -1.0, -0.7);
        let n = 1100; // two whole blocks and a partial one
        let mut uniform = crate::test_support::uniform_stream(0x2545_f491_4f6c_dd1du64);
        let mut v: Vec<f64> = (0..n).map(|_| 1.2 * uniform() - 0.1).collect();
        let mut r: Vec<f64> = (0..n).map(|k| if k % 3 == 0 { 0.003 * uniform() } else { 0.0 }).collect();
        r[7] = DT; // leaves the refractory period exactly at the step
        r[8] = f64::NAN;
        let (mut v_each, mut r_each) = (v.clone(), r.clone());
        let mut out = vec![9.0; n];
        for _ in 0..200 {
            let j: Vec<f64> = (0..n).map(|_| 3.0 * uniform() - 0.5).collect();
            lif.step_all(&j, &mut out, &mut v, &mut r);
            for k in 0..n {
                let expected = lif.step(j[k], &mut v_each[k], &mut r_each[k]);
                assert_eq!(out[k].to_bits(), expected.to_bits(), "output {k}");
            }
            // NaN's sign bit depends on operand order, which the compiler may commute.
            let bits = |x: &[f64]| x.iter().map(|y| if y.is_nan() { 0 } else { y.to_bits() }).collect::<Vec<_>>();
            assert_eq!(bits(&v), bits(&v_each));
            assert_eq!(bits(&r), bits(&r_each));
        }
    }

    #[test]
    fn lif_decay_shortcut_is_bit_identical_to_a_call_per_neuron() {
        // nengo's LIF.step, one expm1 per neuron.
        let reference = |j: f64, v: &mut f64, r: &mut f64| {
            let (dt, tau_rc, tau_ref, min_voltage) = (DT, 0.02, 0.002, -1.0);
            *r -= dt;
            let delta_t = (dt - *r).clamp(0.0, dt);
            *v -= (j - *v) * fastmath::exp_m1(-delta_t / tau_rc);
            let spiked = *v > 1.0;
            let t_spike = dt + tau_rc * fastmath::ln_1p(-(*v - 1.0) / (j - 1.0));
            if *v < min_voltage {
                *v = min_voltage;
            }
            if spiked {
                *v = 0.0;
                *r = tau_ref + t_spike;
            }
            f64::from(spiked) * (1.0 / dt)
        };
        let lif = LifStep::new(DT, 0.02, 0.002, -1.0, 1.0);
        let mut uniform = crate::test_support::uniform_stream(0x9e37_79b9_7f4a_7c15u64);
        let (mut v, mut r) = ([0.0; 64], [0.0; 64]);
        let (mut v_ref, mut r_ref) = (v, r);
        let (mut spikes, mut partial) = (0, 0);
        for _ in 0..500 {
            for i in 0..64 {
                let j = 6.0 * uniform() - 1.0;
                partial += usize::from(r[i] > DT && r[i] < 2.0 * DT);
                let out = lif.step(j, &mut v[i], &mut r[i]);
                assert_eq!(out.to_bits(), reference(j, &mut v_ref[i], &mut r_ref[i]).to_bits());
                assert_eq!((v[i].to_bits(), r[i].to_bits()), (v_ref[i].to_bits(), r_ref[i].to_bits()));
                spikes += usize::from(out > 0.0);
            }
        }
        assert!(spikes > 1000 && partial > 1000, "{spikes} spikes, {partial} partial refractory steps");
    }

    #[test]
    fn adaptive_lif_adapts() {
        let lif = kind("LIF", &[0.02, 0.002, 0.0, 1.0]);
        let alif = kind("AdaptiveLIF", &[0.1, 0.05, 0.02, 0.002, 0.0, 1.0]);
        let (plain, _) = run(&lif, 3.0, &[0.0, 0.0], 2000);
        let (adapted, states) = run(&alif, 3.0, &[0.0, 0.0, 0.0], 2000);
        assert!(adapted < 0.8 * plain, "{adapted} vs {plain}");
        assert!(states[2] > 0.0);
        // One spike from rest: n = 0 + (dt / tau_n) * (inc_n * amplitude / dt - 0).
        let mut out = [0.0];
        let (mut v, mut r, mut n) = ([0.999], [0.0], [0.0]);
        alif.step(DT, &[10.0], &mut out, &mut [&mut v, &mut r, &mut n]);
        assert_eq!(out[0], 1.0 / DT);
        assert_eq!(n[0], (DT / 0.1) * (0.05 * (1.0 / DT)));

        let alifrate = kind("AdaptiveLIFRate", &[0.1, 0.05, 0.02, 0.002, 1.0]);
        let mut n = [0.5];
        alifrate.step(DT, &[3.0], &mut out, &mut [&mut n]);
        assert_eq!(out[0], lif_rate(0.02, 0.002, 1.0, 3.0 - 0.5), "input is J - n");
        assert_eq!(n[0], 0.5 + (DT / 0.1) * (0.05 * out[0] - 0.5));
    }

    #[test]
    fn izhikevich_spikes_reset_voltage_and_bump_recovery() {
        let k = kind("Izhikevich", &[0.02, 0.2, -65.0, 8.0]);
        let mut out = [0.0; 2];
        let (mut v, mut u) = ([29.9, -70.0], [-14.0, -14.0]);
        k.step(DT, &[10.0, -100.0], &mut out, &mut [&mut v, &mut u]);
        assert_eq!(out, [1.0 / DT, 0.0]);
        assert_eq!(v[0], -65.0);
        let du = (0.02 * (0.2 * -65.0 - -14.0)) * 1000.0;
        assert_eq!(u[0], -14.0 + du * DT + 8.0);
        // J below -30 is clipped to -30.
        let dv = (0.04 * (70.0 * 70.0) + 5.0 * -70.0 + 140.0 - -14.0 + -30.0) * 1000.0;
        assert_eq!(v[1], -70.0 + dv * DT);
        // Regular spiking at constant input.
        let (total, _) = run(&k, 10.0, &[-65.0, -13.0], 1000);
        assert!(total * DT > 5.0, "{}", total * DT);
    }

    #[test]
    fn counting_spikers_fire_at_their_rate() {
        for name in ["RegularSpiking", "SpikingRectifiedLinear"] {
            let k = kind(name, &[0.5]);
            let (total, states) = run(&k, 123.0, &[0.25], 1000);
            // floor(0.25 + 123) spikes of amplitude / dt.
            assert!((total * DT - 0.5 * 123.0).abs() < 1e-9, "{name}: {total}");
            assert!((states[0] - 0.25).abs() < 1e-9, "{name}: {}", states[0]);
        }
        // Only RegularSpiking passes negative rates through as negative spikes.
        let (total, _) = run(&kind("RegularSpiking", &[1.0]), -50.0, &[0.5], 100);
        assert!((total * DT + 5.0).abs() < 1e-9, "{total}");
        let (total, _) = run(&kind("SpikingRectifiedLinear", &[1.0]), -50.0, &[0.0], 100);
        assert_eq!(total, 0.0);
    }
}
