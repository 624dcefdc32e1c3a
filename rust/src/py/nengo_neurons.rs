//! `nengo_step_neurons`: steps one nengo neuron kernel on numpy arrays, for tests that compare
//! the Rust kernels with nengo's own `NeuronType.step`.

use numpy::{PyReadonlyArray1, PyReadwriteArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::nengo::neurons::NeuronKind;

/// Steps the neuron type `name` with `params` (see `spikeshard.nengo.neurons.neuron_spec`)
/// `n_steps` times by `dt` seconds at constant input `j`, updating `out` and `states` in place.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn nengo_step_neurons(
    py: Python<'_>,
    name: &str,
    params: Vec<f64>,
    dt: f64,
    j: PyReadonlyArray1<f64>,
    mut out: PyReadwriteArray1<f64>,
    mut states: Vec<PyReadwriteArray1<f64>>,
    n_steps: usize,
) -> PyResult<()> {
    let kind = NeuronKind::from_spec(name, &params)?;
    if states.len() != kind.n_states() {
        return Err(PyValueError::new_err(format!(
            "{name} takes {} state arrays, got {}",
            kind.n_states(),
            states.len()
        )));
    }
    let contiguous = |what: &str| PyValueError::new_err(format!("{what} must be C-contiguous"));
    let j = j.as_slice().map_err(|_| contiguous("j"))?;
    let out = out.as_slice_mut().map_err(|_| contiguous("out"))?;
    let mut states: Vec<&mut [f64]> =
        states.iter_mut().map(|s| s.as_slice_mut().map_err(|_| contiguous("states"))).collect::<PyResult<_>>()?;
    if out.len() != j.len() || states.iter().any(|s| s.len() != j.len()) {
        return Err(PyValueError::new_err(format!("out and states must have the length of j ({})", j.len())));
    }
    py.detach(|| {
        for _ in 0..n_steps {
            kind.step(dt, j, out, &mut states);
        }
    });
    Ok(())
}
