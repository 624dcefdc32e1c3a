//! A nengo model's step as Rust runs it: segments of operators, and the probes.
//!
//! The Python simulator walks nengo's operator order once, appends each operator it can lower
//! to the current segment, and closes the segment where an operator must run in Python. A
//! model without such operators is one segment, and [`Program::run_steps`] advances it any
//! number of steps without returning to Python.

use super::noise::{LegacyRandomState, WhiteNoise};
use rayon::ThreadPool;

use super::error::{NengoError, NengoResult};
use super::ops::Op;
use super::span::Span;
use crate::engine::runner::MAX_THREADS;

/// A probed signal: sampled after a step when `n_steps % period < 1`, as nengo's simulator.
#[derive(Debug)]
pub struct Probe {
    pub signal: Span,
    /// Sampling period in steps (`sample_every / dt`, or 1).
    pub period: f64,
    /// Samples not yet taken by Python, one signal after another.
    pub samples: Vec<f64>,
}

#[derive(Debug, Default)]
pub struct Program {
    segments: Vec<Vec<Op>>,
    probes: Vec<Probe>,
    /// nengo's step counter (an int64 signal), read to decide which probes sample.
    step_counter: Option<*const i64>,
    scratch: Vec<f64>,
    /// Threads for the large operators; `None` runs everything on the calling thread.
    pool: Option<rayon::ThreadPool>,
    /// Segments `0..step_segments` make up a step (all when `None`); later ones run only
    /// when called by index (e.g. the packing of messages at the start of a run).
    step_segments: Option<usize>,
    /// Whether [`Program::push`] fuses an operator into the one before it where
    /// [`Op::absorb`] can.
    fuse: bool,
}

// SAFETY: the program's operators point into arrays Python owns; `run_steps` hands the whole
// program to one thread of its own pool while the calling thread waits for it, so the
// arrays are still used by one thread at a time (and they outlive the call).
unsafe impl Send for Program {}

impl Program {
    pub fn new() -> Self {
        Program { segments: vec![Vec::new()], ..Default::default() }
    }

    /// A program whose large operators use `n_threads` threads, 1 to `MAX_THREADS` (as a
    /// network runner); more than one starts a private rayon pool.
    pub fn with_threads(n_threads: usize) -> NengoResult<Self> {
        if n_threads == 0 || n_threads > MAX_THREADS {
            return Err(NengoError::Invalid(format!("threads = {n_threads}: expected 1 to {MAX_THREADS}")));
        }
        let mut program = Self::new();
        if n_threads > 1 {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n_threads)
                .build()
                .map_err(|e| NengoError::Invalid(format!("cannot start {n_threads} threads: {e}")))?;
            program.pool = Some(pool);
        }
        Ok(program)
    }

    /// Threads the large operators use.
    pub fn n_threads(&self) -> usize {
        self.pool.as_ref().map_or(1, rayon::ThreadPool::current_num_threads)
    }

    /// Fuse consecutive operators where [`Op::absorb`] can (same results, fewer passes).
    pub fn set_fuse(&mut self, fuse: bool) {
        self.fuse = fuse;
    }

    /// Appends `op` to the last segment (fused into the operator before it where that is
    /// on and possible), after checking the rule its step relies on
    /// ([`Op::check_overlap`]): the one check every operator passes.
    pub fn push(&mut self, op: Op) -> NengoResult<()> {
        op.check_overlap()?;
        if let Op::TimeUpdate { step, .. } = &op {
            self.step_counter = Some(*step as *const i64);
        }
        let segment = self.segments.last_mut().expect("a segment");
        if let (true, Some(last)) = (self.fuse, segment.last_mut()) {
            if last.absorb(&op) {
                return Ok(());
            }
        }
        segment.push(op);
        Ok(())
    }

    /// Starts a new segment; returns the index of the one it closed.
    pub fn end_segment(&mut self) -> usize {
        self.segments.push(Vec::new());
        self.segments.len() - 2
    }

    pub fn n_segments(&self) -> usize {
        self.segments.len()
    }

    /// Makes segments `0..n` the step that [`Program::run_steps`] repeats; false if there
    /// are fewer segments.
    pub fn end_step(&mut self, n: usize) -> bool {
        if n > self.segments.len() {
            return false;
        }
        self.step_segments = Some(n);
        true
    }

    pub fn n_ops(&self) -> usize {
        self.segments.iter().map(Vec::len).sum()
    }

    /// The `WhiteNoise` operators, in the order they were added.
    pub fn noises_mut(&mut self) -> impl Iterator<Item = &mut WhiteNoise> {
        self.segments.iter_mut().flatten().filter_map(|op| match op {
            Op::Noise(noise) => Some(noise),
            _ => None,
        })
    }

    /// Sets the random state of the `id`-th `WhiteNoise` operator; false if there is none.
    pub fn set_noise_state(&mut self, id: usize, state: LegacyRandomState) -> bool {
        match self.noises_mut().nth(id) {
            Some(noise) => {
                noise.rng = state;
                true
            }
            None => false,
        }
    }

    pub fn n_probes(&self) -> usize {
        self.probes.len()
    }

    pub fn add_probe(&mut self, signal: Span, period: f64) -> usize {
        self.probes.push(Probe { signal, period, samples: Vec::new() });
        self.probes.len() - 1
    }

    /// Runs the operators of one segment once.
    ///
    /// # Safety
    /// Every span must address live memory (see [`Op::run`]).
    pub unsafe fn run_segment(&mut self, segment: usize) {
        run_ops(&mut self.segments[segment], &mut self.scratch, self.pool.as_ref());
    }

    /// Samples the probes whose period is due at the current step.
    ///
    /// # Safety
    /// As [`Program::run_segment`].
    pub unsafe fn record_probes(&mut self) {
        sample_probes(&mut self.probes, self.step_counter);
    }

    /// Advances `n_steps` full steps (every segment, then the probes).
    ///
    /// # Safety
    /// As [`Program::run_segment`]; only meaningful when no operator runs in Python.
    pub unsafe fn run_steps(&mut self, n_steps: u64) {
        match self.pool.take() {
            None => self.steps(n_steps, None),
            Some(pool) => {
                // The steps run on one of the pool's threads, so a parallel operator hands
                // work to threads that are awake: waking the pool from outside for every
                // operator would cost more than the operator.
                let program = &mut *self;
                pool.install(|| unsafe { program.steps(n_steps, Some(&pool)) });
                self.pool = Some(pool);
            }
        }
    }

    /// `n_steps` steps (the step's segments, then the probes), large operators on `pool`.
    ///
    /// # Safety
    /// As [`Program::run_segment`].
    unsafe fn steps(&mut self, n_steps: u64, pool: Option<&ThreadPool>) {
        let n_step = self.step_segments.unwrap_or(self.segments.len()).min(self.segments.len());
        for _ in 0..n_steps {
            for ops in &mut self.segments[..n_step] {
                run_ops(ops, &mut self.scratch, pool);
            }
            sample_probes(&mut self.probes, self.step_counter);
        }
    }

    /// Hands over the samples of probe `id` taken since the last call.
    pub fn take_samples(&mut self, id: usize) -> Vec<f64> {
        std::mem::take(&mut self.probes[id].samples)
    }

    pub fn clear_samples(&mut self) {
        self.probes.iter_mut().for_each(|probe| probe.samples.clear());
    }
}

/// Runs `ops` once, in order.
///
/// # Safety
/// As [`Op::run`].
unsafe fn run_ops(ops: &mut [Op], scratch: &mut Vec<f64>, pool: Option<&ThreadPool>) {
    for op in ops {
        op.run(scratch, pool);
    }
}

/// Samples the probes whose period is due at the step `step_counter` holds.
///
/// # Safety
/// The probes' spans and the counter must address live memory.
unsafe fn sample_probes(probes: &mut [Probe], step_counter: Option<*const i64>) {
    let n_steps = step_counter.map_or(0, |step| *step) as f64;
    for probe in probes {
        if n_steps % probe.period < 1.0 {
            let signal = &probe.signal;
            probe.samples.extend((0..signal.len()).map(|k| signal.get(k)));
        }
    }
}
