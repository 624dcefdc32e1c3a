//! pyo3 bindings: conversions and the thin `NetworkRunner` wrapper. No simulation logic here.

mod convert;
mod nengo;
mod nengo_neurons;
mod rng;
mod runner;

use pyo3::prelude::*;

use crate::engine::connect::MAX_DELAY_STEPS;
use crate::engine::runner::{DEFAULT_BLOCK_SIZE, MAX_THREADS, PARALLEL_MIN_WORK};
use crate::engine::source_index::Row;
use crate::engine::spike::GID_BITS;
use crate::engine::synapses::{MAX_BLOCK_LEN, NARROW_BLOCKS};
use crate::nengo::ops::{PARALLEL_MIN_NEURONS, PARALLEL_MIN_PRODUCTS};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Limits and formats the Python layer reads instead of writing them again.
    m.add("MAX_THREADS", MAX_THREADS)?;
    m.add("DEFAULT_BLOCK_SIZE", DEFAULT_BLOCK_SIZE)?;
    m.add("MAX_DELAY_STEPS", MAX_DELAY_STEPS)?;
    m.add("GID_BITS", GID_BITS)?;
    m.add("PARALLEL_MIN_WORK", PARALLEL_MIN_WORK)?;
    m.add("PARALLEL_MIN_NEURONS", PARALLEL_MIN_NEURONS)?;
    m.add("PARALLEL_MIN_PRODUCTS", PARALLEL_MIN_PRODUCTS)?;
    // Storage sizes the memory estimate (`spikeshard.memory`) is computed from.
    m.add("MAX_BLOCK_LEN", MAX_BLOCK_LEN)?;
    m.add("NARROW_BLOCKS", NARROW_BLOCKS)?;
    m.add("INDEX_ROW_BYTES", std::mem::size_of::<Row>())?;
    m.add_class::<runner::PyNetworkRunner>()?;
    m.add_class::<convert::PyProjectionSpec>()?;
    m.add_class::<nengo::PyNengoProgram>()?;
    m.add("OverlapError", m.py().get_type::<nengo::OverlapError>())?;
    m.add_function(wrap_pyfunction!(nengo_neurons::nengo_step_neurons, m)?)?;
    m.add_function(wrap_pyfunction!(convert::build_synapse_table, m)?)?;
    m.add_function(wrap_pyfunction!(convert::supported_kernels, m)?)?;
    m.add_function(wrap_pyfunction!(convert::kernel_names, m)?)?;
    m.add_function(wrap_pyfunction!(convert::step_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(convert::simd_level, m)?)?;
    m.add_function(wrap_pyfunction!(rng::random_draws, m)?)?;
    m.add_function(wrap_pyfunction!(rng::poisson_counts, m)?)?;
    Ok(())
}
