//! Synapses of one projection that end on one shard (a run of consecutive blocks of the post
//! population), in rows keyed by source.
//!
//! A table holds only the synapses: targets, and weights and delays where they differ per
//! synapse. Which rows exist and where they start is kept once per rank, for all tables, in
//! the `SourceIndex` (`source_index.rs`), so a table costs nothing for sources that have no
//! synapse in it. Row `r` of a source holds its synapses in the order of their targets, and
//! for one target in the order the connection rule drew them. Delivery walks spikes in
//! (step, source) order, and a source's rows in projection order, so each target accumulates
//! its input in an order that does not depend on how neurons are spread over ranks, threads
//! or blocks.

use crate::engine::block::Block;
use crate::engine::hugepages;
use crate::engine::ring::{RingBuffers, TargetIndex};

/// Bits of a stored target that give the neuron's index in its block: blocks hold at most
/// `MAX_BLOCK_LEN` neurons, and the bits above say which block of the shard.
pub const BLOCK_BITS: u32 = 12;

/// Most neurons a block may hold.
pub const MAX_BLOCK_LEN: usize = 1 << BLOCK_BITS;

/// Shards of at most this many blocks store their targets in 16 bits, others in 32.
pub const NARROW_BLOCKS: usize = 1 << (16 - BLOCK_BITS);

/// A synapse's target: `block << BLOCK_BITS | neuron in block`, the block counted from the
/// first block of the table's shard.
#[derive(Clone, Debug)]
pub enum Targets {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Targets {
    /// Room for `n` targets in a shard of `n_blocks` blocks.
    pub fn zeroed(n: usize, n_blocks: usize) -> Self {
        if n_blocks <= NARROW_BLOCKS {
            Targets::Narrow(hugepages::zeroed(n))
        } else {
            Targets::Wide(hugepages::zeroed(n))
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Targets::Narrow(t) => t.len(),
            Targets::Wide(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores target `position` (block `block`, neuron `local` in it) at synapse `k`.
    #[inline]
    pub fn set(&mut self, k: usize, block: usize, local: usize) {
        let encoded = (block << BLOCK_BITS) | local;
        match self {
            Targets::Narrow(t) => t[k] = encoded as u16,
            Targets::Wide(t) => t[k] = encoded as u32,
        }
    }

    /// (block in the shard, neuron in the block) of synapse `k`.
    pub fn get(&self, k: usize) -> (usize, usize) {
        let encoded = match self {
            Targets::Narrow(t) => t[k] as usize,
            Targets::Wide(t) => t[k] as usize,
        };
        (encoded >> BLOCK_BITS, encoded & (MAX_BLOCK_LEN - 1))
    }

    fn bytes(&self) -> usize {
        match self {
            Targets::Narrow(t) => t.capacity() * 2,
            Targets::Wide(t) => t.capacity() * 4,
        }
    }

    /// Asks the CPU to start loading synapse `k`'s target.
    #[inline]
    fn prefetch(&self, k: usize) {
        match self {
            Targets::Narrow(t) => prefetch(&t[k]),
            Targets::Wide(t) => prefetch(&t[k]),
        }
    }
}

impl TargetIndex for u16 {
    #[inline(always)]
    fn block(self) -> usize {
        self as usize >> BLOCK_BITS
    }

    #[inline(always)]
    fn local(self) -> usize {
        self as usize & (MAX_BLOCK_LEN - 1)
    }
}

impl TargetIndex for u32 {
    #[inline(always)]
    fn block(self) -> usize {
        self as usize >> BLOCK_BITS
    }

    #[inline(always)]
    fn local(self) -> usize {
        self as usize & (MAX_BLOCK_LEN - 1)
    }
}

/// Synaptic weights: one value for the whole projection, or one per synapse (stored as f32;
/// the value is widened to f64 when delivered).
#[derive(Clone, Debug)]
pub enum Weights {
    Constant(f64),
    PerSynapse(Vec<f32>),
}

/// Delays in whole steps: one for the projection, or one per synapse.
#[derive(Clone, Debug)]
pub enum Delays {
    Constant(u32),
    PerSynapse(Vec<u16>),
}

#[derive(Clone, Debug)]
pub struct SynapseTable {
    pub projection: u32,
    /// The shard (runner-wide index) whose neurons the targets are.
    pub shard: u32,
    pub targets: Targets,
    pub weights: Weights,
    pub delays: Delays,
}

impl SynapseTable {
    pub fn n_synapses(&self) -> usize {
        self.targets.len()
    }

    pub fn max_delay(&self) -> u32 {
        match &self.delays {
            Delays::Constant(d) => *d,
            Delays::PerSynapse(d) => d.iter().copied().max().map_or(0, u32::from),
        }
    }

    pub fn min_delay(&self) -> Option<u32> {
        if self.targets.is_empty() {
            return None;
        }
        match &self.delays {
            Delays::Constant(d) => Some(*d),
            Delays::PerSynapse(d) => d.iter().copied().min().map(u32::from),
        }
    }

    /// Bytes holding the synapses (the rows are counted by the source index).
    pub fn bytes(&self) -> usize {
        let weights = match &self.weights {
            Weights::Constant(_) => 0,
            Weights::PerSynapse(w) => w.capacity() * 4,
        };
        let delays = match &self.delays {
            Delays::Constant(_) => 0,
            Delays::PerSynapse(d) => d.capacity() * 2,
        };
        self.targets.bytes() + weights + delays
    }

    /// The weight of synapse `k` as delivered.
    pub fn weight(&self, k: usize) -> f64 {
        match &self.weights {
            Weights::Constant(w) => *w,
            Weights::PerSynapse(w) => w[k] as f64,
        }
    }

    /// The delay of synapse `k` in steps.
    pub fn delay(&self, k: usize) -> u32 {
        match &self.delays {
            Delays::Constant(d) => *d,
            Delays::PerSynapse(d) => d[k] as u32,
        }
    }

    /// Asks the CPU to start loading the first synapses of the row at `start` (called a few
    /// spikes ahead of delivery: rows of successive spikes lie far apart, and a cold row
    /// otherwise costs a cache miss per synapse batch).
    #[inline]
    pub fn prefetch_row(&self, start: usize, len: usize) {
        for position in (start..start + len).step_by(32).take(4) {
            self.targets.prefetch(position);
            if let Delays::PerSynapse(delays) = &self.delays {
                prefetch(&delays[position]);
            }
            if let Weights::PerSynapse(weights) = &self.weights {
                prefetch(&weights[position]);
            }
        }
    }

    /// Adds the weights of the row of synapses `start..start + len`, from a spike at the
    /// step whose ring slot is `base` (`RingBuffers::slot_of(step)`), to the ring buffers of
    /// the shard's `blocks`, each arriving its delay later.
    #[inline]
    pub fn deliver_row(&self, base: usize, start: usize, len: usize, blocks: &mut [Block]) {
        let range = start..start + len;
        match &self.targets {
            Targets::Narrow(t) => self.deliver_targets(base, start, &t[range], blocks),
            Targets::Wide(t) => self.deliver_targets(base, start, &t[range], blocks),
        }
    }

    #[inline]
    fn deliver_targets<T: TargetIndex>(&self, base: usize, start: usize, targets: &[T], blocks: &mut [Block]) {
        match (&self.weights, &self.delays) {
            (Weights::Constant(w), Delays::Constant(d)) => {
                // Targets are sorted: one call per run of targets in the same block.
                let mut rest = targets;
                while let Some(first) = rest.first() {
                    let block = first.block();
                    // A linear scan: the row streams through the cache once for both loops
                    // (a binary search misses the cache at every probe of a long row).
                    let run = rest.iter().position(|t| t.block() != block).unwrap_or(rest.len());
                    let rings = blocks[block].rings_mut();
                    rings.add_row(rings.slot_after(base, *d as usize), &rest[..run], *w);
                    rest = &rest[run..];
                }
            }
            _ => {
                // Each synapse's slot is a compare and subtract from the spike's.
                for (k, &t) in targets.iter().enumerate() {
                    let rings: &mut RingBuffers = blocks[t.block()].rings_mut();
                    let slot = rings.slot_after(base, self.delay(start + k) as usize);
                    rings.add_to_slot(slot, t.local(), self.weight(start + k));
                }
            }
        }
    }
}

/// A hint to load the cache line holding `value` (no-op off x86-64).
#[inline(always)]
pub fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is only a hint and never faults; the pointer comes from a reference.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(value as *const T as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// The sources that have synapses in a table and where their rows start: `sources[r]`
/// (pre-population-local ids, ascending) owns synapses `starts[r]..starts[r + 1]`. Kept only
/// until the rank's source index is built from it.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    pub sources: Vec<u32>,
    pub starts: Vec<u32>,
}

impl Rows {
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Synapse range of row `r`.
    pub fn range(&self, r: usize) -> std::ops::Range<usize> {
        self.starts[r] as usize..self.starts[r + 1] as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::models;
    use std::collections::HashMap;

    fn block(n: usize) -> Block {
        let constants: HashMap<String, f64> = [
            ("p22", 0.9),
            ("v_const", 0.0),
            ("v_th", 20.0),
            ("v_reset", 10.0),
            ("v_min", -1e9),
            ("refractory_steps", 20.0),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
        let kernel = models::model("lif_delta").unwrap().kernel(&constants, 0).unwrap();
        let mut block = Block::new(kernel, (0..n as u32).collect(), (0..n as u32).collect(), vec![vec![0.0; n]; 2]);
        block.resize_rings(3, 0);
        block
    }

    #[test]
    fn targets_round_trip_their_block_and_neuron() {
        for n_blocks in [1, NARROW_BLOCKS, NARROW_BLOCKS + 1] {
            let mut targets = Targets::zeroed(2, n_blocks);
            targets.set(0, n_blocks - 1, MAX_BLOCK_LEN - 1);
            targets.set(1, 0, 5);
            assert_eq!(targets.get(0), (n_blocks - 1, MAX_BLOCK_LEN - 1));
            assert_eq!(targets.get(1), (0, 5));
            assert_eq!(matches!(targets, Targets::Narrow(_)), n_blocks <= NARROW_BLOCKS);
        }
    }

    #[test]
    fn deliver_uses_delay_block_and_weight() {
        // Two blocks of 2 neurons; a row of three synapses: block 0 neuron 1, block 1 neuron
        // 0 and 1, with delays 1, 2, 3 steps.
        let mut targets = Targets::zeroed(3, 2);
        for (k, (b, l)) in [(0, 1), (1, 0), (1, 1)].into_iter().enumerate() {
            targets.set(k, b, l);
        }
        let table = SynapseTable {
            projection: 0,
            shard: 0,
            targets,
            weights: Weights::PerSynapse(vec![1.5, -2.0, 0.25]),
            delays: Delays::PerSynapse(vec![1, 2, 3]),
        };
        let mut blocks = vec![block(2), block(2)];
        let base = blocks[0].rings_mut().slot_of(5);
        table.deliver_row(base, 0, 3, &mut blocks);
        assert_eq!(blocks[0].rings_mut().dense_slot(6).0, &[0.0, 1.5]);
        assert_eq!(blocks[1].rings_mut().dense_slot(7).0, &[-2.0, 0.0]);
        assert_eq!(blocks[1].rings_mut().dense_slot(8).0, &[0.0, 0.25]);
        let constant = SynapseTable { weights: Weights::Constant(0.5), delays: Delays::Constant(2), ..table };
        constant.deliver_row(base, 0, 3, &mut blocks);
        assert_eq!(blocks[0].rings_mut().dense_slot(7).0, &[0.0, 0.5]);
        assert_eq!(blocks[1].rings_mut().dense_slot(7).0, &[-2.0 + 0.5, 0.5]);
    }
}
