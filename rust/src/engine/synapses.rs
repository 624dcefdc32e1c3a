//! Synapses that end on one block, from one projection, in compressed rows keyed by source.
//!
//! Row `r` holds the synapses from the pre-population neuron with local id `r`, ordered by
//! target and then by the order the connection rule drew them. Delivery walks spikes in
//! (step, source) order and rows in that order, so each target accumulates its input in an
//! order that does not depend on how neurons are spread over ranks or threads.

use crate::engine::ring::RingBuffers;

/// Most neurons a block may hold (its synapses address targets with a u16).
pub const MAX_BLOCK_LEN: usize = 1 << 16;

/// Synaptic weights: one value for the whole projection, or one per synapse (stored as f32
/// to keep a synapse at 10 bytes; the value is widened to f64 when delivered).
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
    pub pre_first_gid: u32,
    pub pre_n: u32,
    /// `offsets[r]..offsets[r+1]` are the synapses of pre-local source `r` (len pre_n + 1).
    pub offsets: Vec<u32>,
    /// Block-local index of each synapse's target (blocks hold at most `MAX_BLOCK_LEN`
    /// neurons, so two bytes suffice: half the memory traffic of delivery).
    pub targets: Vec<u16>,
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

    /// Bytes held per synapse, offsets included (reported by `spikeshard info`/benchmarks).
    pub fn bytes(&self) -> usize {
        let weights = match &self.weights {
            Weights::Constant(_) => 0,
            Weights::PerSynapse(w) => w.capacity() * 4,
        };
        let delays = match &self.delays {
            Delays::Constant(_) => 0,
            Delays::PerSynapse(d) => d.capacity() * 2,
        };
        self.offsets.capacity() * 4 + self.targets.capacity() * 2 + weights + delays
    }

    /// Whether `gid` is a neuron of this table's pre population.
    #[inline]
    pub fn has_source(&self, gid: u32) -> bool {
        gid.wrapping_sub(self.pre_first_gid) < self.pre_n
    }

    /// Asks the CPU to start loading source `gid`'s entry in `offsets` (called well ahead of
    /// `prefetch_row` for the same spike).
    #[inline]
    pub fn prefetch_offsets(&self, gid: u32) {
        if self.has_source(gid) {
            prefetch(&self.offsets[(gid - self.pre_first_gid) as usize]);
        }
    }

    /// Asks the CPU to start loading the start of source `gid`'s row (called a few spikes
    /// ahead of delivery: rows of successive spikes lie far apart, and a cold row otherwise
    /// costs a cache miss per synapse batch).
    #[inline]
    pub fn prefetch_row(&self, gid: u32) {
        if !self.has_source(gid) {
            return;
        }
        let row = (gid - self.pre_first_gid) as usize;
        let (start, stop) = (self.offsets[row] as usize, self.offsets[row + 1] as usize);
        for position in (start..stop).step_by(32).take(4) {
            prefetch(&self.targets[position]);
            if let Delays::PerSynapse(delays) = &self.delays {
                prefetch(&delays[position]);
            }
            if let Weights::PerSynapse(weights) = &self.weights {
                prefetch(&weights[position]);
            }
        }
    }

    /// Adds the weights of the synapses of source `gid`, spiking at the step whose ring slot
    /// is `base` (`rings.slot_of(step)`), to the ring buffers, each arriving `delay` slots on.
    #[inline]
    pub fn deliver_spike(&self, base: usize, gid: u32, rings: &mut RingBuffers) {
        let row = (gid - self.pre_first_gid) as usize;
        let (start, stop) = (self.offsets[row] as usize, self.offsets[row + 1] as usize);
        if start == stop {
            return;
        }
        let targets = &self.targets[start..stop];
        match (&self.weights, &self.delays) {
            (Weights::Constant(w), Delays::Constant(d)) => {
                rings.add_row(rings.slot_after(base, *d as usize), targets, *w)
            }
            (weights, delays) => {
                // Each synapse's slot is a compare and subtract from the spike's.
                for (k, &t) in targets.iter().enumerate() {
                    let s = start + k;
                    let w = match weights {
                        Weights::Constant(w) => *w,
                        Weights::PerSynapse(ws) => ws[s] as f64,
                    };
                    let d = match delays {
                        Delays::Constant(d) => *d as usize,
                        Delays::PerSynapse(ds) => ds[s] as usize,
                    };
                    rings.add_to_slot(rings.slot_after(base, d), t, w);
                }
            }
        }
    }
}

/// A hint to load the cache line holding `value` (no-op off x86-64).
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is only a hint and never faults; the pointer comes from a reference.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(value as *const T as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Row offsets (length `pre_n + 1`) for synapses whose sources are listed in `sources`.
pub fn row_offsets(pre_n: u32, sources: &[u32]) -> Vec<u32> {
    let mut offsets = vec![0u32; pre_n as usize + 1];
    for &s in sources {
        offsets[s as usize + 1] += 1;
    }
    for r in 0..pre_n as usize {
        offsets[r + 1] += offsets[r];
    }
    offsets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_rows() {
        assert_eq!(row_offsets(3, &[1, 0, 1, 2, 1]), vec![0, 1, 4, 5]);
    }

    #[test]
    fn deliver_uses_delay_and_sign() {
        let table = SynapseTable {
            projection: 0,
            pre_first_gid: 10,
            pre_n: 2,
            offsets: vec![0, 2, 3],
            targets: vec![0, 1, 1],
            weights: Weights::PerSynapse(vec![1.5, -2.0, 0.25]),
            delays: Delays::PerSynapse(vec![1, 2, 3]),
        };
        let mut rings = RingBuffers::new(2, 2, false);
        rings.resize(4, 0);
        for (step, gid) in [(5, 10), (5, 11), (6, 99)] {
            if table.has_source(gid) {
                table.deliver_spike(rings.slot_of(step), gid, &mut rings);
            }
        }
        // gid 10 at step 5: target 0 +1.5 at step 6, target 1 -2.0 at step 7
        assert_eq!(rings.dense_slot(6).0, &[1.5, 0.0]);
        assert_eq!(rings.dense_slot(7).1, &[0.0, -2.0]);
        // gid 11 at step 5: target 1 +0.25 at step 8
        assert_eq!(rings.dense_slot(8).0, &[0.0, 0.25]);
    }
}
