//! `spikeshard._engine.NetworkRunner`: the engine's `Runner` held by Python. Every call that
//! computes releases the GIL.

use std::collections::HashMap;

use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use super::convert::PyProjectionSpec;
use crate::engine::runner::{Runner, DEFAULT_BLOCK_SIZE};

/// Recorded spikes (packed) and their sub-step offsets.
type SpikeArrays<'py> = (Bound<'py, PyArray1<u64>>, Bound<'py, PyArray1<f64>>);

#[pyclass(module = "spikeshard._engine", name = "NetworkRunner")]
pub struct PyNetworkRunner {
    inner: Runner,
}

#[pymethods]
impl PyNetworkRunner {
    #[new]
    #[pyo3(signature = (dt, n_threads=1))]
    fn new(dt: f64, n_threads: usize) -> PyResult<Self> {
        Ok(Self { inner: Runner::new(dt, n_threads)? })
    }

    #[getter]
    fn step(&self) -> u64 {
        self.inner.step()
    }

    #[getter]
    fn n_threads(&self) -> usize {
        self.inner.n_threads()
    }

    /// Adds a population's local neurons; `state` is a list of arrays, one per variable.
    #[pyo3(signature = (kernel, constants, key, first_gid, size, locals, state, block_size=DEFAULT_BLOCK_SIZE))]
    #[allow(clippy::too_many_arguments)]
    fn add_population(
        &mut self,
        kernel: &str,
        constants: HashMap<String, f64>,
        key: u64,
        first_gid: u32,
        size: u32,
        locals: PyReadonlyArray1<u32>,
        state: Vec<PyReadonlyArray1<f64>>,
        block_size: usize,
    ) -> PyResult<usize> {
        let state = state.iter().map(|v| v.as_array().to_vec()).collect();
        Ok(self.inner.add_population(
            kernel,
            &constants,
            key,
            first_gid,
            size,
            locals.as_slice()?,
            state,
            block_size,
        )?)
    }

    fn add_projection(&mut self, py: Python<'_>, post: usize, spec: &PyProjectionSpec) -> PyResult<usize> {
        let inner = &mut self.inner;
        Ok(py.detach(|| inner.add_projection(post, &spec.spec))?)
    }

    fn add_drive(
        &mut self,
        population: usize,
        targets: PyReadonlyArray1<u32>,
        weight: f64,
        key: u64,
        n_chunks: u32,
        cdf: PyReadonlyArray1<f64>,
    ) -> PyResult<()> {
        Ok(self.inner.add_drive(population, targets.as_slice()?, weight, key, n_chunks, cdf.as_slice()?)?)
    }

    fn record_spikes(&mut self, population: usize) -> PyResult<()> {
        Ok(self.inner.record_spikes(population)?)
    }

    fn add_recorder(&mut self, population: usize, variable: usize, ids: PyReadonlyArray1<u32>) -> PyResult<usize> {
        Ok(self.inner.add_recorder(population, variable, ids.as_slice()?)?)
    }

    /// The longest exchange interval this rank's synapses allow (None without synapses): the
    /// smallest delay, one step more when every kernel receiving synapses takes its input
    /// after the step (LIF).
    fn longest_interval(&self) -> Option<u64> {
        self.inner.longest_interval()
    }

    fn prepare(&mut self, interval: u64, max_delay: u64) -> PyResult<()> {
        Ok(self.inner.prepare(interval, max_delay)?)
    }

    /// Advances one interval; returns this rank's spikes (packed `step << 32 | gid`, sorted).
    fn advance<'py>(&mut self, py: Python<'py>, n_steps: u64) -> Bound<'py, PyArray1<u64>> {
        let inner = &mut self.inner;
        let spikes = py.detach(|| inner.advance(n_steps).to_vec());
        spikes.into_pyarray(py)
    }

    fn deliver(&mut self, py: Python<'_>, spikes: PyReadonlyArray1<u64>) -> PyResult<()> {
        let spikes = spikes.as_slice()?;
        if spikes.windows(2).any(|w| w[0] > w[1]) {
            return Err(PyValueError::new_err("deliver: spikes must be sorted"));
        }
        let inner = &mut self.inner;
        py.detach(|| inner.deliver(spikes));
        Ok(())
    }

    /// One process: runs `n_steps` in intervals, delivering its own spikes.
    fn run(&mut self, py: Python<'_>, n_steps: u64, interval: u64) {
        let inner = &mut self.inner;
        py.detach(|| inner.run(n_steps, interval));
    }

    fn take_spikes<'py>(&mut self, py: Python<'py>, population: usize) -> PyResult<SpikeArrays<'py>> {
        let (spikes, offsets) = self.inner.take_spikes(population)?;
        Ok((spikes.into_pyarray(py), offsets.into_pyarray(py)))
    }

    fn take_recorder<'py>(
        &mut self,
        py: Python<'py>,
        id: usize,
        n_columns: usize,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let (rows, values) = self.inner.take_recorder(id, n_columns)?;
        let array = numpy::ndarray::Array2::from_shape_vec((rows, n_columns), values)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(array.into_pyarray(py))
    }

    fn get_state<'py>(
        &mut self,
        py: Python<'py>,
        population: usize,
        variable: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        Ok(self.inner.get_state(population, variable)?.into_pyarray(py))
    }

    /// The global ids of the neurons with synapses on this rank, ascending.
    fn source_gids<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyArray1<u32>> {
        self.inner.source_gids().into_pyarray(py)
    }

    /// (synapses on this rank, bytes holding them).
    fn synapse_footprint(&self) -> (usize, usize) {
        self.inner.synapse_footprint()
    }
}
