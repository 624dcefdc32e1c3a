//! The engine's random streams as Python sees them, so that tests can check their numpy twin
//! (`spikeshard.rng`) against them bit for bit. Nothing in the simulation calls these.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::engine::rng;

type Draws<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>);

/// (64 random bits, uniform in [0, 1), uniform in (0, 1]) for each counter `b` of stream `key`
/// at `a` (a step or a target id).
#[pyfunction]
pub fn random_draws<'py>(py: Python<'py>, key: u64, a: u64, b: PyReadonlyArray1<'py, u64>) -> PyResult<Draws<'py>> {
    let subkey = rng::subkey(key, a);
    let bits: Vec<u64> = b.as_array().iter().map(|&b| rng::bits(subkey, b)).collect();
    let uniform: Vec<f64> = bits.iter().map(|&x| rng::uniform(x)).collect();
    let uniform_open0: Vec<f64> = bits.iter().map(|&x| rng::uniform_open0(x)).collect();
    Ok((bits.into_pyarray(py), uniform.into_pyarray(py), uniform_open0.into_pyarray(py)))
}

/// Poisson counts of the uniforms `u` against a cumulative table `cdf` ending in 1.0 (as
/// `spikeshard.rng.poisson_table` builds it).
#[pyfunction]
pub fn poisson_counts<'py>(
    py: Python<'py>,
    u: PyReadonlyArray1<'py, f64>,
    cdf: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (u, cdf) = (u.as_slice()?, cdf.as_slice()?);
    if cdf.last() != Some(&1.0) {
        return Err(PyValueError::new_err("cdf: expected a cumulative table ending in 1.0"));
    }
    let mut counts = vec![0.0; u.len()];
    rng::poisson_counts(u, cdf, &mut counts);
    Ok(counts.into_pyarray(py))
}
