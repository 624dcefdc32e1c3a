//! Neuron kernels: one small module per model, each a branch-free update over flat slices.
//!
//! A kernel advances one block of neurons by one step. It receives the block's state variables
//! (structure of arrays, in the order the Python model declares them), the summed synaptic input
//! of this step per receptor (excitatory, inhibitory), and writes a spike flag per neuron.
//! Models with precise spike times also write the time of the threshold crossing, in seconds
//! from the start of the step. Constants (propagators, thresholds) are computed once in Python
//! (`NeuronModel.constants`) so both engines use identical numbers.

pub mod hodgkin_huxley;
pub mod lif;
pub mod lif_delta;
pub mod poisson_source;
pub mod refractory;

use crate::engine::error::EngineError;
use crate::engine::ring::SparseInput;

/// What a kernel needs to know about the step besides state and input.
pub struct StepContext<'a> {
    /// Index of the update being computed (time advances from step*dt to (step+1)*dt).
    pub step: u64,
    /// Global ids of the block's neurons, for counter-based random draws.
    pub gids: &'a [u32],
}

/// A neuron model with its constants, as the runner dispatches it.
#[derive(Clone, Debug)]
pub enum NeuronKernel {
    Lif(lif::Lif),
    LifDelta(lif_delta::LifDeltaConstants),
    HodgkinHuxley(hodgkin_huxley::HhConstants),
    PoissonSource(poisson_source::PoissonSourceConstants),
}

/// Names of the models this engine implements (`spikeshard._rust_supports_model`).
pub const SUPPORTED_KERNELS: [&str; 4] = ["lif", "lif_delta", "hodgkin_huxley", "poisson_source"];

impl NeuronKernel {
    /// Builds a kernel from its name, the constants array from Python and the population key.
    pub fn from_name(name: &str, constants: &[f64], key: u64) -> Result<Self, EngineError> {
        Ok(match name {
            "lif" => NeuronKernel::Lif(lif::Lif::new(lif::LifConstants::from_slice(constants)?)),
            "lif_delta" => NeuronKernel::LifDelta(lif_delta::LifDeltaConstants::from_slice(constants)?),
            "hodgkin_huxley" => NeuronKernel::HodgkinHuxley(hodgkin_huxley::HhConstants::from_slice(constants)?),
            "poisson_source" => {
                NeuronKernel::PoissonSource(poisson_source::PoissonSourceConstants::from_slice(constants, key)?)
            }
            other => return Err(EngineError::UnknownModel(other.to_string())),
        })
    }

    /// Number of state variables the kernel expects.
    pub fn n_state(&self) -> usize {
        match self {
            NeuronKernel::Lif(_) => lif::N_STATE,
            NeuronKernel::LifDelta(_) => lif_delta::N_STATE,
            NeuronKernel::HodgkinHuxley(_) => hodgkin_huxley::N_STATE,
            NeuronKernel::PoissonSource(_) => poisson_source::N_STATE,
        }
    }

    /// Input channels: 2 (positive weights to the excitatory input, negative to the
    /// inhibitory one) or 1 (every weight summed into one input; `input_in` is empty).
    pub fn receptors(&self) -> usize {
        match self {
            NeuronKernel::Lif(_) | NeuronKernel::HodgkinHuxley(_) => 2,
            NeuronKernel::LifDelta(_) | NeuronKernel::PoissonSource(_) => 1,
        }
    }

    /// Whether the kernel can take its input sparsely (`update_sparse`).
    pub fn takes_sparse_input(&self) -> bool {
        matches!(self, NeuronKernel::Lif(_))
    }

    /// Advances a block one step when few neurons received input: the same result as
    /// `update` with the slot's dense input, at a fraction of the memory traffic.
    pub fn update_sparse(&mut self, state: &mut [Vec<f64>], input: SparseInput, spiked: &mut [u8]) {
        match self {
            NeuronKernel::Lif(lif) => lif.update_sparse(state, input, spiked),
            _ => unreachable!("only kernels with takes_sparse_input() are given sparse input"),
        }
    }

    /// Whether the step's input enters only state that the step itself does not read (LIF:
    /// the currents, which reach the membrane one step later). Such a kernel can be advanced
    /// with `update_without_input` and given the input afterwards (`add_input`), so a spike
    /// with a delay of d steps may be delivered after the step it arrives at has been
    /// computed: exchange intervals may then be d + 1 steps long.
    pub fn defers_input(&self) -> bool {
        matches!(self, NeuronKernel::Lif(_))
    }

    /// A step without its input (kernels with `defers_input()` only).
    pub fn update_without_input(&mut self, state: &mut [Vec<f64>], spiked: &mut [u8]) {
        match self {
            NeuronKernel::Lif(lif) => lif.update_without_input(state, spiked),
            _ => unreachable!("only kernels with defers_input() are stepped without input"),
        }
    }

    /// Two steps in one pass, the second without its input (kernels with `defers_input()`;
    /// see `lif::Lif::update_pair` for the order of the calls that complete it).
    pub fn update_pair(
        &mut self,
        state: &mut [Vec<f64>],
        input_ex: &[f64],
        input_in: &[f64],
        spiked: &mut [u8],
        spiked_next: &mut [u8],
    ) {
        match self {
            NeuronKernel::Lif(lif) => lif.update_pair(state, input_ex, input_in, spiked, spiked_next),
            _ => unreachable!("only kernels with defers_input() step in pairs"),
        }
    }

    /// Completes `update_pair` once the first step's spikes were passed to `after_spikes`.
    pub fn end_pair(&mut self, state: &mut [Vec<f64>], spiked_next: &[u8]) {
        match self {
            NeuronKernel::Lif(lif) => lif.end_pair(state, spiked_next),
            _ => unreachable!("only kernels with defers_input() step in pairs"),
        }
    }

    /// Adds a step's input after `update_without_input` and clears it.
    pub fn add_input(&self, state: &mut [Vec<f64>], input_ex: &mut [f64], input_in: &mut [f64]) {
        match self {
            NeuronKernel::Lif(lif) => lif.add_input(state, input_ex, input_in),
            _ => unreachable!("only kernels with defers_input() take their input after the step"),
        }
    }

    /// As `add_input`, with input given only for the neurons that received any.
    pub fn add_sparse_input(&self, state: &mut [Vec<f64>], input: SparseInput) {
        match self {
            NeuronKernel::Lif(_) => lif::Lif::add_sparse_input(state, input),
            _ => unreachable!("only kernels with defers_input() take their input after the step"),
        }
    }

    /// Tells the kernel which neurons (block-local indices, ascending) spiked this step, after
    /// `update`: LIF lists them as refractory.
    pub fn after_spikes(&mut self, state: &mut [Vec<f64>], locals: &[u32]) {
        if let NeuronKernel::Lif(lif) = self {
            lif.after_spikes(state, locals);
        }
    }

    /// Writes what the kernel keeps elsewhere during a run (LIF's refractory counters) into
    /// `state`, before it is read.
    pub fn sync_state(&self, state: &mut [Vec<f64>]) {
        if let NeuronKernel::Lif(lif) = self {
            lif.sync_state(state);
        }
    }

    /// Whether spikes carry a sub-step time (written to `spike_offset`).
    pub fn precise_spike_times(&self) -> bool {
        matches!(self, NeuronKernel::HodgkinHuxley(_))
    }

    /// Advances every neuron of a block by one step, consuming the step's input: the input
    /// slices are zero afterwards (clearing them inside the kernel saves a pass over memory).
    pub fn update(
        &mut self,
        ctx: &StepContext,
        state: &mut [Vec<f64>],
        input_ex: &mut [f64],
        input_in: &mut [f64],
        spiked: &mut [u8],
        spike_offset: &mut [f64],
    ) {
        match self {
            NeuronKernel::Lif(lif) => lif.update(state, input_ex, input_in, spiked),
            NeuronKernel::LifDelta(c) => lif_delta::update(c, state, input_ex, spiked),
            NeuronKernel::HodgkinHuxley(c) => {
                hodgkin_huxley::update(c, state, input_ex, input_in, spiked, spike_offset);
                input_ex.fill(0.0);
                input_in.fill(0.0);
            }
            NeuronKernel::PoissonSource(c) => {
                poisson_source::update(c, ctx, spiked);
                input_ex.fill(0.0);
            }
        }
    }
}

/// Reads `N` constants from the slice Python sent, or says which model got how many.
pub(crate) fn constants_array<const N: usize>(model: &str, constants: &[f64]) -> Result<[f64; N], EngineError> {
    constants.try_into().map_err(|_| EngineError::ConstantsLength {
        model: model.to_string(),
        expected: N,
        got: constants.len(),
    })
}
