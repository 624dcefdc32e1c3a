//! Binding of the nengo operator program: Python lowers operators into calls here.
//!
//! Conversions only: operands arrive as numpy arrays (nengo's signals) with optional element
//! offsets and become [`Span`]s; the program keeps a reference to every array it addresses,
//! so the memory stays alive and in place for as long as the program exists. Parsing and
//! checking (lengths, offsets against the array's extent, specs, the overlap rule) live in
//! `crate::nengo`, which reports one error type, [`NengoError`], turned into Python's
//! exceptions here in one place.

use numpy::{Element, IntoPyArray, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::create_exception;
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;

use crate::nengo::error::{NengoError, NengoResult};
use crate::nengo::filters::{FilterKind, LinearFilter};
use crate::nengo::learning::LearningRule;
use crate::nengo::noise::{LegacyRandomState, WhiteNoise};
use crate::nengo::ops::{Matrix, Op};
use crate::nengo::program::Program;
use crate::nengo::span::{extent, Span};
use crate::nengo::tables::{RowRule, TableProcess};

create_exception!(
    _engine,
    OverlapError,
    PyValueError,
    "An operator whose written elements overlap the ones its step reads."
);

impl From<NengoError> for PyErr {
    fn from(error: NengoError) -> PyErr {
        match error {
            NengoError::Invalid(message) => PyValueError::new_err(message),
            NengoError::OutOfRange(message) => PyIndexError::new_err(message),
            NengoError::Overlap(message) => OverlapError::new_err(message),
        }
    }
}

/// An operand: a float64 array and, optionally, the element offsets (from its first element)
/// of the elements used, in order. Without offsets the array must be C-contiguous.
type Operand<'py> = (Bound<'py, PyArrayDyn<f64>>, Option<PyReadonlyArray1<'py, i64>>);

/// The element extent (lowest, highest offset) of `array` (see `span::extent`).
fn array_extent(array: &Bound<'_, PyArrayDyn<f64>>) -> NengoResult<(isize, isize)> {
    extent(array.shape(), array.strides())
}

fn check_writeable(array: &Bound<'_, PyArrayDyn<f64>>, what: &str) -> PyResult<()> {
    let writeable: bool = array.getattr("flags")?.getattr("writeable")?.extract()?;
    if writeable {
        Ok(())
    } else {
        Err(NengoError::Invalid(format!("{what}: the signal is read-only")).into())
    }
}

#[pyclass(module = "spikeshard._engine", name = "NengoProgram", unsendable)]
pub struct PyNengoProgram {
    program: Program,
    /// Every array a span points into, kept alive (and so in place) with the program.
    arrays: Vec<Py<PyAny>>,
}

impl PyNengoProgram {
    /// The address of `array`'s first element; the program keeps the array alive (and so the
    /// address valid) for as long as it exists.
    fn keep<T: Element>(&mut self, array: &Bound<'_, PyArrayDyn<T>>) -> *mut T {
        self.arrays.push(array.clone().into_any().unbind());
        array.data()
    }

    /// The address of a C-contiguous array the program only reads (a matrix or a table).
    fn keep_contiguous(&mut self, array: &Bound<'_, PyArrayDyn<f64>>, what: &str) -> PyResult<*const f64> {
        if !array.is_c_contiguous() {
            return Err(NengoError::Invalid(format!("{what} must be C-contiguous")).into());
        }
        Ok(self.keep(array))
    }

    fn span(&mut self, operand: &Operand<'_>, writes: bool, what: &str) -> PyResult<Span> {
        let (array, offsets) = operand;
        if writes {
            check_writeable(array, what)?;
        }
        let ptr = self.keep(array);
        match offsets {
            None if array.is_c_contiguous() => Ok(Span::Contiguous { ptr, len: array.len() }),
            None => Err(NengoError::Invalid(format!("{what}: a non-contiguous signal needs offsets")).into()),
            Some(offsets) => {
                let offsets: Vec<isize> = offsets.as_array().iter().map(|&o| o as isize).collect();
                Ok(Span::gather(ptr, offsets, array_extent(array)?, what)?)
            }
        }
    }

    fn contiguous(&mut self, array: &Bound<'_, PyArrayDyn<f64>>, writes: bool, what: &str) -> PyResult<Span> {
        self.span(&(array.clone(), None), writes, what)
    }

    fn push(&mut self, op: Op) -> PyResult<()> {
        Ok(self.program.push(op)?)
    }
}

#[pymethods]
impl PyNengoProgram {
    /// An empty program; its large operators (neuron populations, block products) use
    /// `threads` threads (1 to 1024). With `fuse`, an operator that does the same thing as
    /// the one before it to the memory right after it is fused into it (`Op::absorb`).
    #[new]
    #[pyo3(signature = (threads=1, fuse=false))]
    fn new(threads: usize, fuse: bool) -> PyResult<Self> {
        let mut program = Program::with_threads(threads)?;
        program.set_fuse(fuse);
        Ok(PyNengoProgram { program, arrays: Vec::new() })
    }

    /// Threads the large operators use.
    #[getter]
    fn threads(&self) -> usize {
        self.program.n_threads()
    }

    fn add_time_update(
        &mut self,
        step: &Bound<'_, PyArrayDyn<i64>>,
        time: &Bound<'_, PyArrayDyn<f64>>,
        dt: f64,
    ) -> PyResult<()> {
        if step.len() != 1 || time.len() != 1 {
            return Err(NengoError::Invalid("TimeUpdate: step and time must be scalars".into()).into());
        }
        check_writeable(time, "TimeUpdate time")?;
        let (step, time) = (self.keep(step), self.keep(time));
        self.push(Op::TimeUpdate { step, time, dt })
    }

    fn add_reset(&mut self, dst: Operand<'_>, value: f64) -> PyResult<()> {
        let dst = self.span(&dst, true, "Reset dst")?;
        self.push(Op::Reset { dst, value })
    }

    fn add_copy(&mut self, src: Operand<'_>, dst: Operand<'_>, inc: bool) -> PyResult<()> {
        let src = self.span(&src, false, "Copy src")?;
        let dst = self.span(&dst, true, "Copy dst")?;
        self.push(Op::copy(src, dst, inc)?)
    }

    fn add_elementwise_inc(&mut self, a: Operand<'_>, x: Operand<'_>, y: Operand<'_>) -> PyResult<()> {
        let a = self.span(&a, false, "ElementwiseInc A")?;
        let x = self.span(&x, false, "ElementwiseInc X")?;
        let y = self.span(&y, true, "ElementwiseInc Y")?;
        self.push(Op::elementwise_inc(a, x, y)?)
    }

    /// `y += a @ x` for a 2-D `a` with any strides.
    fn add_dot_inc(&mut self, a: &Bound<'_, PyArrayDyn<f64>>, x: Operand<'_>, y: Operand<'_>) -> PyResult<()> {
        let [rows, cols] = a.shape() else {
            return Err(NengoError::Invalid("DotInc: A must be 2-D".into()).into());
        };
        let (rows, cols) = (*rows, *cols);
        let strides = [a.strides()[0], a.strides()[1]];
        let matrix = Matrix::new(self.keep(a), rows, cols, strides)?;
        let x = self.span(&x, false, "DotInc X")?;
        let y = self.span(&y, true, "DotInc Y")?;
        self.push(Op::dot_inc(matrix, x, y)?)
    }

    /// `y += A @ x` for a block-sparse matrix: `blocks` (n_blocks, br, bc), C-contiguous.
    fn add_bsr_dot_inc(
        &mut self,
        blocks: &Bound<'_, PyArrayDyn<f64>>,
        indices: Vec<usize>,
        indptr: Vec<usize>,
        x: Operand<'_>,
        y: Operand<'_>,
    ) -> PyResult<()> {
        let [n_blocks, br, bc] = blocks.shape() else {
            return Err(NengoError::Invalid("BsrDotInc: blocks must be 3-D".into()).into());
        };
        let (n_blocks, br, bc) = (*n_blocks, *br, *bc);
        let blocks = self.keep_contiguous(blocks, "BsrDotInc blocks")?;
        let x = self.span(&x, false, "BsrDotInc X")?;
        let y = self.span(&y, true, "BsrDotInc Y")?;
        self.push(Op::bsr_dot_inc(blocks, n_blocks, br, bc, indices, indptr, x, y)?)
    }

    /// `y += A @ x` for a CSR matrix (`data`, `indices`, `indptr`).
    fn add_csr_dot_inc(
        &mut self,
        data: &Bound<'_, PyArrayDyn<f64>>,
        indices: Vec<usize>,
        indptr: Vec<usize>,
        x: Operand<'_>,
        y: Operand<'_>,
    ) -> PyResult<()> {
        let n_entries = data.len();
        let data = self.keep_contiguous(data, "SparseDotInc data")?;
        let x = self.span(&x, false, "SparseDotInc X")?;
        let y = self.span(&y, true, "SparseDotInc Y")?;
        self.push(Op::csr_dot_inc(data, n_entries, indices, indptr, x, y)?)
    }

    /// A `SimNeurons` step; `j`, `out` and `states` contiguous, of equal length and disjoint.
    fn add_neurons(
        &mut self,
        name: &str,
        params: Vec<f64>,
        dt: f64,
        j: &Bound<'_, PyArrayDyn<f64>>,
        out: &Bound<'_, PyArrayDyn<f64>>,
        states: Vec<Bound<'_, PyArrayDyn<f64>>>,
    ) -> PyResult<()> {
        let j = self.contiguous(j, false, "SimNeurons J")?;
        let out = self.contiguous(out, true, "SimNeurons output")?;
        let states = states.iter().map(|s| self.contiguous(s, true, "SimNeurons state")).collect::<PyResult<_>>()?;
        self.push(Op::neurons(name, &params, dt, j, out, states)?)
    }

    /// A linear filter step. `form` is nengo's step class (`NoX`, `OneX`, `NoD`, `General`);
    /// `a` (order × order, row-major), `b`, `c` (order), `d` its discretised matrices.
    #[allow(clippy::too_many_arguments)]
    fn add_linear_filter(
        &mut self,
        form: &str,
        a: Vec<f64>,
        b: Vec<f64>,
        c: Vec<f64>,
        d: f64,
        input: Operand<'_>,
        output: Operand<'_>,
        state: &Bound<'_, PyArrayDyn<f64>>,
        inc: bool,
    ) -> PyResult<()> {
        let kind = FilterKind::from_form(form, a, b, c, d)?;
        let input = self.span(&input, false, "filter input")?;
        let output = self.span(&output, true, "filter output")?;
        let state = self.contiguous(state, true, "filter state")?;
        self.push(Op::Filter(LinearFilter::new(kind, input, output, state, inc)?))
    }

    /// An input process emitting row `rule(t)` of `rows` (n_rows × width, C-contiguous) into
    /// `output` (width elements), set or added (`inc`). `rule` is `presentation`
    /// (`PresentInput`: needs `presentation_time`), `piecewise` (`Piecewise`, zero
    /// interpolation: needs the sorted `times`, one fewer than the rows, whose first row holds
    /// the zeros before the first time) or `periodic` (`WhiteSignal`: one period of rows);
    /// `time` is the simulator's time signal, `dt` its step.
    #[pyo3(signature = (rule, rows, time, output, inc, *, dt, presentation_time=None, times=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_table_process(
        &mut self,
        rule: &str,
        rows: &Bound<'_, PyArrayDyn<f64>>,
        time: &Bound<'_, PyArrayDyn<f64>>,
        output: Operand<'_>,
        inc: bool,
        dt: f64,
        presentation_time: Option<f64>,
        times: Option<Vec<f64>>,
    ) -> PyResult<()> {
        let [n_rows, width] = rows.shape() else {
            return Err(
                NengoError::Invalid(format!("table process: rows must be 2-D, got shape {:?}", rows.shape())).into()
            );
        };
        let (n_rows, width) = (*n_rows, *width);
        if time.len() != 1 {
            return Err(NengoError::Invalid(format!(
                "table process: time must be a scalar signal, got {} elements",
                time.len()
            ))
            .into());
        }
        let rule = RowRule::from_spec(rule, dt, presentation_time, times, n_rows)?;
        let rows = self.keep_contiguous(rows, "table process rows")?;
        let output = self.span(&output, true, "table process output")?;
        let time = self.keep(time) as *const f64;
        self.push(Op::Table(TableProcess::new(rule, rows, n_rows, width, time, output, inc)?))
    }

    /// A `WhiteNoise` process writing `output` (set or added, `inc`): one sample of `dist`
    /// (`gaussian` with params mean, std; `uniform` with low, high - low) per element, times
    /// `alpha` if given. Its random state starts empty (all zero words): set it with
    /// `set_noise_state` before stepping. Returns the noise operator's id.
    #[pyo3(signature = (dist, params, alpha, output, inc))]
    fn add_white_noise(
        &mut self,
        dist: &str,
        params: Vec<f64>,
        alpha: Option<f64>,
        output: Operand<'_>,
        inc: bool,
    ) -> PyResult<usize> {
        let output = self.span(&output, true, "noise output")?;
        let noise = WhiteNoise::new(dist, &params, alpha, output, inc)?;
        let id = self.program.noises_mut().count();
        self.push(Op::Noise(noise))?;
        Ok(id)
    }

    /// Sets noise operator `id`'s generator to numpy's `RandomState.get_state()`:
    /// `key` (624 words), `pos`, and the cached Gaussian (`gauss` when `has_gauss`).
    fn set_noise_state(
        &mut self,
        id: usize,
        key: PyReadonlyArray1<'_, u32>,
        pos: usize,
        has_gauss: bool,
        gauss: f64,
    ) -> PyResult<()> {
        let key = key.as_slice().map_err(|_| NengoError::Invalid("noise state: key must be contiguous".into()))?;
        let state = LegacyRandomState::from_state(key, pos, has_gauss.then_some(gauss))?;
        if !self.program.set_noise_state(id, state) {
            return Err(NengoError::OutOfRange(format!("no noise operator {id}")).into());
        }
        Ok(())
    }

    /// A learning rule writing `delta` (rows × cols). `rule` is `PES` (post = error),
    /// `BCM` (extra = theta), `Oja` (matrix = weights, `beta`) or `Voja` (extra = learning
    /// signal, matrix = scaled encoders, `scale`); `alpha` as nengo's step computes it.
    #[pyo3(signature = (rule, alpha, pre, post, delta, *, extra=None, matrix=None, beta=0.0, scale=None))]
    #[allow(clippy::too_many_arguments)]
    fn add_learning_rule(
        &mut self,
        rule: &str,
        alpha: f64,
        pre: Operand<'_>,
        post: Operand<'_>,
        delta: Operand<'_>,
        extra: Option<Operand<'_>>,
        matrix: Option<Operand<'_>>,
        beta: f64,
        scale: Option<Vec<f64>>,
    ) -> PyResult<()> {
        let pre = self.span(&pre, false, "learning rule pre")?;
        let post = self.span(&post, false, "learning rule post")?;
        let delta = self.span(&delta, true, "learning rule delta")?;
        let extra = extra.map(|e| self.span(&e, false, "learning rule input")).transpose()?;
        let matrix = matrix.map(|m| self.span(&m, false, "learning rule matrix")).transpose()?;
        let rule = LearningRule::new(rule, alpha, pre, post, delta, extra, matrix, beta, scale)?;
        self.push(Op::Learning(rule))
    }

    /// Closes the current segment (a Python operator runs next); returns its index.
    fn end_segment(&mut self) -> usize {
        self.program.end_segment()
    }

    /// Makes segments `0..n` the step that `run_steps` repeats (later segments run only
    /// through `run_segment`).
    fn end_step(&mut self, n: usize) -> PyResult<()> {
        if self.program.end_step(n) {
            Ok(())
        } else {
            Err(NengoError::OutOfRange(format!("end_step({n}): only {} segments", self.program.n_segments())).into())
        }
    }

    #[getter]
    fn n_segments(&self) -> usize {
        self.program.n_segments()
    }

    #[getter]
    fn n_ops(&self) -> usize {
        self.program.n_ops()
    }

    /// Probes a signal every `period` steps; returns the probe's id for `take_samples`.
    fn add_probe(&mut self, signal: Operand<'_>, period: f64) -> PyResult<usize> {
        if period.is_nan() || period <= 0.0 {
            return Err(NengoError::Invalid(format!("probe period must be > 0 steps, got {period}")).into());
        }
        let signal = self.span(&signal, false, "probe")?;
        Ok(self.program.add_probe(signal, period))
    }

    fn run_segment(&mut self, segment: usize) -> PyResult<()> {
        if segment >= self.program.n_segments() {
            return Err(NengoError::OutOfRange(format!("no segment {segment}")).into());
        }
        // SAFETY: every span points into an array held by `self.arrays`, checked at build.
        unsafe { self.program.run_segment(segment) };
        Ok(())
    }

    fn record_probes(&mut self) {
        // SAFETY: as in `run_segment`.
        unsafe { self.program.record_probes() };
    }

    /// Runs `n_steps` whole steps and samples the probes (no Python operators in between).
    ///
    /// The GIL stays held while Rust steps, unlike the spiking runner's `advance`: every
    /// span points into a numpy array that Python code may read, write, or make a new view
    /// of at any moment it runs (`sim.signals`, a probe's user, another thread of the
    /// script), and numpy gives no lock but the GIL. Released, another thread could write
    /// an array while an operator reads it (a data race, undefined behaviour in Rust) or
    /// see a half-written step. The steps still use every core when `threads` > 1: rayon's
    /// pool runs them and does not need the GIL.
    fn run_steps(&mut self, n_steps: u64) {
        // SAFETY: as in `run_segment`.
        unsafe { self.program.run_steps(n_steps) };
    }

    /// The samples of probe `id` since the last call, one row per sample of `size` elements.
    fn take_samples<'py>(&mut self, py: Python<'py>, id: usize, size: usize) -> PyResult<Bound<'py, PyArray2<f64>>> {
        if id >= self.program.n_probes() {
            return Err(NengoError::OutOfRange(format!("no probe {id}")).into());
        }
        let samples = self.program.take_samples(id);
        let rows = samples.len().checked_div(size).unwrap_or(0);
        samples.into_pyarray(py).reshape([rows, size])
    }

    fn clear_samples(&mut self) {
        self.program.clear_samples();
    }
}
