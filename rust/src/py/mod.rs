//! pyo3 bindings: conversions and the thin `NetworkRunner` wrapper. No simulation logic here.

mod convert;
mod nengo;
mod nengo_neurons;
mod runner;

use pyo3::prelude::*;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<runner::PyNetworkRunner>()?;
    m.add_class::<convert::PyProjectionSpec>()?;
    m.add_class::<nengo::PyNengoProgram>()?;
    m.add_function(wrap_pyfunction!(nengo_neurons::nengo_step_neurons, m)?)?;
    m.add_function(wrap_pyfunction!(convert::build_synapse_table, m)?)?;
    m.add_function(wrap_pyfunction!(convert::supported_kernels, m)?)?;
    m.add_function(wrap_pyfunction!(convert::step_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(convert::simd_level, m)?)?;
    // Storage sizes the memory estimate (`spikeshard.memory`) is computed from.
    m.add("MAX_BLOCK_LEN", crate::engine::synapses::MAX_BLOCK_LEN)?;
    m.add("NARROW_BLOCKS", crate::engine::synapses::NARROW_BLOCKS)?;
    m.add("INDEX_ROW_BYTES", std::mem::size_of::<crate::engine::source_index::Row>())?;
    Ok(())
}
