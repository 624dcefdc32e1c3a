//! What a block records for monitors: the spikes of some of its neurons, samples of a state
//! variable of some neurons every k steps, and spike counts per time bin. Each recorder has a
//! window of steps `[first, stop)`; only what a monitor asked for is kept, so memory grows
//! with the recorded neurons and samples, not with the block.

use crate::engine::error::{invalid, EngineError};
use crate::engine::spike;

/// The steps a recorder records: `[first, stop)`; a sampling recorder samples the steps `s`
/// of the window with `(s + 1) % every == 0` (steps that end on a multiple of the interval).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub first: u64,
    pub stop: u64,
    pub every: u64,
}

impl Window {
    /// A window of `[first, stop)` (no end: `stop = None`) sampling every `every` steps.
    pub fn new(first: u64, stop: Option<u64>, every: u64) -> Result<Self, EngineError> {
        let stop = stop.unwrap_or(u64::MAX);
        if stop < first {
            return Err(invalid("stop_step", stop, &format!("at least first_step = {first}")));
        }
        if every == 0 {
            return Err(invalid("every", every, "at least one step"));
        }
        Ok(Self { first, stop, every })
    }

    pub fn contains(&self, step: u64) -> bool {
        step >= self.first && step < self.stop
    }

    pub fn samples(&self, step: u64) -> bool {
        self.contains(step) && (step + 1).is_multiple_of(self.every)
    }

    /// Bins of `every` steps from `first` that end at or before step `until` (exclusive)
    /// and within the window.
    pub fn completed_bins(&self, until: u64) -> u64 {
        let end = until.min(self.stop);
        if end > self.first {
            (end - self.first) / self.every
        } else {
            0
        }
    }
}

/// Which of a block's neurons a recorder watches: all of them, or some (block-local
/// indices, ascending: memory grows with the recorded neurons, not with the block).
#[derive(Clone, Debug)]
enum Selection {
    All,
    Some(Vec<u32>),
}

/// The spikes of some neurons of a block within a window (packed `step << 32 | gid`) and,
/// for models with precise spike times, their sub-step offsets.
#[derive(Clone, Debug)]
pub struct SpikeRecorder {
    pub id: usize,
    selection: Selection,
    window: Window,
    spikes: Vec<u64>,
    offsets: Vec<f64>,
}

/// Samples of one state variable of some neurons of a block: a row of `locals.len()` values
/// per sampled step, column k being the recorder's column `columns[k]`.
#[derive(Clone, Debug)]
pub struct StateRecorder {
    pub id: usize,
    variable: usize,
    locals: Vec<u32>,
    columns: Vec<u32>,
    window: Window,
    values: Vec<f64>,
}

/// Spike counts of a block per bin of `window.every` steps from `window.first`, from the
/// first bin not taken yet.
#[derive(Clone, Debug)]
pub struct RateRecorder {
    pub id: usize,
    window: Window,
    first_bin: u64,
    counts: Vec<u64>,
}

/// Everything a block records.
#[derive(Clone, Debug, Default)]
pub struct BlockRecorders {
    spikes: Vec<SpikeRecorder>,
    states: Vec<StateRecorder>,
    rates: Vec<RateRecorder>,
}

/// The block-local index of each of `ids` (population-local, any order) that the block holds
/// (`locals` ascending), with the position of that id in `ids`.
fn positions(locals: &[u32], ids: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let (mut found, mut columns) = (Vec::new(), Vec::new());
    for (column, id) in ids.iter().enumerate() {
        if let Ok(i) = locals.binary_search(id) {
            found.push(i as u32);
            columns.push(column as u32);
        }
    }
    (found, columns)
}

impl BlockRecorders {
    /// Records the spikes of the population-local `ids` (all neurons: None) in `window`.
    pub fn add_spikes(&mut self, id: usize, locals: &[u32], ids: Option<&[u32]>, window: Window) {
        let selection = match ids {
            None => Selection::All,
            Some(ids) => {
                let mut found = positions(locals, ids).0;
                found.sort_unstable();
                found.dedup();
                Selection::Some(found)
            }
        };
        self.spikes.push(SpikeRecorder { id, selection, window, spikes: Vec::new(), offsets: Vec::new() });
    }

    /// Samples `variable` of the population-local `ids` (column k of the output is `ids[k]`).
    pub fn add_state(&mut self, id: usize, variable: usize, locals: &[u32], ids: &[u32], window: Window) {
        let (found, columns) = positions(locals, ids);
        self.states.push(StateRecorder { id, variable, locals: found, columns, window, values: Vec::new() });
    }

    /// Counts the block's spikes per bin of `window.every` steps.
    pub fn add_rate(&mut self, id: usize, window: Window) {
        self.rates.push(RateRecorder { id, window, first_bin: 0, counts: Vec::new() });
    }

    /// Whether a state recorder samples `step` (the step must then be held in memory).
    pub fn samples(&self, step: u64) -> bool {
        self.states.iter().any(|r| r.window.samples(step))
    }

    /// Whether there is any state recorder at all.
    pub fn has_states(&self) -> bool {
        !self.states.is_empty()
    }

    /// Records the spikes of `step`: block-local indices `spiked` of neurons `gids`, with
    /// sub-step offsets `offsets[i]` when `precise`.
    pub fn on_spikes(&mut self, step: u64, spiked: &[u32], gids: &[u32], offsets: &[f64], precise: bool) {
        if spiked.is_empty() {
            return;
        }
        for recorder in &mut self.spikes {
            if !recorder.window.contains(step) {
                continue;
            }
            for &i in spiked {
                if let Selection::Some(selected) = &recorder.selection {
                    if selected.binary_search(&i).is_err() {
                        continue;
                    }
                }
                recorder.spikes.push(spike::pack(step, gids[i as usize]));
                if precise {
                    recorder.offsets.push(offsets[i as usize]);
                }
            }
        }
        for recorder in &mut self.rates {
            if recorder.window.contains(step) {
                let bin = (step - recorder.window.first) / recorder.window.every;
                let index = (bin - recorder.first_bin) as usize;
                if recorder.counts.len() <= index {
                    recorder.counts.resize(index + 1, 0);
                }
                recorder.counts[index] += spiked.len() as u64;
            }
        }
    }

    /// Samples the state at the end of `step` (the state must be up to date).
    pub fn on_step_end(&mut self, step: u64, state: &[Vec<f64>]) {
        for recorder in &mut self.states {
            if recorder.window.samples(step) {
                let values = &state[recorder.variable];
                recorder.values.extend(recorder.locals.iter().map(|&i| values[i as usize]));
            }
        }
    }

    /// Takes spike recorder `id`'s spikes and offsets (empty without precise times).
    pub fn take_spikes(&mut self, id: usize) -> Option<(Vec<u64>, Vec<f64>)> {
        let r = self.spikes.iter_mut().find(|r| r.id == id)?;
        Some((std::mem::take(&mut r.spikes), std::mem::take(&mut r.offsets)))
    }

    /// Takes state recorder `id`'s samples: its columns and their values, row by row.
    pub fn take_state(&mut self, id: usize) -> Option<(&[u32], Vec<f64>)> {
        let r = self.states.iter_mut().find(|r| r.id == id)?;
        Some((&r.columns, std::mem::take(&mut r.values)))
    }

    /// Takes rate recorder `id`'s counts of its next `n` bins (the first not taken yet);
    /// later bins stay.
    pub fn take_rate(&mut self, id: usize, n: usize) -> Option<Vec<u64>> {
        let r = self.rates.iter_mut().find(|r| r.id == id)?;
        let mut taken: Vec<u64> = r.counts.drain(..n.min(r.counts.len())).collect();
        taken.resize(n, 0);
        r.first_bin += n as u64;
        Some(taken)
    }

    /// Bytes held by recorded data and selections (what recording costs this block).
    pub fn bytes(&self) -> usize {
        let spikes: usize = self
            .spikes
            .iter()
            .map(|r| {
                let selected = match &r.selection {
                    Selection::All => 0,
                    Selection::Some(s) => s.capacity() * 4,
                };
                r.spikes.capacity() * 8 + r.offsets.capacity() * 8 + selected
            })
            .sum();
        let states: usize = self
            .states
            .iter()
            .map(|r| r.values.capacity() * 8 + (r.locals.capacity() + r.columns.capacity()) * 4)
            .sum();
        let rates: usize = self.rates.iter().map(|r| r.counts.capacity() * 8).sum();
        spikes + states + rates
    }
}

/// Checks a recorder id against the number handed out.
pub fn check_id(kind: &str, id: usize, count: usize) -> Result<(), EngineError> {
    if id >= count {
        return Err(invalid(kind, id, &format!("an id returned by add_{kind}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_sample_steps_ending_on_a_multiple() {
        let w = Window::new(3, Some(12), 4).unwrap();
        let sampled: Vec<u64> = (0..20).filter(|&s| w.samples(s)).collect();
        assert_eq!(sampled, vec![3, 7, 11]);
        assert!(Window::new(5, Some(4), 1).is_err());
        assert!(Window::new(0, None, 0).is_err());
    }

    #[test]
    fn spike_recorders_keep_selected_neurons_in_their_window() {
        let locals = [2u32, 5, 9];
        let gids = [102u32, 105, 109];
        let mut r = BlockRecorders::default();
        r.add_spikes(0, &locals, Some(&[9, 4, 2]), Window::new(1, Some(3), 1).unwrap());
        r.add_spikes(1, &locals, None, Window::new(0, None, 1).unwrap());
        for step in 0..4 {
            r.on_spikes(step, &[0, 1, 2], &gids, &[], false);
        }
        let (some, _) = r.take_spikes(0).unwrap();
        let unpacked: Vec<(u64, u32)> = some.iter().map(|&p| spike::unpack(p)).collect();
        assert_eq!(unpacked, vec![(1, 102), (1, 109), (2, 102), (2, 109)]);
        assert_eq!(r.take_spikes(1).unwrap().0.len(), 12);
        assert!(r.take_spikes(0).unwrap().0.is_empty());
    }

    #[test]
    fn rate_recorders_report_completed_bins_only() {
        let mut r = BlockRecorders::default();
        r.add_rate(0, Window::new(2, Some(11), 3).unwrap());
        for step in 0..7 {
            r.on_spikes(step, &[0, 1][..(step % 2 + 1) as usize], &[7, 8], &[], false);
        }
        // Bins [2, 5) and [5, 8): steps 2..=4 give 1 + 2 + 1 spikes; step 7 not yet run.
        let w = Window::new(2, Some(11), 3).unwrap();
        assert_eq!(w.completed_bins(7), 1);
        assert_eq!(r.take_rate(0, 1).unwrap(), vec![4]);
        for step in 7..20 {
            r.on_spikes(step, &[0], &[7, 8], &[], false);
        }
        // [5, 8): 2 + 1 + 1; [8, 11): 3; the window ends at 11.
        assert_eq!(w.completed_bins(20), 3);
        assert_eq!(r.take_rate(0, 2).unwrap(), vec![4, 3]);
        assert_eq!(r.take_rate(0, 0).unwrap(), Vec::<u64>::new());
        assert_eq!(w.completed_bins(1), 0);
    }
}
