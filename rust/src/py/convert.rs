//! Conversions between Python values and engine types, and small stateless functions.

use numpy::{IntoPyArray, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use std::collections::HashMap;

use crate::engine::block::Block;
use crate::engine::connect::{build_table, BuiltTable, ConnectionRule, ProjectionKeys, ProjectionSpec, ValueRule};
use crate::engine::error::EngineError;
use crate::engine::models::{self, MODELS};
use crate::engine::recorders::Window;
use crate::engine::synapses::MAX_BLOCK_LEN;

impl From<EngineError> for PyErr {
    fn from(error: EngineError) -> PyErr {
        match error {
            EngineError::Usage(_) => PyRuntimeError::new_err(error.to_string()),
            _ => PyValueError::new_err(error.to_string()),
        }
    }
}

/// A projection's rule, as the engine takes it (built by `spikeshard.build`).
#[pyclass(module = "spikeshard._engine", name = "ProjectionSpec", frozen)]
pub struct PyProjectionSpec {
    pub spec: ProjectionSpec,
}

fn value_rule(kind: &str, params: &[f64], values: Option<PyReadonlyArray1<f64>>) -> PyResult<ValueRule> {
    let param = |k: usize| {
        params.get(k).copied().ok_or_else(|| PyValueError::new_err(format!("{kind} needs {} parameters", k + 1)))
    };
    Ok(match kind {
        "constant" => ValueRule::Constant(param(0)?),
        "uniform" => ValueRule::Uniform { low: param(0)?, high: param(1)? },
        "normal" => ValueRule::Normal { mean: param(0)?, std: param(1)?, low: param(2)?, high: param(3)? },
        "per_connection" => {
            let values = values.ok_or_else(|| PyValueError::new_err("per_connection needs values"))?;
            ValueRule::PerConnection(values.as_array().to_vec())
        }
        other => return Err(PyValueError::new_err(format!("unknown value rule {other:?}"))),
    })
}

#[pymethods]
impl PyProjectionSpec {
    #[new]
    #[pyo3(signature = (*, index, pre_first_gid, pre_n, post_n, same_population, allow_autapses,
        rule, probability=0.0, degree=0, multapses=true, pre_ids=None, post_ids=None,
        weight_kind, weight_params, weight_values=None, delay_kind, delay_params, delay_values=None,
        keys))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        index: u32,
        pre_first_gid: u32,
        pre_n: u32,
        post_n: u32,
        same_population: bool,
        allow_autapses: bool,
        rule: &str,
        probability: f64,
        degree: u32,
        multapses: bool,
        pre_ids: Option<PyReadonlyArray1<u32>>,
        post_ids: Option<PyReadonlyArray1<u32>>,
        weight_kind: &str,
        weight_params: Vec<f64>,
        weight_values: Option<PyReadonlyArray1<f64>>,
        delay_kind: &str,
        delay_params: Vec<f64>,
        delay_values: Option<PyReadonlyArray1<f64>>,
        keys: (u64, u64, u64),
    ) -> PyResult<Self> {
        let rule = match rule {
            "random" => ConnectionRule::Random { probability },
            "all_to_all" => ConnectionRule::AllToAll,
            "one_to_one" => ConnectionRule::OneToOne,
            "fixed_indegree" => ConnectionRule::FixedIndegree { indegree: degree, multapses },
            "fixed_outdegree" => ConnectionRule::FixedOutdegree { outdegree: degree, multapses },
            "explicit" => {
                let (pre, post) = pre_ids
                    .zip(post_ids)
                    .ok_or_else(|| PyValueError::new_err("explicit rule needs pre_ids and post_ids"))?;
                ConnectionRule::Explicit { pre: pre.as_array().to_vec(), post: post.as_array().to_vec() }
            }
            other => return Err(PyValueError::new_err(format!("unknown connection rule {other:?}"))),
        };
        let spec = ProjectionSpec {
            index,
            pre_first_gid,
            pre_n,
            post_n,
            same_population,
            allow_autapses,
            rule,
            weight: value_rule(weight_kind, &weight_params, weight_values)?,
            delay: value_rule(delay_kind, &delay_params, delay_values)?,
            keys: ProjectionKeys { connect: keys.0, weight: keys.1, delay: keys.2 },
        };
        spec.validate()?;
        Ok(Self { spec })
    }

    #[getter]
    fn pre_first_gid(&self) -> u32 {
        self.spec.pre_first_gid
    }

    #[getter]
    fn pre_n(&self) -> u32 {
        self.spec.pre_n
    }
}

/// Builds the synapses of `spec` ending on the population-local ids `targets` (sorted) and
/// returns them as arrays in compressed rows over every pre-synaptic neuron: offsets (one per
/// pre neuron, and one more), targets (index into `targets`), weights, delays (steps).
#[pyfunction]
pub fn build_synapse_table<'py>(
    py: Python<'py>,
    spec: &PyProjectionSpec,
    targets: PyReadonlyArray1<'py, u32>,
) -> PyResult<Bound<'py, PyDict>> {
    let targets = targets.as_array().to_vec();
    let BuiltTable { table, rows } = py.detach(|| build_table(&spec.spec, &targets, MAX_BLOCK_LEN, 0))?;
    let n = table.n_synapses();
    let weights: Vec<f64> = (0..n).map(|k| table.weight(k)).collect();
    let delays: Vec<u32> = (0..n).map(|k| table.delay(k)).collect();
    let positions: Vec<u32> = (0..n)
        .map(|k| {
            let (block, local) = table.targets.get(k);
            (block * MAX_BLOCK_LEN + local) as u32
        })
        .collect();
    let mut offsets = vec![0u32; spec.spec.pre_n as usize + 1];
    for r in 0..rows.len() {
        offsets[rows.sources[r] as usize + 1] = rows.range(r).len() as u32;
    }
    for i in 0..spec.spec.pre_n as usize {
        offsets[i + 1] += offsets[i];
    }
    let out = PyDict::new(py);
    out.set_item("offsets", offsets.into_pyarray(py))?;
    out.set_item("targets", positions.into_pyarray(py))?;
    out.set_item("weights", weights.into_pyarray(py))?;
    out.set_item("delays", delays.into_pyarray(py))?;
    Ok(out)
}

/// Names of the models the engine implements (`spikeshard._rust_supports_model`).
#[pyfunction]
pub fn supported_kernels() -> Vec<&'static str> {
    MODELS.iter().map(|m| m.name).collect()
}

/// A kernel's state variables (in storage order) and the names of the constants it reads.
#[pyfunction]
pub fn kernel_names(kernel: &str) -> PyResult<(Vec<&'static str>, Vec<String>)> {
    let model = models::model(kernel)?;
    Ok((model.state.to_vec(), (model.constant_names)()))
}

/// The widest SIMD instruction set this build was compiled for.
#[pyfunction]
pub fn simd_level() -> &'static str {
    if cfg!(target_feature = "avx512f") {
        "avx512"
    } else if cfg!(target_feature = "avx2") {
        "avx2"
    } else if cfg!(target_feature = "sse4.2") {
        "sse4.2"
    } else if cfg!(target_arch = "aarch64") {
        "neon"
    } else {
        "baseline"
    }
}

/// Runs one model kernel on its own for `inputs_ex.shape[0]` steps (for tests and tools), as
/// a block of a network steps it: returns (final state, spike flags per step, spike offsets
/// per step).
#[pyfunction]
#[pyo3(signature = (kernel, constants, state, inputs_ex, inputs_in, gids, first_step=0, key=0))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub fn step_kernel<'py>(
    py: Python<'py>,
    kernel: &str,
    constants: HashMap<String, f64>,
    state: PyReadonlyArray2<'py, f64>,
    inputs_ex: PyReadonlyArray2<'py, f64>,
    inputs_in: PyReadonlyArray2<'py, f64>,
    gids: PyReadonlyArray1<'py, u32>,
    first_step: u64,
    key: u64,
) -> PyResult<(Bound<'py, PyArray2<f64>>, Bound<'py, PyArray2<u8>>, Bound<'py, PyArray2<f64>>)> {
    let model = models::model(kernel)?;
    let kernel = model.kernel(&constants, key)?;
    let [n_state, n] = [state.shape()[0], state.shape()[1]];
    let n_steps = inputs_ex.shape()[0];
    let n_in = if kernel.receptors() == 2 { n } else { 0 };
    if n_state != model.state.len()
        || gids.len() != n
        || inputs_ex.shape() != [n_steps, n]
        || inputs_in.shape() != [n_steps, n]
    {
        return Err(PyValueError::new_err(format!(
            "step_kernel: state {:?}, inputs {:?}/{:?}, gids {} do not fit {} variables",
            state.shape(),
            inputs_ex.shape(),
            inputs_in.shape(),
            gids.len(),
            model.state.len()
        )));
    }
    let vars: Vec<Vec<f64>> = state.as_array().outer_iter().map(|row| row.to_vec()).collect();
    let (ex, inh, gids) = (inputs_ex.as_array(), inputs_in.as_array(), gids.as_array().to_vec());
    let mut block = Block::new(kernel, gids.clone(), (0..n as u32).collect(), vars);
    block.resize_rings(0, first_step);
    block.add_spike_recorder(0, None, Window::new(0, None, 1).expect("a valid window"));
    let mut flags = vec![0u8; n_steps * n];
    let mut offsets = vec![0.0f64; n_steps * n];
    let position: HashMap<u32, usize> = gids.iter().enumerate().map(|(i, &g)| (g, i)).collect();
    if position.len() != n {
        return Err(PyValueError::new_err("step_kernel: gids must be distinct"));
    }
    for s in 0..n_steps {
        let step = first_step + s as u64;
        let input_ex = ex.row(s).to_vec();
        let input_in = inh.row(s).to_vec();
        block.add_dense_input(step, &input_ex, &input_in[..n_in]);
        block.advance(step, 1, false);
        let (spikes, spike_offsets) = block.recorders().take_spikes(0).expect("recorder 0 was added");
        for (k, packed) in spikes.iter().enumerate() {
            let i = position[&(*packed as u32)];
            flags[s * n + i] = 1;
            offsets[s * n + i] = spike_offsets.get(k).copied().unwrap_or(0.0);
        }
    }
    let flat: Vec<f64> = (0..n_state).flat_map(|v| block.state(v).to_vec()).collect();
    Ok((
        numpy::ndarray::Array2::from_shape_vec((n_state, n), flat).expect("shape").into_pyarray(py),
        numpy::ndarray::Array2::from_shape_vec((n_steps, n), flags).expect("shape").into_pyarray(py),
        numpy::ndarray::Array2::from_shape_vec((n_steps, n), offsets).expect("shape").into_pyarray(py),
    ))
}
