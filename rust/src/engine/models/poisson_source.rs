//! A population of independent Poisson spike generators. At most one spike per step, with
//! probability 1 - exp(-rate*dt) (the chance of at least one event of the process in the step).

use super::{constants_array, StepContext};
use crate::engine::error::EngineError;
use crate::engine::rng;

pub const N_STATE: usize = 0;

#[derive(Clone, Debug)]
pub struct PoissonSourceConstants {
    pub p_spike: f64,
    pub key: u64,
}

impl PoissonSourceConstants {
    pub fn from_slice(c: &[f64], key: u64) -> Result<Self, EngineError> {
        let [p_spike] = constants_array::<1>("poisson_source", c)?;
        Ok(Self { p_spike, key })
    }
}

pub fn update(c: &PoissonSourceConstants, ctx: &StepContext, spiked: &mut [u8]) {
    let step_key = rng::subkey(c.key, ctx.step);
    for (flag, &gid) in spiked.iter_mut().zip(ctx.gids) {
        *flag = (rng::uniform(rng::bits(step_key, gid as u64)) < c.p_spike) as u8;
    }
}
