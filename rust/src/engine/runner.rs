//! The runner of one rank: its populations split into blocks, stepped interval by interval.
//!
//! An exchange interval is at most `min_delay` steps long; no spike emitted inside it can
//! arrive before it ends, so blocks advance the whole interval independently (in parallel),
//! then every spike of the interval — this rank's, or all ranks' under MPI — is delivered.
//!
//! Delivery is split by thread, not by block: each population's blocks are divided into as
//! many shards (runs of consecutive blocks) as the runner has threads, and delivery group k
//! (one thread's work) is shard k of every population. A projection's synapses are stored
//! per shard (`SynapseTable`), and one index per rank (`SourceIndex`) gives each source's rows,
//! so a spike is looked up once per group and touches only the rows that hold its synapses.
//! The blocks of a group are kept next to each other in `blocks`, so each group delivers into
//! a slice of its own.

use std::ops::Range;

use rayon::prelude::*;

use crate::engine::block::{Block, Drive};
use crate::engine::connect::{build_table, ProjectionSpec};
use crate::engine::error::{invalid, EngineError};
use crate::engine::models;
use crate::engine::recorders::{check_id, Window};
use crate::engine::source_index::{SourceIndex, TableRows};
use crate::engine::spike;
use crate::engine::synapses::{Rows, SynapseTable, MAX_BLOCK_LEN};
use std::collections::HashMap;
use std::time::Instant;

/// A population as this rank knows it: global id range and the blocks holding its neurons.
#[derive(Clone, Debug)]
pub struct PopulationInfo {
    pub first_gid: u32,
    pub size: u32,
    pub n_state: usize,
    pub blocks: Vec<usize>,
    /// The population's shards (indices into `Runner::shards`).
    pub shards: Vec<usize>,
}

/// Consecutive blocks of one population that one delivery group delivers into.
#[derive(Clone, Debug)]
struct Shard {
    group: usize,
    /// Indices into `Runner::blocks`.
    blocks: Range<usize>,
    /// Neurons per block (the population's last block may hold fewer).
    block_size: usize,
}

pub struct Runner {
    pub dt: f64,
    populations: Vec<PopulationInfo>,
    /// Grouped by delivery group (`groups`), then population, then position.
    blocks: Vec<Block>,
    shards: Vec<Shard>,
    /// The blocks of each delivery group.
    groups: Vec<Range<usize>>,
    /// Synapses per projection and shard, in the order the projections were added.
    tables: Vec<SynapseTable>,
    /// The rows of tables not yet in `index` (table, pre first gid, pre size, rows).
    unindexed: Vec<(u32, u32, u32, Rows)>,
    index: SourceIndex,
    /// Whether `index` was built (at the first `prepare`).
    indexed: bool,
    /// Slots of every block's ring buffers (set by `prepare`).
    ring_len: usize,
    pool: Option<rayon::ThreadPool>,
    /// Next step to compute.
    step: u64,
    min_delay: u64,
    max_delay: u64,
    /// The population of each spike, state and rate recorder, by recorder id.
    recorders: RecorderIds,
    /// Spikes this rank's neurons emitted so far.
    spikes_emitted: u64,
    /// Wall time spent updating neurons and delivering spikes.
    times: PhaseTimes,
    /// This rank's spikes of the last interval, sorted.
    local_spikes: Vec<u64>,
    /// See `PARALLEL_MIN_WORK`.
    parallel_min_work: usize,
}

/// The population of every recorder, by kind and id.
#[derive(Clone, Debug, Default)]
struct RecorderIds {
    spikes: Vec<usize>,
    states: Vec<usize>,
    /// Population, window and the first bin not taken yet.
    rates: Vec<(usize, Window, u64)>,
}

/// Seconds of wall time a runner spent in each phase of its steps.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PhaseTimes {
    /// Advancing neurons (kernels, Poisson drives, recording).
    pub update_s: f64,
    /// Delivering spikes into ring buffers.
    pub delivery_s: f64,
}

/// In one-process runs, one interval in this many is timed phase by phase (two clock reads
/// per phase); the run's total time is split in the proportion measured. Reading the clock
/// at every interval of a fast network (CUBA: 5,000 intervals a second of model time) would
/// cost more than the split is worth.
pub const TIMED_INTERVAL_EVERY: u64 = 16;

/// Neuron updates (or synaptic events) below which waking the thread pool costs more than
/// it saves (a fork-join costs several microseconds).
pub const PARALLEL_MIN_WORK: usize = 50_000;

/// More threads per rank than this is a mistake, not a request.
pub const MAX_THREADS: usize = 1024;

/// Neurons per block when the caller does not choose, and the largest block Python's
/// `engines.rust.block_size` makes: a ring-buffer slot of a block (8 bytes per neuron) then
/// fits in the L1 cache while spikes are delivered into it.
pub const DEFAULT_BLOCK_SIZE: usize = 4096;

impl Runner {
    /// `n_threads` > 1 runs blocks on a private rayon pool of that size.
    pub fn new(dt: f64, n_threads: usize) -> Result<Self, EngineError> {
        if !(dt > 0.0 && dt.is_finite()) {
            return Err(invalid("dt", dt, "a positive number of seconds"));
        }
        if n_threads == 0 || n_threads > MAX_THREADS {
            return Err(invalid("n_threads", n_threads, &format!("a count in [1, {MAX_THREADS}]")));
        }
        let pool = if n_threads > 1 {
            Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(n_threads)
                    .build()
                    .map_err(|e| EngineError::Usage(format!("cannot start {n_threads} threads: {e}")))?,
            )
        } else {
            None
        };
        let n_groups = pool.as_ref().map_or(1, |p| p.current_num_threads());
        Ok(Self {
            dt,
            populations: Vec::new(),
            blocks: Vec::new(),
            shards: Vec::new(),
            groups: vec![0..0; n_groups],
            tables: Vec::new(),
            unindexed: Vec::new(),
            index: SourceIndex::default(),
            indexed: false,
            ring_len: 0,
            pool,
            step: 0,
            min_delay: u64::MAX,
            max_delay: 0,
            recorders: RecorderIds::default(),
            spikes_emitted: 0,
            times: PhaseTimes::default(),
            local_spikes: Vec::new(),
            parallel_min_work: PARALLEL_MIN_WORK,
        })
    }

    /// Lowers or raises the work below which the pool is not used (tests use 0).
    pub fn set_parallel_min_work(&mut self, work: usize) {
        self.parallel_min_work = work;
    }

    pub fn step(&self) -> u64 {
        self.step
    }

    /// The longest delay (steps) of the synapses on this rank, 0 without synapses.
    pub fn max_delay(&self) -> u64 {
        self.max_delay
    }

    pub fn n_threads(&self) -> usize {
        self.pool.as_ref().map_or(1, |p| p.current_num_threads())
    }

    /// Adds a population's local neurons (population-local ids `locals`, ascending) with their
    /// initial state (`state[var][i]`). Returns the population's index on this runner.
    #[allow(clippy::too_many_arguments)]
    pub fn add_population(
        &mut self,
        kernel_name: &str,
        constants: &HashMap<String, f64>,
        key: u64,
        first_gid: u32,
        size: u32,
        locals: &[u32],
        state: Vec<Vec<f64>>,
        block_size: usize,
    ) -> Result<usize, EngineError> {
        let model = models::model(kernel_name)?;
        // Checked once, whether or not this rank holds any of the neurons.
        model.kernel(constants, key)?;
        let n_state = model.state.len();
        if state.len() != n_state {
            return Err(invalid(
                "state",
                format!("{} variables", state.len()),
                &format!("{n_state} for {kernel_name}"),
            ));
        }
        if let Some(bad) = state.iter().find(|v| v.len() != locals.len()) {
            return Err(invalid("state length", bad.len(), &format!("{} local neurons", locals.len())));
        }
        if locals.windows(2).any(|w| w[0] >= w[1]) || locals.last().is_some_and(|&l| l >= size) {
            return Err(invalid("locals", "unsorted or out of range", "ascending ids below the population size"));
        }
        let population = self.populations.len();
        let mut info = PopulationInfo { first_gid, size, n_state, blocks: Vec::new(), shards: Vec::new() };
        let block_size = block_size.clamp(1, MAX_BLOCK_LEN);
        for start in (0..locals.len()).step_by(block_size) {
            let stop = (start + block_size).min(locals.len());
            let block_locals = locals[start..stop].to_vec();
            let gids = block_locals.iter().map(|&l| first_gid + l).collect();
            let block_state = state.iter().map(|v| v[start..stop].to_vec()).collect();
            info.blocks.push(self.blocks.len());
            self.blocks.push(Block::new(model.kernel(constants, key)?, gids, block_locals, block_state));
        }
        // Shards: the blocks split as evenly as whole blocks allow over the groups; a
        // population with fewer blocks than groups starts where the last one stopped, so
        // small populations do not all land on the first group.
        let n_groups = self.groups.len();
        let n_blocks = info.blocks.len();
        let n_shards = n_groups.min(n_blocks);
        let first_group = self.shards.len() % n_groups;
        for k in 0..n_shards {
            let first = info.blocks[0];
            let range = first + k * n_blocks / n_shards..first + (k + 1) * n_blocks / n_shards;
            info.shards.push(self.shards.len());
            self.shards.push(Shard { group: (first_group + k) % n_groups, blocks: range, block_size });
        }
        self.populations.push(info);
        self.arrange_blocks();
        Ok(population)
    }

    /// Puts the blocks of each delivery group next to each other (group, then population,
    /// then position), updating the populations' and shards' block indices.
    fn arrange_blocks(&mut self) {
        let mut order = Vec::with_capacity(self.blocks.len());
        for (group, range) in self.groups.iter_mut().enumerate() {
            let start = order.len();
            for shard in self.shards.iter_mut().filter(|s| s.group == group) {
                let first = order.len();
                order.extend(shard.blocks.clone());
                shard.blocks = first..order.len();
            }
            *range = start..order.len();
        }
        let mut new_index = vec![0; order.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        for info in &mut self.populations {
            info.blocks.iter_mut().for_each(|b| *b = new_index[*b]);
        }
        let mut old: Vec<Option<Block>> = std::mem::take(&mut self.blocks).into_iter().map(Some).collect();
        self.blocks = order.iter().map(|&b| old[b].take().expect("each block placed once")).collect();
    }

    fn population(&self, index: usize) -> Result<&PopulationInfo, EngineError> {
        self.populations.get(index).ok_or_else(|| invalid("population", index, "an index returned by add_population"))
    }

    /// Builds the local synapses of a projection onto population `post`, shard by shard in
    /// parallel. Returns the number of synapses built on this rank.
    pub fn add_projection(&mut self, post: usize, spec: &ProjectionSpec) -> Result<usize, EngineError> {
        spec.validate()?;
        if self.indexed {
            return Err(EngineError::Usage("projections must be added before the runner is prepared".into()));
        }
        let shard_ids = self.population(post)?.shards.clone();
        let blocks = &self.blocks;
        let shards = &self.shards;
        let build = |&s: &usize| {
            let shard = &shards[s];
            let targets: Vec<u32> =
                blocks[shard.blocks.clone()].iter().flat_map(|b| b.locals().iter().copied()).collect();
            build_table(spec, &targets, shard.block_size, s as u32)
        };
        let built = match &self.pool {
            Some(pool) => pool.install(|| shard_ids.par_iter().map(build).collect::<Result<Vec<_>, _>>())?,
            None => shard_ids.iter().map(build).collect::<Result<Vec<_>, _>>()?,
        };
        let mut count = 0;
        for part in built {
            let table = part.table;
            count += table.n_synapses();
            if let Some(d) = table.min_delay() {
                self.min_delay = self.min_delay.min(d as u64);
            }
            self.max_delay = self.max_delay.max(table.max_delay() as u64);
            self.unindexed.push((self.tables.len() as u32, spec.pre_first_gid, spec.pre_n, part.rows));
            self.tables.push(table);
        }
        Ok(count)
    }

    /// Builds the source index from the tables' rows (once: projections come first). Each
    /// source's rows are listed by delivery group, then in the order the tables were built
    /// (projection order), the order in which `deliver` must add them.
    fn build_index(&mut self) {
        if self.indexed {
            return;
        }
        let (tables, shards) = (&self.tables, &self.shards);
        let mut unindexed = std::mem::take(&mut self.unindexed);
        unindexed.sort_by_key(|(t, ..)| (shards[tables[*t as usize].shard as usize].group, *t));
        let parts: Vec<TableRows> = unindexed
            .iter()
            .map(|(table, pre_first_gid, pre_n, rows)| TableRows {
                table: *table,
                pre_first_gid: *pre_first_gid,
                pre_n: *pre_n,
                rows,
            })
            .collect();
        self.index = SourceIndex::build(&parts);
        self.indexed = true;
    }

    /// Adds Poisson input to the population-local neurons `targets` of `population`: per step
    /// `n_chunks` counts, each drawn against the cumulative table `cdf`, times `weight`.
    pub fn add_drive(
        &mut self,
        population: usize,
        targets: &[u32],
        weight: f64,
        key: u64,
        n_chunks: u32,
        cdf: &[f64],
    ) -> Result<(), EngineError> {
        if cdf.is_empty()
            || cdf.iter().any(|c| c.is_nan())
            || cdf.windows(2).any(|w| w[0] > w[1])
            || cdf[cdf.len() - 1] != 1.0
        {
            return Err(invalid("cdf", format!("{} entries", cdf.len()), "a non-decreasing table ending in 1.0"));
        }
        let mut sorted = targets.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        for &b in &self.population(population)?.blocks.clone() {
            let block = &mut self.blocks[b];
            // Only the targets within the block's id range are looked up in it.
            let (Some(&first), Some(&last)) = (block.locals().first(), block.locals().last()) else { continue };
            let inside = &sorted[sorted.partition_point(|&t| t < first)..sorted.partition_point(|&t| t <= last)];
            let local: Vec<u32> = inside.iter().filter_map(|&t| block.position(t).map(|i| i as u32)).collect();
            if !local.is_empty() {
                block.add_drive(Drive { key, targets: local, weight, n_chunks, cdf: cdf.to_vec() });
            }
        }
        Ok(())
    }

    /// Records the spikes of the population-local `ids` of `population` (all: None) in the
    /// steps `[first_step, stop_step)`. Returns the recorder id (for `take_spikes`).
    pub fn add_spike_recorder(
        &mut self,
        population: usize,
        ids: Option<&[u32]>,
        first_step: u64,
        stop_step: Option<u64>,
    ) -> Result<usize, EngineError> {
        let window = Window::new(first_step, stop_step, 1)?;
        let blocks = self.population(population)?.blocks.clone();
        let id = self.recorders.spikes.len();
        self.recorders.spikes.push(population);
        for b in blocks {
            self.blocks[b].add_spike_recorder(id, ids, window);
        }
        Ok(id)
    }

    /// Samples state variable `variable` of the population-local neurons `ids` at the steps
    /// of `[first_step, stop_step)` that end on a multiple of `every` steps. Ids not on this
    /// rank are skipped. Returns the recorder id (for `take_state`).
    pub fn add_state_recorder(
        &mut self,
        population: usize,
        variable: usize,
        ids: &[u32],
        first_step: u64,
        stop_step: Option<u64>,
        every: u64,
    ) -> Result<usize, EngineError> {
        let info = self.population(population)?.clone();
        if variable >= info.n_state {
            return Err(invalid("variable", variable, &format!("an index below {}", info.n_state)));
        }
        let window = Window::new(first_step, stop_step, every)?;
        let id = self.recorders.states.len();
        self.recorders.states.push(population);
        for &b in &info.blocks {
            self.blocks[b].add_state_recorder(id, variable, ids, window);
        }
        Ok(id)
    }

    /// Counts the population's spikes on this rank per bin of `bin_steps` steps from
    /// `first_step` (until `stop_step`). Returns the recorder id (for `take_rate`).
    pub fn add_rate_recorder(
        &mut self,
        population: usize,
        first_step: u64,
        stop_step: Option<u64>,
        bin_steps: u64,
    ) -> Result<usize, EngineError> {
        let window = Window::new(first_step, stop_step, bin_steps)?;
        let blocks = self.population(population)?.blocks.clone();
        let id = self.recorders.rates.len();
        self.recorders.rates.push((population, window, 0));
        for b in blocks {
            self.blocks[b].add_rate_recorder(id, window);
        }
        Ok(id)
    }

    /// Smallest delay among this rank's synapses (None if it has none).
    pub fn local_min_delay(&self) -> Option<u64> {
        (self.min_delay != u64::MAX).then_some(self.min_delay)
    }

    /// The longest exchange interval this rank's synapses allow (None without synapses): the
    /// smallest delay d, or d + 1 steps when every block that receives synapses has a kernel
    /// that takes its input after the step (the last step of an interval is then completed
    /// after delivery).
    pub fn longest_interval(&self) -> Option<u64> {
        let d = self.local_min_delay()?;
        let receiving = self.tables.iter().map(|t| &self.shards[t.shard as usize]);
        let all_defer = receiving.flat_map(|s| &self.blocks[s.blocks.clone()]).all(|b| b.takes_input_after_step());
        Some(d + all_defer as u64)
    }

    /// Prepares for intervals of at most `interval` steps: builds the source index (at the
    /// first call) and sizes the ring buffers.
    pub fn prepare(&mut self, interval: u64, max_delay: u64) -> Result<(), EngineError> {
        if interval == 0 {
            return Err(invalid("interval", interval, "at least one step"));
        }
        let longest = self.longest_interval();
        if let Some(longest) = longest {
            if interval > longest {
                let d = self.min_delay;
                let allowed = if longest > d { format!("d + 1 = {longest} steps") } else { format!("d = {d} steps") };
                return Err(invalid("interval", interval, &format!("at most {allowed}, d being the smallest delay")));
            }
        }
        self.build_index();
        let max_delay = max_delay.max(self.max_delay) as usize;
        let step = self.step;
        for block in &mut self.blocks {
            block.resize_rings(max_delay, step);
        }
        self.ring_len = max_delay + 1;
        Ok(())
    }

    /// Runs `f` on every block: on the thread pool when there is enough `work` (neuron
    /// updates or synaptic events) to pay for waking it, else on the calling thread.
    fn for_each_block(&mut self, work: usize, f: impl Fn(&mut Block) + Sync + Send) {
        match &self.pool {
            Some(pool) if work >= self.parallel_min_work => {
                let blocks = &mut self.blocks;
                pool.install(|| blocks.par_iter_mut().for_each(&f));
            }
            _ => self.blocks.iter_mut().for_each(f),
        }
    }

    fn n_local(&self) -> usize {
        self.blocks.iter().map(Block::len).sum()
    }

    /// Advances every block by `n_steps` (at most the prepared interval) and returns this
    /// rank's spikes of the interval, sorted (packed `step << 32 | gid`). If the interval is
    /// longer than the smallest delay, its last step waits for its input until `deliver`.
    pub fn advance(&mut self, n_steps: u64) -> &[u64] {
        let started = Instant::now();
        self.advance_blocks(n_steps);
        self.times.update_s += started.elapsed().as_secs_f64();
        &self.local_spikes
    }

    fn advance_blocks(&mut self, n_steps: u64) {
        let first = self.step;
        let work = self.n_local() * n_steps as usize;
        let defer_last = self.local_min_delay().is_some_and(|d| n_steps > d);
        self.for_each_block(work, |b| b.advance(first, n_steps, defer_last));
        self.step += n_steps;
        self.local_spikes.clear();
        for block in &self.blocks {
            self.local_spikes.extend_from_slice(block.interval_spikes());
        }
        self.local_spikes.sort_unstable();
        self.spikes_emitted += self.local_spikes.len() as u64;
    }

    /// Delivers sorted spikes (of all ranks) into the ring buffers, then completes a last
    /// step that `advance` left waiting for its input. Each delivery group works on its own
    /// blocks, on the thread pool when there are enough synaptic events to pay for it.
    pub fn deliver(&mut self, spikes: &[u64]) {
        let started = Instant::now();
        self.deliver_to_blocks(spikes);
        self.times.delivery_s += started.elapsed().as_secs_f64();
    }

    fn deliver_to_blocks(&mut self, spikes: &[u64]) {
        self.build_index();
        let synapses_per_source =
            self.tables.iter().map(SynapseTable::n_synapses).sum::<usize>() / self.index.n_sources().max(1);
        let work = spikes.len() * synapses_per_source;
        let mut groups = Vec::with_capacity(self.groups.len());
        let mut rest: &mut [Block] = &mut self.blocks;
        for (group, range) in self.groups.iter().enumerate() {
            let (mine, others) = rest.split_at_mut(range.len());
            groups.push((group, range.start, mine));
            rest = others;
        }
        let delivery = Delivery {
            spikes,
            index: &self.index,
            tables: &self.tables,
            shards: &self.shards,
            ring_len: self.ring_len,
        };
        let deliver = |(group, first_block, blocks): &mut (usize, usize, &mut [Block])| {
            delivery.deliver_group(*group, *first_block, blocks);
            blocks.iter_mut().for_each(Block::add_pending_input);
        };
        match &self.pool {
            Some(pool) if work >= self.parallel_min_work => pool.install(|| groups.par_iter_mut().for_each(deliver)),
            _ => groups.iter_mut().for_each(deliver),
        }
    }

    /// One process: advance `n_steps`, delivering own spikes after each interval. Nothing is
    /// exchanged, so intervals are as long as the synapses allow (`longest_interval`), or
    /// `interval` steps if that is longer (a network without synapses).
    pub fn run(&mut self, n_steps: u64, interval: u64) {
        let interval = interval.max(self.longest_interval().unwrap_or(0));
        let started = Instant::now();
        let mut sampled = PhaseTimes::default();
        let mut done = 0;
        let mut spikes = Vec::new();
        for count in 0.. {
            if done >= n_steps {
                break;
            }
            let m = interval.min(n_steps - done);
            let timed = count % TIMED_INTERVAL_EVERY == 0;
            let phase_start = timed.then(Instant::now);
            self.advance_blocks(m);
            let update_end = timed.then(Instant::now);
            spikes.clear();
            spikes.extend_from_slice(&self.local_spikes);
            self.deliver_to_blocks(&spikes);
            if let (Some(a), Some(b)) = (phase_start, update_end) {
                sampled.update_s += (b - a).as_secs_f64();
                sampled.delivery_s += b.elapsed().as_secs_f64();
            }
            done += m;
        }
        let total = started.elapsed().as_secs_f64();
        let measured = sampled.update_s + sampled.delivery_s;
        let update_share = if measured > 0.0 { sampled.update_s / measured } else { 1.0 };
        self.times.update_s += total * update_share;
        self.times.delivery_s += total * (1.0 - update_share);
    }

    /// Spikes this rank's neurons emitted since the runner was made.
    pub fn spikes_emitted(&self) -> u64 {
        self.spikes_emitted
    }

    /// Wall time spent updating neurons and delivering spikes since the runner was made.
    pub fn phase_times(&self) -> PhaseTimes {
        self.times
    }

    /// Takes spike recorder `id`'s spikes: (packed, offsets) sorted by (step, gid); offsets
    /// (sub-step spike times) only for models with precise spike times, else empty.
    pub fn take_spikes(&mut self, id: usize) -> Result<(Vec<u64>, Vec<f64>), EngineError> {
        check_id("spike_recorder", id, self.recorders.spikes.len())?;
        let blocks = self.populations[self.recorders.spikes[id]].blocks.clone();
        let mut spikes = Vec::new();
        let mut offsets = Vec::new();
        for &b in &blocks {
            let (s, o) = self.blocks[b].recorders().take_spikes(id).expect("every block of the population has it");
            spikes.extend(s);
            offsets.extend(o);
        }
        if offsets.is_empty() {
            // Each block's spikes are already in order: the stable sort merges these runs.
            spikes.sort();
            return Ok((spikes, offsets));
        }
        let mut pairs: Vec<(u64, f64)> = spikes.into_iter().zip(offsets).collect();
        pairs.sort_unstable_by_key(|p| p.0);
        Ok(pairs.into_iter().unzip())
    }

    /// Takes state recorder `id`'s samples of this rank's neurons: (columns, rows, values),
    /// the columns (positions in the recorder's `ids`) ascending and the values row by row,
    /// one row per sampled step. A rank holding none of the ids returns no columns.
    pub fn take_state(&mut self, id: usize) -> Result<(Vec<u32>, usize, Vec<f64>), EngineError> {
        check_id("state_recorder", id, self.recorders.states.len())?;
        let blocks = self.populations[self.recorders.states[id]].blocks.clone();
        let mut parts: Vec<(Vec<u32>, Vec<f64>)> = Vec::new();
        for &b in &blocks {
            let (columns, values) = self.blocks[b].recorders().take_state(id).expect("every block has it");
            if !columns.is_empty() {
                parts.push((columns.to_vec(), values));
            }
        }
        let rows = parts.first().map_or(0, |(c, v)| v.len() / c.len());
        let mut order: Vec<(u32, usize, usize)> = Vec::new(); // (column, part, index in part)
        for (p, (columns, _)) in parts.iter().enumerate() {
            order.extend(columns.iter().enumerate().map(|(k, &c)| (c, p, k)));
        }
        order.sort_unstable();
        let width = order.len();
        let mut out = vec![0.0; rows * width];
        for (j, &(_, p, k)) in order.iter().enumerate() {
            let (columns, values) = &parts[p];
            for row in 0..rows {
                out[row * width + j] = values[row * columns.len() + k];
            }
        }
        Ok((order.iter().map(|o| o.0).collect(), rows, out))
    }

    /// Takes rate recorder `id`'s spike counts of this rank for the bins that end at or before
    /// step `until_step`, from the first not taken yet.
    pub fn take_rate(&mut self, id: usize, until_step: u64) -> Result<Vec<u64>, EngineError> {
        check_id("rate_recorder", id, self.recorders.rates.len())?;
        let (population, window, next_bin) = self.recorders.rates[id];
        let done = window.completed_bins(until_step).max(next_bin);
        let n = (done - next_bin) as usize;
        self.recorders.rates[id].2 = done;
        // A rank without neurons of the population reports its bins too (all zero).
        let mut total = vec![0u64; n];
        for &b in &self.populations[population].blocks.clone() {
            let counts = self.blocks[b].recorders().take_rate(id, n).expect("every block has it");
            total.iter_mut().zip(counts).for_each(|(t, c)| *t += c);
        }
        Ok(total)
    }

    /// Makes `step` the next step to compute (restoring a checkpoint); only before the first
    /// step. Recorders keep their windows: they record the steps from `step` on.
    pub fn start_at(&mut self, step: u64) -> Result<(), EngineError> {
        if self.step != 0 || self.spikes_emitted != 0 {
            return Err(EngineError::Usage(format!(
                "start_at({step}): the runner has already stepped to {}",
                self.step
            )));
        }
        self.step = step;
        Ok(())
    }

    /// The input buffered for the population's local neurons for the steps `step ..
    /// step + lags`: receptors x lags x local neurons (population-local id order), flattened.
    pub fn get_input(&self, population: usize, lags: usize) -> Result<Vec<f64>, EngineError> {
        let info = self.population(population)?;
        let parts: Vec<Vec<f64>> =
            info.blocks.iter().map(|&b| self.blocks[b].buffered_input(self.step, lags)).collect();
        let receptors = info.blocks.first().map_or(0, |&b| self.blocks[b].receptors());
        let mut values = Vec::with_capacity(parts.iter().map(Vec::len).sum());
        for row in 0..receptors * lags {
            for (part, &b) in parts.iter().zip(&info.blocks) {
                let n = self.blocks[b].len();
                values.extend_from_slice(&part[row * n..(row + 1) * n]);
            }
        }
        Ok(values)
    }

    /// Adds input for the population's local neurons for the steps `step .. step + lags`,
    /// laid out as `get_input` gives it (restoring a checkpoint).
    pub fn add_input(&mut self, population: usize, lags: usize, values: &[f64]) -> Result<(), EngineError> {
        let info = self.population(population)?.clone();
        let receptors = info.blocks.first().map_or(0, |&b| self.blocks[b].receptors());
        let n_local: usize = info.blocks.iter().map(|&b| self.blocks[b].len()).sum();
        if values.len() != receptors * lags * n_local {
            return Err(invalid(
                "values",
                format!("{} values", values.len()),
                &format!("{receptors} receptors x {lags} steps x {n_local} neurons"),
            ));
        }
        let mut first = 0;
        for &b in &info.blocks {
            let n = self.blocks[b].len();
            let mine: Vec<f64> = (0..receptors * lags)
                .flat_map(|row| values[row * n_local + first..row * n_local + first + n].iter().copied())
                .collect();
            if !self.blocks[b].add_buffered_input(self.step, lags, &mine) {
                return Err(EngineError::Usage(format!(
                    "add_input: input arrives more than the longest delay ({} steps) after step {}",
                    self.max_delay, self.step
                )));
            }
            first += n;
        }
        Ok(())
    }

    /// A state variable of the population's local neurons, in population-local id order.
    pub fn get_state(&mut self, population: usize, variable: usize) -> Result<Vec<f64>, EngineError> {
        let info = self.population(population)?.clone();
        if variable >= info.n_state {
            return Err(invalid("variable", variable, &format!("an index below {}", info.n_state)));
        }
        let mut values = Vec::new();
        for &b in &info.blocks {
            values.extend_from_slice(self.blocks[b].state(variable));
        }
        Ok(values)
    }

    /// The global ids of the neurons that have synapses on this rank, ascending (builds the
    /// source index if `prepare` has not).
    pub fn source_gids(&mut self) -> Vec<u32> {
        self.build_index();
        self.index.sources()
    }

    /// Bytes held by this rank's recorders (recorded data not yet taken, and selections).
    pub fn recording_bytes(&self) -> usize {
        self.blocks.iter().map(Block::recording_bytes).sum()
    }

    /// Total synapses on this rank and the bytes holding them (the source index included,
    /// once built).
    pub fn synapse_footprint(&self) -> (usize, usize) {
        let (n, bytes) = self.tables.iter().fold((0, 0), |(n, bytes), t| (n + t.n_synapses(), bytes + t.bytes()));
        (n, bytes + self.index.bytes())
    }
}

/// What every delivery group reads: the spikes and where their synapses are.
struct Delivery<'a> {
    spikes: &'a [u64],
    index: &'a SourceIndex,
    tables: &'a [SynapseTable],
    shards: &'a [Shard],
    ring_len: usize,
}

/// How many spikes ahead delivery starts loading a spike's index entry, and its rows.
const PREFETCH_INDEX_AHEAD: usize = 16;
const PREFETCH_ROWS_AHEAD: usize = 4;

impl Delivery<'_> {
    /// Delivers every spike's rows held by `group` into its `blocks` (the group's blocks,
    /// the first being `first_block` in the runner): spike by spike in (step, gid) order, a
    /// spike's rows in projection order, a row's synapses in order.
    fn deliver_group(&self, group: usize, first_block: usize, blocks: &mut [Block]) {
        if blocks.is_empty() {
            return;
        }
        let spikes = self.spikes;
        // The ring slot of the spikes' step, computed (a division) once per step.
        let mut slot_of_step = (u64::MAX, 0);
        for (k, &packed) in spikes.iter().enumerate() {
            let (step, gid) = spike::unpack(packed);
            if slot_of_step.0 != step {
                slot_of_step = (step, (step % self.ring_len as u64) as usize);
            }
            if let Some(&ahead) = spikes.get(k + PREFETCH_INDEX_AHEAD) {
                self.index.prefetch(ahead as u32);
            }
            if let Some(&ahead) = spikes.get(k + PREFETCH_ROWS_AHEAD) {
                for row in self.index.rows_of(ahead as u32) {
                    let table = &self.tables[row.table as usize];
                    if self.shards[table.shard as usize].group == group {
                        table.prefetch_row(row.start as usize, row.len as usize);
                    }
                }
            }
            for row in self.index.rows_of(gid) {
                let table = &self.tables[row.table as usize];
                let shard = &self.shards[table.shard as usize];
                if shard.group != group {
                    continue;
                }
                let mine = shard.blocks.start - first_block..shard.blocks.end - first_block;
                table.deliver_row(slot_of_step.1, row.start as usize, row.len as usize, &mut blocks[mine]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::connect::{ConnectionRule, ProjectionKeys, ValueRule};
    use crate::engine::models::lif::LifConstants;
    use crate::engine::spike;

    fn lif_constants(dt: f64) -> HashMap<String, f64> {
        // tau_m 10 ms, C 250 pF, tau_syn 2 ms, i_e 400 pA: a regularly firing LIF.
        let (tau_m, c_m, tau_s) = (0.01f64, 250.0f64, 0.002f64);
        let p22 = (-dt / tau_m).exp();
        let p11 = (-dt / tau_s).exp();
        let p21 = 1000.0 * tau_s * tau_m / (c_m * (tau_m - tau_s)) * (p22 - p11);
        let v_const = 1000.0 * tau_m / c_m * (1.0 - p22) * 400.0 - 70.0 * (1.0 - p22);
        let c = LifConstants {
            p22,
            p11_ex: p11,
            p11_in: p11,
            p21_ex: p21,
            p21_in: p21,
            v_const,
            v_th: -55.0,
            v_reset: -70.0,
            refractory_steps: (0.002 / dt).round(),
        };
        let mut named = HashMap::new();
        c.write("", &mut named);
        named
    }

    /// A recurrent inhibitory LIF network with delays of 2 to 6 steps, spikes recorded (spike
    /// recorder 0), and v of three neurons every `record_v` steps if given (state recorder
    /// 0; sampled steps are not stepped two in one pass).
    fn build(threads: usize, block_size: usize, record_v: Option<u64>) -> (Runner, usize) {
        build_from(threads, block_size, record_v, None)
    }

    /// `build`, starting from `state` if given.
    fn build_from(
        threads: usize,
        block_size: usize,
        record_v: Option<u64>,
        state: Option<Vec<Vec<f64>>>,
    ) -> (Runner, usize) {
        let dt = 1e-4;
        let mut runner = Runner::new(dt, threads).unwrap();
        runner.set_parallel_min_work(0);
        let n = 300u32;
        let locals: Vec<u32> = (0..n).collect();
        let state = state.unwrap_or_else(|| {
            vec![
                (0..n).map(|i| -70.0 + 15.0 * (i as f64 / n as f64)).collect(),
                vec![0.0; n as usize],
                vec![0.0; n as usize],
                vec![0.0; n as usize],
            ]
        });
        let pop = runner.add_population("lif", &lif_constants(dt), 1, 0, n, &locals, state, block_size).unwrap();
        let spec = ProjectionSpec {
            index: 0,
            pre_first_gid: 0,
            pre_n: n,
            post_n: n,
            same_population: true,
            allow_autapses: false,
            rule: ConnectionRule::Random { probability: 0.1 },
            weight: ValueRule::Normal { mean: -20.0, std: 5.0, low: f64::NEG_INFINITY, high: f64::INFINITY },
            delay: ValueRule::Uniform { low: 2.0, high: 6.0 },
            keys: ProjectionKeys { connect: 5, weight: 6, delay: 7 },
        };
        runner.add_projection(pop, &spec).unwrap();
        runner.add_spike_recorder(pop, None, 0, None).unwrap();
        if let Some(every) = record_v {
            runner.add_state_recorder(pop, 0, &[0, 150, 299], 0, None, every).unwrap();
        }
        (runner, pop)
    }

    fn network(threads: usize, block_size: usize) -> Vec<u64> {
        let (mut runner, _) = build(threads, block_size, None);
        let interval = runner.local_min_delay().unwrap();
        runner.prepare(interval, 0).unwrap();
        runner.run(2000, interval);
        runner.take_spikes(0).unwrap().0
    }

    /// Spikes, recorded v and final state, stepping with `advance(interval)` and `deliver`.
    fn by_intervals(interval: u64, record_v: Option<u64>) -> (Vec<u64>, Vec<f64>, Vec<Vec<f64>>) {
        let (mut runner, pop) = build(1, 4096, record_v);
        runner.prepare(interval, 0).unwrap();
        let mut done = 0;
        while done < 2000 {
            let m = interval.min(2000 - done);
            let spikes = runner.advance(m).to_vec();
            runner.deliver(&spikes);
            done += m;
        }
        let state = (0..4).map(|v| runner.get_state(pop, v).unwrap()).collect();
        let v = if record_v.is_some() { runner.take_state(0).unwrap().2 } else { Vec::new() };
        (runner.take_spikes(0).unwrap().0, v, state)
    }

    /// A runner restored mid-run (the state as its initial state, `start_at`, the buffered
    /// input added) on other blocks and threads continues with the uninterrupted spikes.
    #[test]
    fn a_restored_runner_continues_the_run() {
        let reference = network(1, 4096);
        let (mut first, pop) = build(1, 4096, None);
        let interval = first.local_min_delay().unwrap();
        first.prepare(interval, 0).unwrap();
        first.run(1000, interval);
        let lags = 6; // the longest delay
        let state: Vec<Vec<f64>> = (0..4).map(|v| first.get_state(pop, v).unwrap()).collect();
        let input = first.get_input(pop, lags).unwrap();
        assert_eq!(input.len(), 2 * lags * 300);
        assert!(input.iter().any(|&x| x != 0.0), "no input in flight to restore");
        let (mut second, pop) = build_from(2, 100, None, Some(state));
        second.prepare(interval, 0).unwrap();
        second.start_at(1000).unwrap();
        second.add_input(pop, lags, &input).unwrap();
        assert_eq!(second.get_input(pop, lags).unwrap(), input);
        second.run(1000, interval);
        let expected: Vec<u64> = reference.into_iter().filter(|&p| spike::unpack(p).0 >= 1000).collect();
        assert!(expected.len() > 50);
        assert_eq!(second.take_spikes(0).unwrap().0, expected);
        assert!(second.start_at(5).is_err());
        assert!(second.add_input(pop, lags, &input[1..]).is_err());
        assert!(second.get_input(pop, 1000).unwrap()[lags * 300..1000 * 300].iter().all(|&v| v == 0.0));
        let mut late = vec![0.0; 2 * 1000 * 300];
        late[999 * 300] = 1.0;
        assert!(second.add_input(pop, 1000, &late).is_err());
    }

    /// An interval one step longer than the smallest delay (its last step completed after
    /// delivery; without recorders its last two steps in one pass) gives the bits of
    /// intervals of one step; one more step is refused.
    #[test]
    fn deferred_last_step_changes_nothing() {
        let (runner, _) = build(1, 4096, Some(1));
        assert_eq!((runner.local_min_delay(), runner.longest_interval()), (Some(2), Some(3)));
        let bits = |x: &Vec<f64>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for record_v in [Some(1), Some(3), None] {
            let reference = by_intervals(1, record_v);
            assert!(reference.0.len() > 100, "network too quiet: {}", reference.0.len());
            assert_eq!(reference.1.len(), record_v.map_or(0, |every| 2000 / every as usize * 3));
            for interval in [2, 3] {
                let got = by_intervals(interval, record_v);
                assert_eq!(got.0, reference.0, "interval {interval}");
                assert_eq!(bits(&got.1), bits(&reference.1), "interval {interval}");
                for (a, b) in got.2.iter().zip(&reference.2) {
                    assert_eq!(bits(a), bits(b), "interval {interval}, record_v {record_v:?}");
                }
            }
        }
        let (mut runner, _) = build(1, 4096, Some(1));
        assert!(runner.prepare(4, 0).is_err());
    }

    /// Sampling every third step keeps every third row of sampling every step, and neither
    /// changes the spikes; a spike recorder of some neurons in a window keeps just those.
    #[test]
    fn recorders_keep_what_they_were_asked_for() {
        let (spikes, every_step, _) = by_intervals(3, Some(1));
        let (same_spikes, every_third, _) = by_intervals(3, Some(3));
        assert_eq!(spikes, same_spikes);
        let rows: Vec<f64> = every_step.chunks(3).skip(2).step_by(3).flatten().copied().collect();
        assert_eq!(every_third, rows);

        let (mut runner, pop) = build(2, 64, None);
        let subset = runner.add_spike_recorder(pop, Some(&[299, 7, 150]), 500, Some(1500)).unwrap();
        let rate = runner.add_rate_recorder(pop, 100, None, 250).unwrap();
        runner.prepare(2, 0).unwrap();
        runner.run(2000, 2);
        let all = runner.take_spikes(0).unwrap().0;
        let expected: Vec<u64> = all
            .iter()
            .copied()
            .filter(|&p| {
                let (step, gid) = spike::unpack(p);
                (500..1500).contains(&step) && [7, 150, 299].contains(&gid)
            })
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(runner.take_spikes(subset).unwrap().0, expected);
        let counts = runner.take_rate(rate, 2000).unwrap();
        assert_eq!(counts.len(), 7);
        for (bin, &count) in counts.iter().enumerate() {
            let (a, b) = (100 + 250 * bin as u64, 350 + 250 * bin as u64);
            let n = all.iter().filter(|&&p| (a..b).contains(&spike::unpack(p).0)).count();
            assert_eq!(count, n as u64, "bin {bin}");
        }
        assert_eq!(runner.spikes_emitted(), all.len() as u64);
        assert!(runner.take_rate(rate, 2000).unwrap().is_empty());
    }

    #[test]
    fn same_spikes_for_any_threads_and_blocks() {
        let reference = network(1, 4096);
        assert!(reference.len() > 100, "network too quiet: {}", reference.len());
        assert_eq!(reference, network(2, 37));
        assert_eq!(reference, network(1, 64));
    }
}
