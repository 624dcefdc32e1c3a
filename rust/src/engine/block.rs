//! A block: some of one population's local neurons (ascending ids; at most 4,096) with
//! everything needed to advance them independently for an exchange interval — state, ring
//! buffers, Poisson drives and recorders. Threads work on whole blocks, so the hot loops need
//! no locks or atomics. The synapses that end on a block are kept per shard (a run of blocks)
//! by the runner, which delivers spikes into the blocks' ring buffers.

use crate::engine::models::{add_input, add_sparse_input, Kernel, StepContext};
use crate::engine::recorders::{BlockRecorders, Window};
use crate::engine::ring::RingBuffers;
use crate::engine::rng;
use crate::engine::spike;

/// Independent Poisson input to some neurons of a block (a `PoissonInput`).
#[derive(Clone, Debug)]
pub struct Drive {
    pub key: u64,
    /// Block-local indices of the driven neurons.
    pub targets: Vec<u32>,
    pub weight: f64,
    /// The mean count per step is split into `n_chunks` equal chunks, each drawn with one
    /// uniform against the cumulative table `cdf` (see `rng::poisson_counts`).
    pub n_chunks: u32,
    pub cdf: Vec<f64>,
}

/// A block's neurons and everything that acts on them. The state is private: it is read
/// through `state`, which first brings it up to date (`Kernel::sync_state`), and changed only
/// by stepping.
#[derive(Debug)]
pub struct Block {
    kernel: Box<dyn Kernel>,
    /// Whether the kernel has the `InputAfterStep` capability.
    input_after_step: bool,
    /// Global ids, ascending.
    gids: Vec<u32>,
    /// Population-local ids, ascending.
    locals: Vec<u32>,
    state: Vec<Vec<f64>>,
    rings: RingBuffers,
    drives: Vec<Drive>,
    /// What monitors asked this block to record.
    recorders: BlockRecorders,
    /// Spikes of the current interval, for exchange.
    interval_spikes: Vec<u64>,
    spiked: Vec<u8>,
    /// A step computed without its input (`advance` with `defer_last`), waiting for
    /// `add_pending_input`.
    pending_input: Option<u64>,
    /// Spike flags of the second step of a pair (`step_pair`).
    spiked_next: Vec<u8>,
    /// Block-local indices of the neurons that spiked this step.
    step_spikes: Vec<u32>,
    spike_offset: Vec<f64>,
}

impl Block {
    /// A block of the neurons `gids` (population-local ids `locals`) with their `state`
    /// (one vector per state variable of the kernel's model).
    pub fn new(mut kernel: Box<dyn Kernel>, gids: Vec<u32>, locals: Vec<u32>, state: Vec<Vec<f64>>) -> Self {
        let n = gids.len();
        let input_after_step = kernel.input_after_step();
        let sparse = input_after_step.as_ref().is_some_and(|k| k.takes_sparse_input());
        let input_after_step = input_after_step.is_some();
        let rings = RingBuffers::new(n, kernel.receptors(), sparse);
        Self {
            kernel,
            input_after_step,
            gids,
            locals,
            state,
            rings,
            drives: Vec::new(),
            recorders: BlockRecorders::default(),
            interval_spikes: Vec::new(),
            spiked: vec![0; n],
            pending_input: None,
            spiked_next: vec![0; n],
            step_spikes: Vec::new(),
            spike_offset: vec![0.0; n],
        }
    }

    pub fn len(&self) -> usize {
        self.gids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.gids.is_empty()
    }

    /// The block-local index of population-local id `local`, if the block holds it.
    pub fn position(&self, local: u32) -> Option<usize> {
        self.locals.binary_search(&local).ok()
    }

    /// Population-local ids of the block's neurons, ascending.
    pub fn locals(&self) -> &[u32] {
        &self.locals
    }

    /// The ring buffers, for delivery to add input to.
    pub fn rings_mut(&mut self) -> &mut RingBuffers {
        &mut self.rings
    }

    /// Whether the block's kernel takes a step's input after the step, so that the last
    /// step of an interval may wait for the spikes delivered at its end.
    pub fn takes_input_after_step(&self) -> bool {
        self.input_after_step
    }

    /// Whether the block's spikes carry sub-step times.
    pub fn precise_spike_times(&self) -> bool {
        self.kernel.precise_spike_times()
    }

    /// Sizes the ring buffers for delays up to `max_delay` steps (see `ring.rs` for why that
    /// is enough for any interval), keeping input already buffered.
    pub fn resize_rings(&mut self, max_delay: usize, current_step: u64) {
        self.rings.resize(max_delay + 1, current_step);
    }

    /// Input channels of the block's ring buffers (2 or 1).
    pub fn receptors(&self) -> usize {
        self.rings.receptors()
    }

    /// The input buffered for steps `step .. step + lags` (see `RingBuffers::pending`).
    pub fn buffered_input(&self, step: u64, lags: usize) -> Vec<f64> {
        self.rings.pending(step, lags)
    }

    /// Adds input for steps `step .. step + lags` (restoring a checkpoint); false, adding
    /// nothing, if some arrives later than the ring buffers reach.
    pub fn add_buffered_input(&mut self, step: u64, lags: usize, values: &[f64]) -> bool {
        self.rings.add_pending(step, lags, values)
    }

    /// Adds a Poisson drive. Its input is dense, so the block reads its input densely.
    pub fn add_drive(&mut self, drive: Drive) {
        self.rings.stop_tracking();
        self.drives.push(drive);
    }

    /// Records the spikes of the population-local `ids` (all: None) in `window` as recorder
    /// `id`.
    pub fn add_spike_recorder(&mut self, id: usize, ids: Option<&[u32]>, window: Window) {
        self.recorders.add_spikes(id, &self.locals, ids, window);
    }

    /// Samples state variable `variable` of the population-local `ids` (those the block
    /// holds; column k of the recorder's output is `ids[k]`) in `window` as recorder `id`.
    pub fn add_state_recorder(&mut self, id: usize, variable: usize, ids: &[u32], window: Window) {
        self.recorders.add_state(id, variable, &self.locals, ids, window);
    }

    /// Counts the block's spikes per bin of `window.every` steps as recorder `id`.
    pub fn add_rate_recorder(&mut self, id: usize, window: Window) {
        self.recorders.add_rate(id, window);
    }

    /// What the block records, to take its data (`BlockRecorders::take_*`).
    pub fn recorders(&mut self) -> &mut BlockRecorders {
        &mut self.recorders
    }

    /// Bytes the block's recorders hold.
    pub fn recording_bytes(&self) -> usize {
        self.recorders.bytes()
    }

    /// The spikes of the last interval (packed, in order).
    pub fn interval_spikes(&self) -> &[u64] {
        &self.interval_spikes
    }

    /// State variable `variable` of the block's neurons, brought up to date first.
    pub fn state(&mut self, variable: usize) -> &[f64] {
        self.kernel.sync_state(&mut self.state);
        &self.state[variable]
    }

    /// Adds `input` (per receptor, one value per neuron) to the input of step `step`, densely:
    /// for driving a block from outside the network (`step_kernel`).
    pub fn add_dense_input(&mut self, step: u64, input_ex: &[f64], input_in: &[f64]) {
        self.rings.stop_tracking();
        let (ex, inh) = self.rings.dense_slot(step);
        for (slot, input) in [(ex, input_ex), (inh, input_in)] {
            slot.iter_mut().zip(input).for_each(|(x, &w)| *x += w);
        }
    }

    /// Advances the block by `n_steps` steps from `first_step`, collecting its spikes in
    /// `interval_spikes` (cleared first). With `defer_last`, a kernel that takes its input
    /// after the step computes the last step without it, so that spikes of this interval
    /// arriving at that step can still be delivered: `add_pending_input` then completes it.
    pub fn advance(&mut self, first_step: u64, n_steps: u64, defer_last: bool) {
        self.add_pending_input();
        self.interval_spikes.clear();
        if n_steps == 0 {
            return;
        }
        let defer = defer_last && self.takes_input_after_step();
        let last = first_step + n_steps - 1;
        // The last two steps in one pass where the kernel can (not when the first of them is
        // sampled: it is never held in memory).
        let two_last = n_steps >= 2 && defer && !self.recorders.samples(last - 1);
        let singles_end = if two_last { last - 1 } else { last };
        for step in first_step..singles_end {
            self.step(step, false);
        }
        if !(two_last && self.step_pair(last - 1)) {
            if two_last {
                self.step(last - 1, false);
            }
            self.step(last, defer);
        }
    }

    /// Steps `step` and `step + 1` in one pass over the state if the kernel can, leaving
    /// `step + 1` waiting for its input as `step(.., true)` does. Returns whether it did.
    fn step_pair(&mut self, step: u64) -> bool {
        let Some(pair) = self.kernel.input_after_step().and_then(|k| k.pair_step()) else {
            return false;
        };
        let (input_ex, input_in) = self.rings.slot(step);
        add_drives(&self.drives, step, &self.gids, input_ex, input_in);
        pair.update_pair(&mut self.state, input_ex, input_in, &mut self.spiked, &mut self.spiked_next);
        self.rings.clear_slot(step);
        self.collect_spikes(step);
        let pair = self.kernel.input_after_step().and_then(|k| k.pair_step()).expect("stepped a pair above");
        pair.end_pair(&mut self.state, &self.spiked_next);
        std::mem::swap(&mut self.spiked, &mut self.spiked_next);
        self.collect_spikes(step + 1);
        self.pending_input = Some(step + 1);
        true
    }

    /// One step: without its input if `defer_input` (the kernel takes input after the step),
    /// else with it, sparsely where the ring buffers listed few targets.
    fn step(&mut self, step: u64, defer_input: bool) {
        let ctx = StepContext { step, gids: &self.gids, current: None };
        let done = match self.kernel.input_after_step() {
            Some(kernel) if defer_input => {
                kernel.update_without_input(&ctx, &mut self.state, &mut self.spiked, &mut self.spike_offset);
                self.pending_input = Some(step);
                true
            }
            Some(kernel) => match self.rings.sparse_slot(step) {
                Some(input) => {
                    kernel.update_without_input(&ctx, &mut self.state, &mut self.spiked, &mut self.spike_offset);
                    add_sparse_input(kernel, &mut self.state, input);
                    true
                }
                None => false,
            },
            None => false,
        };
        if !done {
            let (input_ex, input_in) = self.rings.dense_slot(step);
            add_drives(&self.drives, step, &self.gids, input_ex, input_in);
            self.kernel.update(&ctx, &mut self.state, input_ex, input_in, &mut self.spiked, &mut self.spike_offset);
        }
        self.collect_spikes(step);
        if !defer_input {
            self.record(step);
        }
    }

    /// Completes a step left without its input by `advance`: adds the input that arrived
    /// at it (its ring slot, now holding every spike delivered to it, and the Poisson
    /// drives) and records the step. Does nothing if no step is pending.
    pub fn add_pending_input(&mut self) {
        let Some(step) = self.pending_input.take() else {
            return;
        };
        let kernel = self.kernel.input_after_step().expect("only such kernels leave a step pending");
        if let Some(input) = self.rings.sparse_slot(step) {
            add_sparse_input(kernel, &mut self.state, input);
        } else {
            let (input_ex, input_in) = self.rings.dense_slot(step);
            add_drives(&self.drives, step, &self.gids, input_ex, input_in);
            add_input(kernel, &mut self.state, input_ex, input_in);
        }
        self.record(step);
    }

    /// Samples the recorded variables at the end of `step`, if a recorder samples it.
    fn record(&mut self, step: u64) {
        if !self.recorders.samples(step) {
            return;
        }
        self.kernel.sync_state(&mut self.state);
        self.recorders.on_step_end(step, &self.state);
    }

    /// Lists the flagged neurons in `step_spikes` and appends them to the interval's spikes,
    /// skipping 64 quiet neurons at a time (an OR over 64 flags is one vector load; spikes
    /// are rare). The kernel is then told who spiked.
    fn collect_spikes(&mut self, step: u64) {
        self.step_spikes.clear();
        let chunks = self.spiked.chunks_exact(SCAN_WIDTH);
        let tail_start = self.spiked.len() - chunks.remainder().len();
        for (c, chunk) in chunks.enumerate() {
            if chunk.iter().fold(0u8, |any, &flag| any | flag) != 0 {
                list_flagged(chunk, c * SCAN_WIDTH, &mut self.step_spikes);
            }
        }
        list_flagged(&self.spiked[tail_start..], tail_start, &mut self.step_spikes);
        for &i in &self.step_spikes {
            self.interval_spikes.push(spike::pack(step, self.gids[i as usize]));
        }
        let precise = self.kernel.precise_spike_times();
        self.recorders.on_spikes(step, &self.step_spikes, &self.gids, &self.spike_offset, precise);
        self.kernel.after_spikes(&mut self.state, &self.step_spikes);
    }
}

/// Appends `first + i` for every non-zero `flags[i]`, eight flags per word: a word of quiet
/// neurons costs one test, a spike one bit scan.
pub(crate) fn list_flagged(flags: &[u8], first: usize, out: &mut Vec<u32>) {
    let words = flags.chunks_exact(8);
    let tail = words.remainder();
    for (w, word) in words.enumerate() {
        let mut bits = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        while bits != 0 {
            let byte = bits.trailing_zeros() as usize / 8;
            out.push((first + 8 * w + byte) as u32);
            bits &= !(0xFFu64 << (8 * byte));
        }
    }
    let tail_first = first + flags.len() - tail.len();
    out.extend(tail.iter().enumerate().filter(|(_, &flag)| flag != 0).map(|(i, _)| (tail_first + i) as u32));
}

/// Adds every drive's input of step `step` to the step's input slices.
fn add_drives(drives: &[Drive], step: u64, gids: &[u32], input_ex: &mut [f64], input_in: &mut [f64]) {
    for drive in drives {
        drive.add_input(step, gids, input_ex, input_in);
    }
}

/// Neurons whose Poisson counts are computed together.
const DRIVE_LANES: usize = 64;

/// Spike flags checked at once when collecting spikes.
const SCAN_WIDTH: usize = 64;

impl Drive {
    /// Adds this step's Poisson counts times the weight to the driven neurons' input.
    pub fn add_input(&self, step: u64, gids: &[u32], input_ex: &mut [f64], input_in: &mut [f64]) {
        let input = if self.weight >= 0.0 || input_in.is_empty() { input_ex } else { input_in };
        for chunk in 0..self.n_chunks as u64 {
            let step_key = rng::subkey(self.key, step * self.n_chunks as u64 + chunk);
            let mut ids = [0u64; DRIVE_LANES];
            let mut u = [0.0f64; DRIVE_LANES];
            let mut counts = [0.0f64; DRIVE_LANES];
            for group in self.targets.chunks(DRIVE_LANES) {
                let m = group.len();
                for (id, &t) in ids.iter_mut().zip(group) {
                    *id = gids[t as usize] as u64;
                }
                // Separate simple loops so each one vectorises.
                for (x, &id) in u[..m].iter_mut().zip(&ids[..m]) {
                    *x = rng::uniform(rng::bits(step_key, id));
                }
                rng::poisson_counts(&u[..m], &self.cdf, &mut counts[..m]);
                for (lane, &t) in group.iter().enumerate() {
                    input[t as usize] += counts[lane] * self.weight;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_flagged_finds_every_flag_in_words_and_tail() {
        let mut flags = vec![0u8; 77];
        let expected: Vec<u32> = vec![0, 7, 8, 9, 15, 63, 64, 71, 72, 76];
        for &i in &expected {
            flags[i as usize] = 1;
        }
        let mut out = vec![99];
        list_flagged(&flags, 1000, &mut out);
        assert_eq!(out[0], 99);
        assert_eq!(out[1..], expected.iter().map(|i| i + 1000).collect::<Vec<_>>()[..]);
    }
}
