//! Ring buffers of a block: the input arriving at each of the next `len` steps, per neuron and
//! receptor. A spike delivered at step s through a delay of d steps lands in slot (s+d) % len.
//!
//! `len` is the longest delay plus one. That is enough: spikes are delivered at the end of
//! the interval they were emitted in, when every step before the interval's last is consumed,
//! so input pending at any time arrives within the last step of the interval (still pending
//! when its input is deferred) and the longest delay after it.
//!
//! For kernels that can take their input sparsely (LIF), the buffers also list, per slot,
//! the targets of the synapses that delivered into it: when few did, the kernel skips reading
//! and clearing the whole slot, which halves the memory traffic of a step on networks with
//! sparse activity.

/// A synapse target as a table stores it: which block of the table's shard, and which neuron
/// of that block (`synapses::Targets`).
pub trait TargetIndex: Copy {
    fn block(self) -> usize;
    fn local(self) -> usize;
}

/// Input channels of a block: two receptors (excitatory for positive weights, inhibitory for
/// negative) or one (every weight summed).
#[derive(Clone, Debug, Default)]
pub struct RingBuffers {
    /// Number of slots.
    pub len: usize,
    /// Neurons per slot.
    n: usize,
    two_receptors: bool,
    ex: Vec<f64>,
    inh: Vec<f64>,
    /// Per slot and receptor, the targets of the input added to it, one entry per synapse
    /// (a neuron may appear more than once), until the list is long enough that the slot
    /// will be read densely anyway; `None` when the block's kernel reads its input densely.
    touched: Option<Vec<[Vec<u16>; 2]>>,
}

impl RingBuffers {
    pub fn new(n: usize, receptors: usize, track_touched: bool) -> Self {
        Self {
            len: 0,
            n,
            two_receptors: receptors == 2,
            ex: Vec::new(),
            inh: Vec::new(),
            touched: track_touched.then(Vec::new),
        }
    }

    /// Grows to `needed` slots, keeping pending input (arrival step a moves from slot
    /// a % old_len to a % needed).
    pub fn resize(&mut self, needed: usize, current_step: u64) {
        if needed <= self.len {
            return;
        }
        let n = self.n;
        let n_in = if self.two_receptors { n } else { 0 };
        let (mut ex, mut inh) = (vec![0.0; needed * n], vec![0.0; needed * n_in]);
        let mut touched = self.touched.as_ref().map(|_| vec![[Vec::new(), Vec::new()]; needed]);
        for lag in 0..self.len as u64 {
            let arrival = current_step + lag;
            let old = (arrival % self.len as u64) as usize;
            let new = (arrival % needed as u64) as usize;
            ex[new * n..(new + 1) * n].copy_from_slice(&self.ex[old * n..(old + 1) * n]);
            inh[new * n_in..(new + 1) * n_in].copy_from_slice(&self.inh[old * n_in..(old + 1) * n_in]);
            if let (Some(new_lists), Some(old_lists)) = (touched.as_mut(), self.touched.as_mut()) {
                new_lists[new] = std::mem::take(&mut old_lists[old]);
            }
        }
        self.len = needed;
        self.ex = ex;
        self.inh = inh;
        self.touched = touched;
    }

    /// Input channels held: 2 (excitatory, inhibitory) or 1.
    pub fn receptors(&self) -> usize {
        1 + self.two_receptors as usize
    }

    /// The input waiting for steps `current_step .. current_step + lags` (a checkpoint):
    /// `receptors() x lags x n` values, receptor by receptor, step by step (zeros for steps
    /// beyond the buffers' length: no input can wait that long).
    pub fn pending(&self, current_step: u64, lags: usize) -> Vec<f64> {
        let n = self.n;
        let mut values = Vec::with_capacity(self.receptors() * lags * n);
        for ring in [&self.ex, &self.inh].into_iter().take(self.receptors()) {
            for lag in 0..lags {
                if lag < self.len {
                    let slot = self.slot_of(current_step + lag as u64);
                    values.extend_from_slice(&ring[slot * n..(slot + 1) * n]);
                } else {
                    values.resize(values.len() + n, 0.0);
                }
            }
        }
        values
    }

    /// Adds `values` (laid out as `pending` gives them) to the input of steps
    /// `current_step .. current_step + lags`, listing the neurons that receive any. Returns
    /// false, adding nothing, if input is given for a step beyond the buffers' length.
    pub fn add_pending(&mut self, current_step: u64, lags: usize, values: &[f64]) -> bool {
        let n = self.n;
        let row = |receptor: usize, lag: usize| &values[(receptor * lags + lag) * n..(receptor * lags + lag + 1) * n];
        let too_late = (0..self.receptors()).any(|r| (self.len..lags).any(|lag| row(r, lag).iter().any(|&v| v != 0.0)));
        if too_late {
            return false;
        }
        for receptor in 0..self.receptors() {
            for lag in 0..lags.min(self.len) {
                let slot = self.slot_of(current_step + lag as u64);
                for (target, &value) in row(receptor, lag).iter().enumerate().filter(|(_, &v)| v != 0.0) {
                    if let Some(list) = listing(&mut self.touched, slot, receptor, n) {
                        list.push(target as u16);
                    }
                    let ring = if receptor == 0 { &mut self.ex } else { &mut self.inh };
                    ring[slot * n + target] += value;
                }
            }
        }
        true
    }

    /// Stops listing touched neurons (for blocks whose input is dense anyway).
    pub fn stop_tracking(&mut self) {
        self.touched = None;
    }

    /// The slot holding the input of step `step`.
    #[inline]
    pub fn slot_of(&self, step: u64) -> usize {
        (step % self.len as u64) as usize
    }

    /// The slot `delay` steps after slot `base` (no division: delay < len).
    #[inline]
    pub fn slot_after(&self, base: usize, delay: usize) -> usize {
        let slot = base + delay;
        if slot >= self.len {
            slot - self.len
        } else {
            slot
        }
    }

    /// Adds one synapse's weight for neuron `target` to slot `slot`.
    #[inline]
    pub fn add_to_slot(&mut self, slot: usize, target: usize, weight: f64) {
        let index = slot * self.n + target;
        let receptor = (weight < 0.0 && self.two_receptors) as usize;
        let ring = if receptor == 0 { &mut self.ex } else { &mut self.inh };
        if let Some(list) = listing(&mut self.touched, slot, receptor, self.n) {
            list.push(target as u16);
        }
        ring[index] += weight;
    }

    /// Adds `weight` for every target of a row (all in this block), arriving in slot `slot`.
    #[inline]
    pub fn add_row<T: TargetIndex>(&mut self, slot: usize, targets: &[T], weight: f64) {
        let n = self.n;
        let receptor = (weight < 0.0 && self.two_receptors) as usize;
        let ring = if receptor == 0 { &mut self.ex } else { &mut self.inh };
        let ring = &mut ring[slot * n..(slot + 1) * n];
        if let Some(list) = listing(&mut self.touched, slot, receptor, n) {
            // Fixed-size pieces are copied inline; growing the list per target (a few dozen
            // per row) cost more than the copy.
            let (pieces, rest) = targets.as_chunks::<16>();
            for piece in pieces {
                list.extend(piece.map(|t| t.local() as u16));
            }
            list.extend(rest.iter().map(|t| t.local() as u16));
        }
        for &t in targets {
            ring[t.local()] += weight;
        }
    }

    /// The input slices of the step `step` (the inhibitory one is empty with one receptor),
    /// forgetting its list of touched neurons: the caller reads and clears them densely.
    pub fn dense_slot(&mut self, step: u64) -> (&mut [f64], &mut [f64]) {
        let slot = self.slot_of(step);
        if let Some(lists) = self.touched.as_mut() {
            lists[slot].iter_mut().for_each(Vec::clear);
        }
        self.slices(slot)
    }

    /// The input slices of step `step`, to be read in place; `clear_slot` empties them.
    pub fn slot(&mut self, step: u64) -> (&mut [f64], &mut [f64]) {
        self.slices(self.slot_of(step))
    }

    /// The excitatory and inhibitory slices of slot `slot` (the second empty with one
    /// receptor).
    fn slices(&mut self, slot: usize) -> (&mut [f64], &mut [f64]) {
        let n = self.n;
        let n_in = if self.two_receptors { n } else { 0 };
        (&mut self.ex[slot * n..(slot + 1) * n], &mut self.inh[slot * n_in..(slot + 1) * n_in])
    }

    /// Empties the slot of step `step` and its lists: only the listed entries when the
    /// slot is sparse, else the whole slot.
    pub fn clear_slot(&mut self, step: u64) {
        match self.sparse_slot(step) {
            Some(input) => input.clear(),
            None => {
                let (ex, inh) = self.dense_slot(step);
                ex.fill(0.0);
                inh.fill(0.0);
            }
        }
    }

    /// If few neurons received input at `step` (at most one in `SPARSE_FRACTION`): the
    /// touched neurons and the slot's slices, for the kernel to apply and clear sparsely.
    pub fn sparse_slot(&mut self, step: u64) -> Option<SparseInput<'_>> {
        let slot = self.slot_of(step);
        let n = self.n;
        let [touched_ex, touched_in] = &mut self.touched.as_mut()?[slot];
        if (touched_ex.len() + touched_in.len()) * SPARSE_FRACTION > n || !self.two_receptors {
            return None;
        }
        Some(SparseInput {
            touched_ex,
            touched_in,
            ex: &mut self.ex[slot * n..(slot + 1) * n],
            inh: &mut self.inh[slot * n..(slot + 1) * n],
        })
    }
}

/// Input is applied sparsely when at most one neuron in this many received any.
pub const SPARSE_FRACTION: usize = 8;

/// The list of slot `slot` and `receptor` while it is still kept, that is, while the slot
/// may still be read sparsely (`sparse_slot`); None without lists or once it is too long.
#[inline]
fn listing(touched: &mut Option<Vec<[Vec<u16>; 2]>>, slot: usize, receptor: usize, n: usize) -> Option<&mut Vec<u16>> {
    let list = &mut touched.as_mut()?[slot][receptor];
    (list.len() * SPARSE_FRACTION <= n).then_some(list)
}

/// A slot's input, with the neurons that received any, per receptor.
pub struct SparseInput<'a> {
    pub touched_ex: &'a mut Vec<u16>,
    pub touched_in: &'a mut Vec<u16>,
    pub ex: &'a mut [f64],
    pub inh: &'a mut [f64],
}

impl SparseInput<'_> {
    /// Adds the slot's input to `current_ex`/`current_in` for the touched neurons, clears
    /// the slot and its list. Equivalent to adding the whole slot (untouched entries are 0):
    /// a neuron listed again adds the 0 left by its first entry, which changes nothing, as
    /// the kernels' currents are never -0.0 (see `lif::step_dense`).
    pub fn apply(self, current_ex: &mut [f64], current_in: &mut [f64]) {
        for (touched, input, current) in
            [(self.touched_ex, self.ex, current_ex), (self.touched_in, self.inh, current_in)]
        {
            for &t in touched.iter() {
                current[t as usize] += input[t as usize];
                input[t as usize] = 0.0;
            }
            touched.clear();
        }
    }

    /// Clears the slot's listed entries and its lists, without reading them.
    pub fn clear(self) {
        for (touched, input) in [(self.touched_ex, self.ex), (self.touched_in, self.inh)] {
            touched.iter().for_each(|&t| input[t as usize] = 0.0);
            touched.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_and_dense_reads_see_the_same_input() {
        let mut ring = RingBuffers::new(64, 2, true);
        ring.resize(4, 0);
        let slot = ring.slot_of(5);
        ring.add_to_slot(slot, 3, 1.5);
        ring.add_to_slot(slot, 3, -2.0);
        ring.add_row(slot, &[3u16, 7, 7], 0.25);
        let (mut ex, mut inh) = (vec![0.0; 64], vec![0.0; 64]);
        ring.sparse_slot(5).expect("sparse").apply(&mut ex, &mut inh);
        assert_eq!((ex[3], inh[3], ex[7]), (1.75, -2.0, 0.5));
        let (dense_ex, dense_in) = ring.dense_slot(5);
        assert!(dense_ex.iter().chain(dense_in.iter()).all(|&x| x == 0.0));
    }

    #[test]
    fn a_busy_slot_stops_listing_and_is_read_densely() {
        let n = 64;
        let mut ring = RingBuffers::new(n, 2, true);
        ring.resize(2, 0);
        let targets: Vec<u16> = (0..n as u16).collect();
        for _ in 0..10 {
            ring.add_row(ring.slot_of(1), &targets, 1.0);
        }
        let lists = &ring.touched.as_ref().expect("tracking")[ring.slot_of(1)];
        assert!(lists[0].len() <= n / SPARSE_FRACTION + n, "list kept growing: {}", lists[0].len());
        assert!(ring.sparse_slot(1).is_none());
        assert!(ring.dense_slot(1).0.iter().all(|&x| x == 10.0));
    }

    #[test]
    fn pending_input_round_trips_at_another_step_and_length() {
        let n = 64;
        let mut ring = RingBuffers::new(n, 2, true);
        ring.resize(5, 0);
        ring.add_to_slot(ring.slot_of(7), 2, 1.5);
        ring.add_to_slot(ring.slot_of(8), 0, -0.25);
        let saved = ring.pending(6, 3);
        assert_eq!(saved.len(), 2 * 3 * n);
        assert_eq!((saved[n + 2], saved[5 * n]), (1.5, -0.25));
        assert_eq!(saved.iter().filter(|&&v| v != 0.0).count(), 2);
        let mut restored = RingBuffers::new(n, 2, true);
        restored.resize(9, 0);
        assert!(restored.add_pending(6, 3, &saved));
        assert_eq!(restored.pending(6, 3), saved);
        // Beyond the buffers' length: zeros out, and refused in.
        let longer = ring.pending(6, 7);
        assert!(longer[5 * n..7 * n].iter().all(|&v| v == 0.0));
        let mut short = RingBuffers::new(n, 2, true);
        short.resize(2, 0);
        assert!(!short.add_pending(6, 3, &saved));
        assert!(short.pending(6, 2).iter().all(|&v| v == 0.0));
        let (mut ex, mut inh) = (vec![0.0; n], vec![0.0; n]);
        restored.sparse_slot(7).expect("listed").apply(&mut ex, &mut inh);
        assert_eq!((ex[2], ex.iter().sum::<f64>()), (1.5, 1.5));
    }

    #[test]
    fn resize_keeps_pending_input() {
        let mut ring = RingBuffers::new(2, 1, false);
        ring.resize(3, 10);
        let slot = ring.slot_of(12);
        ring.add_to_slot(slot, 1, 4.0);
        ring.resize(7, 11);
        assert_eq!(ring.dense_slot(12).0, &[0.0, 4.0]);
    }
}
