//! A population of independent Poisson spike generators. At most one spike per step, with
//! probability 1 - exp(-rate*dt) (the chance of at least one event of the process in the step).

use super::constants::{kernel_constants, ConstantReader};
use super::{names_of, Kernel, Model, StepContext};
use crate::engine::rng;

pub const STATE: &[&str] = &[];

kernel_constants! {
    pub struct PoissonSourceConstants {
        /// Probability of a spike in a step, 1 - exp(-rate dt).
        p_spike,
    }
}

pub const MODEL: Model = Model {
    name: "poisson_source",
    state: STATE,
    constant_names: || names_of(PoissonSourceConstants::NAMES),
    new: |c: &mut ConstantReader, key| Ok(Box::new(PoissonSource { c: PoissonSourceConstants::read(c, "")?, key })),
};

#[derive(Clone, Debug)]
pub struct PoissonSource {
    pub c: PoissonSourceConstants,
    /// The population's random stream: draw (step, gid) decides a spike.
    pub key: u64,
}

impl Kernel for PoissonSource {
    /// Takes no input (it has no synapses; the slot is cleared all the same).
    fn update(
        &mut self,
        ctx: &StepContext,
        _state: &mut [Vec<f64>],
        input_ex: &mut [f64],
        _input_in: &mut [f64],
        spiked: &mut [u8],
        _spike_offset: &mut [f64],
    ) {
        let step_key = rng::subkey(self.key, ctx.step);
        for (flag, &gid) in spiked.iter_mut().zip(ctx.gids) {
            *flag = (rng::uniform(rng::bits(step_key, gid as u64)) < self.c.p_spike) as u8;
        }
        input_ex.fill(0.0);
    }

    fn receptors(&self) -> usize {
        1
    }
}
