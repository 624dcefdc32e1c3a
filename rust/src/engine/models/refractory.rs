//! The neurons of a block in their refractory period, listed with their counters.
//!
//! Refractory neurons are few (rate × t_ref of them: about 3% in CUBA). Rather than reading
//! and counting down every neuron's f64 counter in the dense loop (8 bytes per neuron per
//! step, when the loop is bound by memory traffic), the dense loop reads one byte per neuron
//! (`held`) and the list counts down the few listed counters. The block's counter array is
//! written when a neuron enters or leaves the list, and brought up to date by `sync` before
//! anyone reads it. The results are bit for bit those of the dense definition
//! (`free = counter <= 0.5`; a spike sets the counter, a refractory step lowers it by one).

/// A neuron is free when its counter (whole steps left, possibly fractional from user state)
/// is at most one half; NaN counts as refractory, as in the dense test `counter <= 0.5`.
#[inline]
fn is_refractory(counter: f64) -> bool {
    counter > 0.5 || counter.is_nan()
}

#[derive(Clone, Debug, Default)]
pub struct RefractoryList {
    /// Per neuron of the block: 1 while it is listed, for the dense loop.
    held: Vec<u8>,
    /// Block-local index and counter of each listed neuron; the counter here is the current
    /// one, the block's array may lag behind (see `sync`).
    ids: Vec<u32>,
    counters: Vec<f64>,
}

impl RefractoryList {
    /// The byte per neuron the dense loop reads: non-zero while the neuron is refractory.
    /// The first call (before the first step) lists the neurons refractory in the block's
    /// `counter` array.
    pub fn held(&mut self, counter: &[f64]) -> &[u8] {
        if self.held.len() != counter.len() {
            self.held = vec![0; counter.len()];
            for (k, &c) in counter.iter().enumerate() {
                if is_refractory(c) {
                    self.push(k as u32, c);
                }
            }
        }
        &self.held
    }

    /// After a dense step in which the listed neurons kept their membrane: counts their
    /// counters down one step and lets go of the ones whose period ends. A listed neuron that
    /// spiked anyway (clamped at or above threshold, as NEST allows) leaves the list too:
    /// `start` lists it again with a fresh period.
    pub fn count_down(&mut self, counter: &mut [f64], spiked: &[u8]) {
        let mut kept = 0;
        for j in 0..self.ids.len() {
            let (k, left) = (self.ids[j] as usize, self.counters[j] - 1.0);
            let spike = spiked[k] != 0;
            let stays = !spike && is_refractory(left);
            if !stays {
                self.held[k] = 0;
                if !spike {
                    counter[k] = left;
                }
            }
            self.ids[kept] = k as u32;
            self.counters[kept] = left;
            kept += stays as usize;
        }
        self.ids.truncate(kept);
        self.counters.truncate(kept);
    }

    /// Starts a refractory period of `steps` for the neurons that spiked this step (`locals`,
    /// block-local indices, each once).
    pub fn start(&mut self, steps: f64, locals: &[u32], counter: &mut [f64]) {
        for &k in locals {
            counter[k as usize] = steps;
            if is_refractory(steps) {
                self.push(k, steps);
            }
        }
    }

    /// Writes the listed neurons' current counters into the block's array.
    pub fn sync(&self, counter: &mut [f64]) {
        for (&k, &c) in self.ids.iter().zip(&self.counters) {
            counter[k as usize] = c;
        }
    }

    fn push(&mut self, k: u32, counter: f64) {
        self.held[k as usize] = 1;
        self.ids.push(k);
        self.counters.push(counter);
    }
}
