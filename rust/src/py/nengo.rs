//! Binding of the nengo operator program: Python lowers operators into calls here.
//!
//! Operands arrive as numpy arrays (nengo's signals) with optional element offsets; the
//! program keeps a reference to every array it addresses, so the memory stays alive and in
//! place for as long as the program exists, and checks each offset against its array's
//! extent, so no operator reads or writes outside the arrays it was given.

use numpy::{Element, IntoPyArray, PyArray2, PyArrayDyn, PyArrayMethods, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;

use crate::nengo::filters::{FilterKind, LinearFilter};
use crate::nengo::learning::{LearningRule, Rule};
use crate::nengo::neurons::NeuronKind;
use crate::nengo::noise::{LegacyRandomState, NoiseDist, WhiteNoise, MT_N};
use crate::nengo::ops::{Matrix, Op, Pattern};
use crate::nengo::program::Program;
use crate::nengo::span::Span;
use crate::nengo::tables::{RowRule, TableProcess};

/// An operand: a float64 array and, optionally, the element offsets (from its first element)
/// of the elements used, in order. Without offsets the array must be C-contiguous.
type Operand<'py> = (Bound<'py, PyArrayDyn<f64>>, Option<PyReadonlyArray1<'py, i64>>);

/// Lowest and highest element offset an array's shape and strides reach.
fn extent(array: &Bound<'_, PyArrayDyn<f64>>) -> PyResult<(isize, isize)> {
    let (mut low, mut high) = (0isize, 0isize);
    for (&dim, &stride) in array.shape().iter().zip(array.strides()) {
        if stride % 8 != 0 {
            return Err(PyValueError::new_err(format!("stride {stride} bytes is not a multiple of float64")));
        }
        if dim == 0 {
            return Ok((0, -1));
        }
        let reach = (dim as isize - 1) * (stride / 8);
        if reach < 0 {
            low += reach;
        } else {
            high += reach;
        }
    }
    Ok((low, high))
}

fn check_writeable(array: &Bound<'_, PyArrayDyn<f64>>, what: &str) -> PyResult<()> {
    let writeable: bool = array.getattr("flags")?.getattr("writeable")?.extract()?;
    if writeable {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!("{what}: the signal is read-only")))
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
            return Err(PyValueError::new_err(format!("{what} must be C-contiguous")));
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
            None => Err(PyValueError::new_err(format!("{what}: a non-contiguous signal needs offsets"))),
            Some(offsets) => {
                let (low, high) = extent(array)?;
                let offsets: Vec<isize> = offsets.as_array().iter().map(|&o| o as isize).collect();
                if let Some(bad) = offsets.iter().find(|&&o| o < low || o > high) {
                    return Err(PyIndexError::new_err(format!(
                        "{what}: offset {bad} outside the signal's elements [{low}, {high}]"
                    )));
                }
                Ok(Span::Gather { ptr, offsets })
            }
        }
    }

    fn contiguous(&mut self, array: &Bound<'_, PyArrayDyn<f64>>, writes: bool, what: &str) -> PyResult<Span> {
        self.span(&(array.clone(), None), writes, what)
    }

    fn pattern(indptr: Vec<usize>, indices: Vec<usize>, n_cols: usize, n_entries: usize) -> PyResult<Pattern> {
        let sorted = indptr.windows(2).all(|w| w[0] <= w[1]);
        if indptr.is_empty() || !sorted || indptr.last() != Some(&indices.len()) || indices.len() != n_entries {
            return Err(PyValueError::new_err("sparse pattern: indptr does not match the entries"));
        }
        if let Some(bad) = indices.iter().find(|&&c| c >= n_cols) {
            return Err(PyIndexError::new_err(format!("sparse pattern: column {bad} >= {n_cols}")));
        }
        Ok(Pattern { indptr, indices })
    }
}

fn check_len(what: &str, got: usize, want: usize) -> PyResult<()> {
    if got == want {
        Ok(())
    } else {
        Err(PyValueError::new_err(format!("{what}: {got} elements where {want} are needed")))
    }
}

#[pymethods]
impl PyNengoProgram {
    /// An empty program; its large operators (neuron populations, block products) use
    /// `threads` threads (1 to 1024).
    #[new]
    #[pyo3(signature = (threads=1))]
    fn new(threads: usize) -> PyResult<Self> {
        let program = Program::with_threads(threads).map_err(PyValueError::new_err)?;
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
            return Err(PyValueError::new_err("TimeUpdate: step and time must be scalars"));
        }
        check_writeable(time, "TimeUpdate time")?;
        let (step, time) = (self.keep(step), self.keep(time));
        self.program.push(Op::TimeUpdate { step, time, dt });
        Ok(())
    }

    fn add_reset(&mut self, dst: Operand<'_>, value: f64) -> PyResult<()> {
        let dst = self.span(&dst, true, "Reset dst")?;
        self.program.push(Op::Reset { dst, value });
        Ok(())
    }

    fn add_copy(&mut self, src: Operand<'_>, dst: Operand<'_>, inc: bool) -> PyResult<()> {
        let src = self.span(&src, false, "Copy src")?;
        let dst = self.span(&dst, true, "Copy dst")?;
        check_len("Copy", src.len(), dst.len())?;
        self.program.push(Op::Copy { src, dst, inc });
        Ok(())
    }

    fn add_elementwise_inc(&mut self, a: Operand<'_>, x: Operand<'_>, y: Operand<'_>) -> PyResult<()> {
        let a = self.span(&a, false, "ElementwiseInc A")?;
        let x = self.span(&x, false, "ElementwiseInc X")?;
        let y = self.span(&y, true, "ElementwiseInc Y")?;
        check_len("ElementwiseInc A", a.len(), y.len())?;
        check_len("ElementwiseInc X", x.len(), y.len())?;
        self.program.push(Op::ElementwiseInc { a, x, y });
        Ok(())
    }

    /// `y += a @ x` for a 2-D `a` with any strides.
    fn add_dot_inc(&mut self, a: &Bound<'_, PyArrayDyn<f64>>, x: Operand<'_>, y: Operand<'_>) -> PyResult<()> {
        let [rows, cols] = a.shape() else {
            return Err(PyValueError::new_err("DotInc: A must be 2-D"));
        };
        let (rows, cols) = (*rows, *cols);
        extent(a)?;
        let strides = a.strides();
        let ptr = self.keep(a) as *const f64;
        let matrix = Matrix { ptr, rows, cols, row_stride: strides[0] / 8, col_stride: strides[1] / 8 };
        let x = self.span(&x, false, "DotInc X")?;
        let y = self.span(&y, true, "DotInc Y")?;
        check_len("DotInc X", x.len(), cols)?;
        check_len("DotInc Y", y.len(), rows)?;
        self.program.push(Op::DotInc { a: matrix, x, y });
        Ok(())
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
            return Err(PyValueError::new_err("BsrDotInc: blocks must be 3-D"));
        };
        let (n_blocks, br, bc) = (*n_blocks, *br, *bc);
        let blocks = self.keep_contiguous(blocks, "BsrDotInc blocks")?;
        let x = self.span(&x, false, "BsrDotInc X")?;
        let y = self.span(&y, true, "BsrDotInc Y")?;
        if bc == 0 || x.len() % bc != 0 {
            return Err(PyValueError::new_err("BsrDotInc: X does not split into blocks"));
        }
        let pattern = Self::pattern(indptr, indices, x.len() / bc, n_blocks)?;
        check_len("BsrDotInc Y", y.len(), (pattern.indptr.len() - 1) * br)?;
        self.program.push(Op::BsrDotInc { blocks, br, bc, pattern, x, y });
        Ok(())
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
        let pattern = Self::pattern(indptr, indices, x.len(), n_entries)?;
        check_len("SparseDotInc Y", y.len(), pattern.indptr.len() - 1)?;
        self.program.push(Op::CsrDotInc { data, pattern, x, y });
        Ok(())
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
        let kind = NeuronKind::from_spec(name, &params).map_err(PyValueError::new_err)?;
        check_len(&format!("{name} states"), states.len(), kind.n_states())?;
        let j = self.contiguous(j, false, "SimNeurons J")?;
        let out = self.contiguous(out, true, "SimNeurons output")?;
        check_len("SimNeurons output", out.len(), j.len())?;
        let mut spans = Vec::with_capacity(states.len());
        for state in &states {
            let span = self.contiguous(state, true, "SimNeurons state")?;
            check_len("SimNeurons state", span.len(), j.len())?;
            spans.push(span);
        }
        self.program.push(Op::Neurons { kind, dt, j, out, states: spans });
        Ok(())
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
        let kind = match form {
            "NoX" => FilterKind::NoX { d },
            "OneX" => {
                check_len("OneX filter", a.len(), 1)?;
                FilterKind::OneX { a: a[0], b: b[0] * c[0] }
            }
            "NoD" | "General" => {
                let order = b.len();
                check_len("filter A", a.len(), order * order)?;
                check_len("filter C", c.len(), order)?;
                if form == "NoD" {
                    FilterKind::NoD { a, b, c }
                } else {
                    FilterKind::General { a, b, c, d }
                }
            }
            other => return Err(PyValueError::new_err(format!("unknown filter form {other:?}"))),
        };
        let input = self.span(&input, false, "filter input")?;
        let output = self.span(&output, true, "filter output")?;
        let state = self.contiguous(state, true, "filter state")?;
        check_len("filter output", output.len(), input.len())?;
        check_len("filter state", state.len(), kind.order() * input.len())?;
        self.program.push(Op::Filter(LinearFilter { kind, input, output, state, inc }));
        Ok(())
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
        let invalid = |what: String| Err(PyValueError::new_err(format!("table process: {what}")));
        if !(dt.is_finite() && dt > 0.0) {
            return invalid(format!("dt must be finite and > 0, got {dt}"));
        }
        let [n_rows, width] = rows.shape() else {
            return invalid(format!("rows must be 2-D, got shape {:?}", rows.shape()));
        };
        let (n_rows, width) = (*n_rows, *width);
        // Row indices are computed in float64, exact below 2^53.
        if n_rows == 0 || n_rows as u64 > 1 << 53 {
            return invalid(format!("rows must have 1 to 2^53 rows, got {n_rows}"));
        }
        if time.len() != 1 {
            return invalid(format!("time must be a scalar signal, got {} elements", time.len()));
        }
        let rule = match (rule, presentation_time, times) {
            ("presentation", Some(presentation_time), None) => {
                if !(presentation_time.is_finite() && presentation_time > 0.0) {
                    return invalid(format!("presentation_time must be finite and > 0, got {presentation_time}"));
                }
                RowRule::Presentation { dt, presentation_time }
            }
            ("piecewise", None, Some(times)) => {
                if times.iter().any(|x| x.is_nan()) || !times.windows(2).all(|w| w[0] <= w[1]) {
                    return invalid("times must be sorted and not NaN".to_string());
                }
                if n_rows != times.len() + 1 {
                    return invalid(format!("rows: {n_rows} rows for {} times (one more needed)", times.len()));
                }
                RowRule::Piecewise { dt, times }
            }
            ("periodic", None, None) => RowRule::Periodic { dt },
            ("presentation" | "piecewise" | "periodic", ..) => {
                return invalid(format!(
                    "rule {rule:?} takes {}",
                    match rule {
                        "presentation" => "presentation_time and no times",
                        "piecewise" => "times and no presentation_time",
                        _ => "neither presentation_time nor times",
                    }
                ));
            }
            (other, ..) => return invalid(format!("unknown rule {other:?}")),
        };
        let rows = self.keep_contiguous(rows, "table process rows")?;
        let output = self.span(&output, true, "table process output")?;
        check_len("table process output", output.len(), width)?;
        let time = self.keep(time) as *const f64;
        self.program.push(Op::Table(TableProcess { rule, rows, n_rows, time, output, inc }));
        Ok(())
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
        let dist = NoiseDist::from_spec(dist, &params).map_err(PyValueError::new_err)?;
        let output = self.span(&output, true, "noise output")?;
        let rng = LegacyRandomState::from_state(&[0; MT_N], MT_N, None).map_err(PyValueError::new_err)?;
        let id = self.program.noises_mut().count();
        self.program.push(Op::Noise(WhiteNoise { rng, dist, alpha, output, inc }));
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
        let key = key.as_slice().map_err(|_| PyValueError::new_err("noise state: key must be contiguous"))?;
        let state = LegacyRandomState::from_state(key, pos, has_gauss.then_some(gauss))
            .map_err(|e| PyValueError::new_err(format!("noise state: {e}")))?;
        if !self.program.set_noise_state(id, state) {
            return Err(PyIndexError::new_err(format!("no noise operator {id}")));
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
        let size = pre.len() * post.len();
        check_len(&format!("{rule} delta"), delta.len(), size)?;
        let extra = extra.map(|e| self.span(&e, false, "learning rule input")).transpose()?;
        let matrix = matrix.map(|m| self.span(&m, false, "learning rule matrix")).transpose()?;
        let need = |what: &str, span: &Option<Span>, len: usize| match span {
            Some(span) => check_len(&format!("{rule} {what}"), span.len(), len),
            None => Err(PyValueError::new_err(format!("{rule} needs {what}"))),
        };
        let rule = match rule {
            "PES" => Rule::Pes { alpha },
            "BCM" => {
                need("theta", &extra, post.len())?;
                Rule::Bcm { alpha }
            }
            "Oja" => {
                need("weights", &matrix, size)?;
                Rule::Oja { alpha, beta }
            }
            "Voja" => {
                need("learning signal", &extra, 1)?;
                need("encoders", &matrix, size)?;
                let scale = scale.ok_or_else(|| PyValueError::new_err("Voja needs scale"))?;
                check_len("Voja scale", scale.len(), post.len())?;
                Rule::Voja { alpha, scale }
            }
            other => return Err(PyValueError::new_err(format!("unknown learning rule {other:?}"))),
        };
        self.program.push(Op::Learning(LearningRule { rule, pre, post, extra, matrix, delta }));
        Ok(())
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
            Err(PyIndexError::new_err(format!("end_step({n}): only {} segments", self.program.n_segments())))
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
            return Err(PyValueError::new_err(format!("probe period must be > 0 steps, got {period}")));
        }
        let signal = self.span(&signal, false, "probe")?;
        Ok(self.program.add_probe(signal, period))
    }

    fn run_segment(&mut self, segment: usize) -> PyResult<()> {
        if segment >= self.program.n_segments() {
            return Err(PyIndexError::new_err(format!("no segment {segment}")));
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
    fn run_steps(&mut self, n_steps: u64) {
        // SAFETY: as in `run_segment`.
        unsafe { self.program.run_steps(n_steps) };
    }

    /// The samples of probe `id` since the last call, one row per sample of `size` elements.
    fn take_samples<'py>(&mut self, py: Python<'py>, id: usize, size: usize) -> PyResult<Bound<'py, PyArray2<f64>>> {
        if id >= self.program.n_probes() {
            return Err(PyIndexError::new_err(format!("no probe {id}")));
        }
        let samples = self.program.take_samples(id);
        let rows = samples.len().checked_div(size).unwrap_or(0);
        samples.into_pyarray(py).reshape([rows, size])
    }

    fn clear_samples(&mut self) {
        self.program.clear_samples();
    }
}
