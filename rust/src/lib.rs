//! spikeshard's native core. `engine` is plain Rust (tested with `cargo test`); `py` holds the
//! pyo3 bindings, compiled only with the `python` feature that maturin enables.

pub mod engine;
pub mod nengo;

#[cfg(test)]
mod test_support;

#[cfg(feature = "python")]
mod py;

#[cfg(feature = "python")]
use pyo3::prelude::*;

/// The `spikeshard._engine` extension module.
#[cfg(feature = "python")]
#[pymodule]
fn _engine(m: &Bound<'_, PyModule>) -> PyResult<()> {
    py::register(m)
}
