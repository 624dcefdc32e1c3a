//! Neuron kernels: one module per model, each a `Kernel` over flat slices, and the registry
//! that names them.
//!
//! A model is written as NEST writes one (`models/iaf_psc_exp.h`): its constants (computed
//! once in Python by `NeuronModel.constants`, so both engines use identical numbers, and read
//! here by name), the names of its state variables (structure of arrays, in the order the
//! Python model declares them) and `update`, which advances one block of neurons by one
//! step. What a model can do beyond `update` is an optional capability with a default:
//! `InputAfterStep` (the step does not read its own input, so it may be delivered late, and
//! sparsely) and, within it, `PairStep` (two steps in one pass). The generic `Block` drives
//! every kernel through this trait and knows no model by name.
//!
//! Adding a model: a module here with its constants (`kernel_constants!`), `STATE` and an
//! `impl Kernel`, and one line in `MODELS` (see docs/extending.md).

pub mod adex;
pub mod conductance;
pub mod constants;
pub mod hodgkin_huxley;
pub mod izhikevich;
pub mod lif;
pub mod lif_cond;
pub mod lif_delta;
pub mod poisson_source;
pub mod traub_miles;

use std::collections::HashMap;
use std::fmt;

use crate::engine::error::EngineError;
use crate::engine::ring::SparseInput;
use constants::ConstantReader;

/// What a kernel needs to know about the step besides state and input.
pub struct StepContext<'a> {
    /// Index of the update being computed (time advances from step*dt to (step+1)*dt).
    pub step: u64,
    /// Global ids of the block's neurons, for counter-based random draws.
    pub gids: &'a [u32],
    /// Current injected into each neuron during the step (current sources), in the model's
    /// current unit (pA for most); None when the block has no current source.
    pub current: Option<&'a [f64]>,
}

/// A neuron model's kernel for one block of neurons: its constants and whatever it keeps
/// between steps. `state` is the block's state, one slice per variable in `STATE` order.
pub trait Kernel: Send + Sync + fmt::Debug {
    /// Advances every neuron of a block by one step, consuming the step's input per receptor
    /// (`input_in` is empty for one-receptor models): the input slices are zero afterwards
    /// (clearing them inside the kernel saves a pass over memory). Writes a spike flag per
    /// neuron and, for models with `precise_spike_times`, the time of the spike in seconds
    /// from the start of the step.
    fn update(
        &mut self,
        ctx: &StepContext,
        state: &mut [Vec<f64>],
        input_ex: &mut [f64],
        input_in: &mut [f64],
        spiked: &mut [u8],
        spike_offset: &mut [f64],
    );

    /// Input channels: 2 (positive weights to the excitatory input, negative to the
    /// inhibitory one) or 1 (every weight summed into one input; `input_in` is empty).
    fn receptors(&self) -> usize {
        2
    }

    /// Whether spikes carry a sub-step time (written to `spike_offset`).
    fn precise_spike_times(&self) -> bool {
        false
    }

    /// Told which neurons (block-local indices, ascending) spiked this step, after `update`.
    fn after_spikes(&mut self, _state: &mut [Vec<f64>], _spiking: &[u32]) {}

    /// Writes what the kernel keeps elsewhere during a run into `state`, before it is read.
    fn sync_state(&self, _state: &mut [Vec<f64>]) {}

    /// The kernel's `InputAfterStep` capability, if it has it.
    fn input_after_step(&mut self) -> Option<&mut dyn InputAfterStep> {
        None
    }
}

/// Capability of a kernel whose step does not read the step's own input: the input is added
/// to state variables after the step (LIF: to the currents, which reach the membrane one step
/// later). A block can then compute the last step of an exchange interval before that step's
/// spikes are delivered (`update_without_input`, then `add_input` once they are), so
/// intervals may be one step longer than the smallest delay. The kernel's `update` must equal
/// `update_without_input` followed by `add_input` (`update_then_add_input` is that).
pub trait InputAfterStep {
    /// The state variables a step's input is added to, one per receptor.
    fn input_variables(&self) -> &'static [usize];

    /// The step without its input.
    fn update_without_input(
        &mut self,
        ctx: &StepContext,
        state: &mut [Vec<f64>],
        spiked: &mut [u8],
        spike_offset: &mut [f64],
    );

    /// Whether the inhibitory input (the sum of negative weights) is subtracted from its
    /// variable rather than added: conductance models keep g_in >= 0, the magnitude.
    fn subtracts_inhibitory_input(&self) -> bool {
        false
    }

    /// Whether input may be added only where some arrived (`add_sparse_input`): exact when
    /// the input variables are never -0.0, since adding a slot's +0.0 then changes nothing.
    fn takes_sparse_input(&self) -> bool {
        false
    }

    /// The kernel's `PairStep` capability, if it has it.
    fn pair_step(&mut self) -> Option<&mut dyn PairStep> {
        None
    }
}

/// Capability of an `InputAfterStep` kernel that computes two steps in one pass over the
/// state, the second without its input (as `update_without_input`): with one-step delays,
/// an exchange interval's two steps load and store each neuron once.
pub trait PairStep {
    /// Step t with its input (read, not cleared), then step t + 1 without its input; spike
    /// flags of t in `spiked`, of t + 1 in `spiked_next`. The caller then passes step t's
    /// spikes to `after_spikes`, calls `end_pair`, and passes step t + 1's spikes on.
    fn update_pair(
        &mut self,
        state: &mut [Vec<f64>],
        input_ex: &[f64],
        input_in: &[f64],
        spiked: &mut [u8],
        spiked_next: &mut [u8],
    );

    /// Completes `update_pair` once the first step's spikes were passed to `after_spikes`.
    fn end_pair(&mut self, state: &mut [Vec<f64>], spiked_next: &[u8]);
}

/// Adds a step's dense input to the kernel's input variables and clears it.
pub fn add_input(kernel: &dyn InputAfterStep, state: &mut [Vec<f64>], input_ex: &mut [f64], input_in: &mut [f64]) {
    let variables = kernel.input_variables();
    add_and_clear(&mut state[variables[0]], input_ex);
    if let Some(&inhibitory) = variables.get(1) {
        if kernel.subtracts_inhibitory_input() {
            subtract_and_clear(&mut state[inhibitory], input_in);
        } else {
            add_and_clear(&mut state[inhibitory], input_in);
        }
    }
}

/// As `add_input`, with input given only for the neurons that received any (two receptors).
pub fn add_sparse_input(kernel: &dyn InputAfterStep, state: &mut [Vec<f64>], input: SparseInput) {
    let &[ex, inh] = kernel.input_variables() else {
        unreachable!("sparse input is listed for two-receptor kernels only (ring::sparse_slot)")
    };
    debug_assert!(!kernel.subtracts_inhibitory_input(), "sparse input adds; see takes_sparse_input");
    let (low, high) = state.split_at_mut(ex.max(inh));
    let (a, b) = (&mut low[ex.min(inh)], &mut high[0]);
    let (current_ex, current_in) = if ex < inh { (a, b) } else { (b, a) };
    input.apply(current_ex, current_in);
}

/// `update` of an `InputAfterStep` kernel: the step without its input, then the input.
pub fn update_then_add_input(
    kernel: &mut dyn InputAfterStep,
    ctx: &StepContext,
    state: &mut [Vec<f64>],
    input_ex: &mut [f64],
    input_in: &mut [f64],
    spiked: &mut [u8],
    spike_offset: &mut [f64],
) {
    kernel.update_without_input(ctx, state, spiked, spike_offset);
    add_input(kernel, state, input_ex, input_in);
}

/// `current += input; input = 0`, elementwise.
#[inline(never)]
fn add_and_clear(current: &mut [f64], input: &mut [f64]) {
    for (i, x) in current.iter_mut().zip(input.iter_mut()) {
        *i += *x;
        *x = 0.0;
    }
}

/// `current -= input; input = 0`, elementwise.
#[inline(never)]
fn subtract_and_clear(current: &mut [f64], input: &mut [f64]) {
    for (i, x) in current.iter_mut().zip(input.iter_mut()) {
        *i -= *x;
        *x = 0.0;
    }
}

/// A model the engine implements: its name (`NeuronModel.rust_kernel` in Python), state
/// variables and constants, and how to make its kernel.
pub struct Model {
    pub name: &'static str,
    /// State variables in storage order (Python's `state_variables`).
    pub state: &'static [&'static str],
    /// The constants the kernel reads (the keys of Python's `constants()`).
    pub constant_names: fn() -> Vec<String>,
    /// Makes a block's kernel from the constants; `key` seeds a model's own random draws.
    pub new: NewKernel,
}

/// Makes a block's kernel of a model from its constants and random key.
pub type NewKernel = fn(&mut ConstantReader, u64) -> Result<Box<dyn Kernel>, EngineError>;

/// Every model of the engine (`spikeshard._rust_supports_model`): one line per model.
pub const MODELS: &[Model] = &[
    lif::MODEL,
    lif_delta::MODEL,
    hodgkin_huxley::MODEL,
    poisson_source::MODEL,
    izhikevich::MODEL,
    lif_cond::MODEL,
    adex::MODEL,
    traub_miles::MODEL,
];

/// The model named `name`.
pub fn model(name: &str) -> Result<&'static Model, EngineError> {
    MODELS.iter().find(|m| m.name == name).ok_or_else(|| EngineError::UnknownModel(name.to_string()))
}

impl Model {
    /// A kernel of this model from the named constants Python sent; every constant must be
    /// read, so a name the kernel does not know is an error too.
    pub fn kernel(&self, constants: &HashMap<String, f64>, key: u64) -> Result<Box<dyn Kernel>, EngineError> {
        let mut reader = ConstantReader::new(self.name, constants);
        let kernel = (self.new)(&mut reader, key)?;
        reader.finish()?;
        Ok(kernel)
    }
}

/// `constant_names` of a model whose constants are one `kernel_constants!` struct.
pub fn names_of(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}
