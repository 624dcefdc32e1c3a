//! The neurons of a block in their refractory period, listed with their counters.
//!
//! Refractory neurons are few (rate × t_ref of them: about 3% in CUBA). Rather than reading
//! and counting down every neuron's f64 counter in the dense loop (8 bytes per neuron per
//! step, when the loop is bound by memory traffic), the dense loop reads one byte per neuron
//! (`held`) and this list keeps the counters. The block's counter array is written when a
//! neuron enters or leaves the list, and brought up to date by `sync` before anyone reads it.
//! The results are bit for bit those of the dense definition (`free = counter <= 0.5`; a
//! spike sets the counter, a refractory step lowers it by one).
//!
//! A spike starts a period of the same whole number of steps for every neuron, so neurons
//! leave in the order they entered: they wait in a queue with the step they leave at, and a
//! step costs one look at its front, however many neurons are refractory. Counters set by the
//! user before the run are counted down one by one in `counted`.

use std::collections::VecDeque;

/// A neuron is free when its counter (whole steps left, possibly fractional from user state)
/// is at most one half; NaN counts as refractory, as in the dense test `counter <= 0.5`.
#[inline]
pub(crate) fn is_refractory(counter: f64) -> bool {
    counter > 0.5 || counter.is_nan()
}

/// `leaves_at` of a neuron not in the queue.
const NOT_QUEUED: u64 = u64::MAX;

#[derive(Clone, Debug, Default)]
pub struct RefractoryList {
    /// Per neuron of the block: 1 while it is refractory, for the dense loop.
    held: Vec<u8>,
    /// Per neuron: 1 from `held_and_leaving` until the count-down that lets it go.
    leaving: Vec<u8>,
    /// Steps counted down so far (the queue's clock).
    now: u64,
    /// Block-local index and leaving step of neurons in a period of whole steps, in the order
    /// they leave. A neuron spiking again while refractory (clamped at or above threshold)
    /// gets a new entry; its old one is recognised as stale by `leaves_at`.
    queue: VecDeque<(u32, u64)>,
    /// Per neuron: the step its queue entry leaves at, or `NOT_QUEUED`.
    leaves_at: Vec<u64>,
    /// Block-local index and current counter of the other refractory neurons (those held at
    /// the start, whose counters come from user state, and periods that are not whole
    /// steps), counted down one by one.
    counted: Vec<(u32, f64)>,
}

impl RefractoryList {
    /// The byte per neuron the dense loop reads: non-zero while the neuron is refractory.
    /// The first call (before the first step) takes the neurons refractory in the block's
    /// `counter` array.
    pub fn held(&mut self, counter: &[f64]) -> &[u8] {
        if self.held.len() != counter.len() {
            self.held = vec![0; counter.len()];
            self.leaving = vec![0; counter.len()];
            self.leaves_at = vec![NOT_QUEUED; counter.len()];
            for (k, &c) in counter.iter().enumerate() {
                if is_refractory(c) {
                    self.held[k] = 1;
                    self.counted.push((k as u32, c));
                }
            }
        }
        &self.held
    }

    /// `held` for a step t and, per neuron, 1 if the count-down after step t lets it go
    /// (`leaving`; that count-down clears the marks): held at t + 1 are the neurons held at t
    /// and not leaving, and those that spiked at t.
    pub fn held_and_leaving(&mut self, counter: &[f64]) -> (&[u8], &[u8]) {
        self.held(counter);
        for &(k, leaves) in &self.queue {
            if leaves > self.now + 1 {
                break;
            }
            if self.leaves_at[k as usize] == leaves {
                self.leaving[k as usize] = 1;
            }
        }
        for &(k, c) in &self.counted {
            if !is_refractory(c - 1.0) {
                self.leaving[k as usize] = 1;
            }
        }
        (&self.held, &self.leaving)
    }

    /// After a dense step in which the held neurons kept their membrane: counts their
    /// counters down one step and lets go of the ones whose period ends. A held neuron that
    /// spiked anyway (clamped at or above threshold, as NEST allows) is left to `start`, which
    /// gives it a fresh period.
    pub fn count_down(&mut self, counter: &mut [f64], spiked: &[u8]) {
        self.now += 1;
        while let Some(&(k, leaves)) = self.queue.front() {
            if leaves > self.now {
                break;
            }
            self.queue.pop_front();
            let k = k as usize;
            if self.leaves_at[k] == leaves {
                // A whole number of steps counted down to exactly zero.
                self.leaves_at[k] = NOT_QUEUED;
                self.held[k] = 0;
                self.leaving[k] = 0;
                counter[k] = 0.0;
            }
        }
        let mut kept = 0;
        for j in 0..self.counted.len() {
            let (k, left) = (self.counted[j].0 as usize, self.counted[j].1 - 1.0);
            let spike = spiked[k] != 0;
            let stays = !spike && is_refractory(left);
            self.leaving[k] = 0;
            if !stays && !spike {
                self.held[k] = 0;
                counter[k] = left;
            }
            self.counted[kept] = (k as u32, left);
            kept += stays as usize;
        }
        self.counted.truncate(kept);
    }

    /// Starts a refractory period of `steps` for the neurons that spiked this step (`locals`,
    /// block-local indices, each once).
    pub fn start(&mut self, steps: f64, locals: &[u32], counter: &mut [f64]) {
        for &k in locals {
            counter[k as usize] = steps;
            // A clamped neuron spiking in its period restarts it: its old entry goes stale.
            self.leaves_at[k as usize] = NOT_QUEUED;
            self.held[k as usize] = 0;
            if is_refractory(steps) {
                self.enter(k, steps);
            }
        }
    }

    /// Writes the held neurons' current counters into the block's array.
    pub fn sync(&self, counter: &mut [f64]) {
        for &(k, leaves) in &self.queue {
            if self.leaves_at[k as usize] == leaves {
                counter[k as usize] = (leaves - self.now) as f64;
            }
        }
        for &(k, c) in &self.counted {
            counter[k as usize] = c;
        }
    }

    /// Holds neuron `k`, which spiked, for `steps` steps (refractory). Every spike of the
    /// block starts the same period, so the queue stays in leaving order.
    fn enter(&mut self, k: u32, steps: f64) {
        self.held[k as usize] = 1;
        // Whole numbers up to 2^52 count down exactly, to zero; the rest one by one.
        if steps.fract() == 0.0 && steps < (1u64 << 52) as f64 {
            let leaves = self.now + steps as u64;
            self.leaves_at[k as usize] = leaves;
            self.queue.push_back((k, leaves));
        } else {
            self.counted.push((k, steps));
        }
    }
}
