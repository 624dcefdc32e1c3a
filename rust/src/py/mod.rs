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
    m.add_function(wrap_pyfunction!(convert::kernel_names, m)?)?;
    m.add_function(wrap_pyfunction!(convert::step_kernel, m)?)?;
    m.add_function(wrap_pyfunction!(convert::simd_level, m)?)?;
    Ok(())
}
