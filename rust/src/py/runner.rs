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
/// A state recorder's columns on this rank and its samples.
type StateArrays<'py> = (Bound<'py, PyArray1<u32>>, Bound<'py, PyArray2<f64>>);

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

    /// The longest delay (steps) of the synapses on this rank, 0 without synapses.
    #[getter]
    fn max_delay(&self) -> u64 {
        self.inner.max_delay()
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

    /// Records the spikes of population-local `ids` (all: None) in steps [first, stop).
    #[pyo3(signature = (population, ids, first_step, stop_step))]
    fn add_spike_recorder(
        &mut self,
        population: usize,
        ids: Option<PyReadonlyArray1<u32>>,
        first_step: u64,
        stop_step: Option<u64>,
    ) -> PyResult<usize> {
        let ids = ids.as_ref().map(|a| a.as_slice()).transpose()?;
        Ok(self.inner.add_spike_recorder(population, ids, first_step, stop_step)?)
    }

    /// Samples a state variable of `ids` at the steps of [first, stop) ending on a multiple of
    /// `every` steps.
    #[pyo3(signature = (population, variable, ids, first_step, stop_step, every))]
    fn add_state_recorder(
        &mut self,
        population: usize,
        variable: usize,
        ids: PyReadonlyArray1<u32>,
        first_step: u64,
        stop_step: Option<u64>,
        every: u64,
    ) -> PyResult<usize> {
        Ok(self.inner.add_state_recorder(population, variable, ids.as_slice()?, first_step, stop_step, every)?)
    }

    /// Counts the population's spikes per bin of `bin_steps` from `first_step`.
    #[pyo3(signature = (population, first_step, stop_step, bin_steps))]
    fn add_rate_recorder(
        &mut self,
        population: usize,
        first_step: u64,
        stop_step: Option<u64>,
        bin_steps: u64,
    ) -> PyResult<usize> {
        Ok(self.inner.add_rate_recorder(population, first_step, stop_step, bin_steps)?)
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

    fn take_spikes<'py>(&mut self, py: Python<'py>, recorder: usize) -> PyResult<SpikeArrays<'py>> {
        let (spikes, offsets) = self.inner.take_spikes(recorder)?;
        Ok((spikes.into_pyarray(py), offsets.into_pyarray(py)))
    }

    /// (columns held on this rank, samples: one row per sampled step).
    fn take_state<'py>(&mut self, py: Python<'py>, recorder: usize) -> PyResult<StateArrays<'py>> {
        let (columns, rows, values) = self.inner.take_state(recorder)?;
        let width = columns.len();
        let array = numpy::ndarray::Array2::from_shape_vec((rows, width), values)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok((columns.into_pyarray(py), array.into_pyarray(py)))
    }

    /// Spike counts of the bins completed before `until_step` not taken yet.
    fn take_rate<'py>(
        &mut self,
        py: Python<'py>,
        recorder: usize,
        until_step: u64,
    ) -> PyResult<Bound<'py, PyArray1<u64>>> {
        Ok(self.inner.take_rate(recorder, until_step)?.into_pyarray(py))
    }

    /// Bytes held by this rank's recorders.
    fn recording_bytes(&self) -> usize {
        self.inner.recording_bytes()
    }

    /// Spikes this rank's neurons emitted so far.
    fn spikes_emitted(&self) -> u64 {
        self.inner.spikes_emitted()
    }

    /// (seconds updating neurons, seconds delivering spikes) so far.
    fn phase_times(&self) -> (f64, f64) {
        let t = self.inner.phase_times();
        (t.update_s, t.delivery_s)
    }

    fn get_state<'py>(
        &mut self,
        py: Python<'py>,
        population: usize,
        variable: usize,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        Ok(self.inner.get_state(population, variable)?.into_pyarray(py))
    }

    /// Makes `step` the next step to compute (restoring a checkpoint); only before the first.
    fn start_at(&mut self, step: u64) -> PyResult<()> {
        Ok(self.inner.start_at(step)?)
    }

    /// The input buffered for the population's local neurons for the next `lags` steps:
    /// receptors x lags x neurons, flattened.
    fn get_input<'py>(&self, py: Python<'py>, population: usize, lags: usize) -> PyResult<Bound<'py, PyArray1<f64>>> {
        Ok(self.inner.get_input(population, lags)?.into_pyarray(py))
    }

    /// Adds input for the next `lags` steps, laid out as `get_input` gives it.
    fn add_input(&mut self, population: usize, lags: usize, values: PyReadonlyArray1<f64>) -> PyResult<()> {
        Ok(self.inner.add_input(population, lags, values.as_slice()?)?)
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
