//! Connection rules, evaluated on the target side: a block builds only the synapses that end
//! on its own neurons. Every random choice is a counter-based draw keyed by the projection's
//! keys and the *target's* population-local id (or the source's, for fixed out-degree), so the
//! synapses of a neuron are the same whichever rank or thread builds them.

use std::collections::HashSet;

use crate::engine::error::{invalid, EngineError};
use crate::engine::hugepages;
use crate::engine::rng;
use crate::engine::synapses::{Delays, Rows, SynapseTable, Targets, Weights, MAX_BLOCK_LEN};

/// Which pre-synaptic neurons connect to a target.
#[derive(Clone, Debug)]
pub enum ConnectionRule {
    /// Each (source, target) pair independently with `probability`.
    Random {
        probability: f64,
    },
    AllToAll,
    /// Source i to target i (populations of equal size).
    OneToOne,
    /// Each target draws `indegree` sources.
    FixedIndegree {
        indegree: u32,
        multapses: bool,
    },
    /// Each source draws `outdegree` targets.
    FixedOutdegree {
        outdegree: u32,
        multapses: bool,
    },
    /// Listed pairs of population-local ids.
    Explicit {
        pre: Vec<u32>,
        post: Vec<u32>,
    },
}

/// How a weight or delay is chosen per synapse. Delays are given in (fractional) steps.
#[derive(Clone, Debug)]
pub enum ValueRule {
    Constant(f64),
    Uniform {
        low: f64,
        high: f64,
    },
    /// Normal, then clipped to [low, high].
    Normal {
        mean: f64,
        std: f64,
        low: f64,
        high: f64,
    },
    /// One value per listed connection (explicit rule only).
    PerConnection(Vec<f64>),
}

/// The keys of a projection's three random streams (derived in Python from the seed).
#[derive(Clone, Copy, Debug)]
pub struct ProjectionKeys {
    pub connect: u64,
    pub weight: u64,
    pub delay: u64,
}

#[derive(Clone, Debug)]
pub struct ProjectionSpec {
    pub index: u32,
    pub pre_first_gid: u32,
    pub pre_n: u32,
    pub post_n: u32,
    /// Pre and post are the same population (autapses are then possible).
    pub same_population: bool,
    pub allow_autapses: bool,
    pub rule: ConnectionRule,
    pub weight: ValueRule,
    /// Delays in steps; drawn values are rounded and clipped to at least one step.
    pub delay: ValueRule,
    pub keys: ProjectionKeys,
}

/// Largest delay a per-synapse table can hold, in steps.
pub const MAX_DELAY_STEPS: u32 = u16::MAX as u32;

impl ProjectionSpec {
    /// Checks what the engine relies on; Python validates user input before this.
    pub fn validate(&self) -> Result<(), EngineError> {
        let excluded_self = (self.same_population && !self.allow_autapses) as u32;
        match &self.rule {
            ConnectionRule::Random { probability } if !(0.0..=1.0).contains(probability) => {
                return Err(invalid("probability", probability, "a value in [0, 1]"));
            }
            ConnectionRule::OneToOne if self.pre_n != self.post_n => {
                return Err(invalid("one_to_one sizes", format!("{} -> {}", self.pre_n, self.post_n), "equal sizes"));
            }
            ConnectionRule::FixedIndegree { indegree, multapses: false }
                if *indegree > self.pre_n - excluded_self.min(self.pre_n) =>
            {
                return Err(invalid("indegree", indegree, "at most the number of possible sources without multapses"));
            }
            ConnectionRule::FixedOutdegree { outdegree, multapses: false }
                if *outdegree > self.post_n - excluded_self.min(self.post_n) =>
            {
                return Err(invalid(
                    "outdegree",
                    outdegree,
                    "at most the number of possible targets without multapses",
                ));
            }
            ConnectionRule::Explicit { pre, post } => {
                if pre.len() != post.len() {
                    return Err(invalid(
                        "connections",
                        format!("{} pre and {} post ids", pre.len(), post.len()),
                        "equal lengths",
                    ));
                }
                if let Some(&bad) = pre.iter().find(|&&i| i >= self.pre_n) {
                    return Err(invalid("pre id", bad, "an id below the pre population size"));
                }
                if let Some(&bad) = post.iter().find(|&&j| j >= self.post_n) {
                    return Err(invalid("post id", bad, "an id below the post population size"));
                }
                for rule in [&self.weight, &self.delay] {
                    if let ValueRule::PerConnection(values) = rule {
                        if values.len() != pre.len() {
                            return Err(invalid("per-connection values", values.len(), "one value per connection"));
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn excludes(&self, source: u32, target: u32) -> bool {
        self.same_population && !self.allow_autapses && source == target
    }
}

/// Sources of each target, in target order: `sources` flat, `degrees[b]` of them for target b;
/// `connection` holds the listed-connection index of each (explicit rule only). Rules drawn
/// source by source (fixed out-degree, explicit lists) are turned into this form first; the
/// others are drawn target by target as they are needed (`for_each_target`).
struct Drawn {
    sources: Vec<u32>,
    degrees: Vec<u32>,
    connection: Vec<u32>,
}

/// A table with the rows it holds (for the rank's source index).
pub struct BuiltTable {
    pub table: SynapseTable,
    pub rows: Rows,
}

/// Builds the synapses of `spec` that end on one shard, whose neurons have the sorted
/// population-local ids `targets` and lie in blocks of `block_size` neurons (the last may be
/// shorter). `shard` is stored in the table.
///
/// Two passes over the targets: the first counts each source's synapses, the second draws
/// the same sources again (every draw is a pure function of its key and counters) and puts
/// each synapse straight into its row. Nothing per synapse is held besides the table itself;
/// the only scratch space is a count per pre-synaptic neuron.
pub fn build_table(
    spec: &ProjectionSpec,
    targets: &[u32],
    block_size: usize,
    shard: u32,
) -> Result<BuiltTable, EngineError> {
    spec.validate()?;
    if block_size == 0 || block_size > MAX_BLOCK_LEN {
        return Err(invalid("block size", block_size, &format!("1 to {MAX_BLOCK_LEN} neurons")));
    }
    let drawn = draw_pairs(spec, targets);
    let mut buffer = Vec::new();
    let mut counts = vec![0u32; spec.pre_n as usize];
    for_each_target(spec, targets, drawn.as_ref(), &mut buffer, |_, sources, _| {
        for &s in sources {
            counts[s as usize] += 1;
        }
    });
    // Rows of the sources that have synapses here; `counts` becomes each row's write cursor.
    let mut rows = Rows::default();
    let mut n = 0u32;
    for (source, count) in counts.iter_mut().enumerate() {
        if *count > 0 {
            rows.sources.push(source as u32);
            rows.starts.push(n);
            let c = *count;
            *count = n;
            n = n.checked_add(c).ok_or_else(|| invalid("synapses in one table", "more than 2^32", "fewer"))?;
        }
    }
    rows.starts.push(n);
    let n = n as usize;
    let n_blocks = targets.len().div_ceil(block_size);
    let mut row_targets = Targets::zeroed(n, n_blocks);
    let per_synapse_weights = !matches!(spec.weight, ValueRule::Constant(_));
    let per_synapse_delays = !matches!(spec.delay, ValueRule::Constant(_));
    let mut weights: Vec<f32> = hugepages::zeroed(if per_synapse_weights { n } else { 0 });
    let mut delays: Vec<u16> = hugepages::zeroed(if per_synapse_delays { n } else { 0 });

    // Walk synapses in target order (ordinal c within target b) and put each into its row;
    // weights and delays are drawn target-side, so any split into shards gives the same.
    let (mut target_weights, mut target_delays) = (Vec::new(), Vec::new());
    let mut failure = None;
    for_each_target(spec, targets, drawn.as_ref(), &mut buffer, |b, sources, connections| {
        let target = targets[b] as u64;
        let degree = sources.len();
        if per_synapse_weights {
            draw_values(&spec.weight, rng::subkey(spec.keys.weight, target), degree, connections, &mut target_weights);
        }
        if per_synapse_delays {
            draw_values(&spec.delay, rng::subkey(spec.keys.delay, target), degree, connections, &mut target_delays);
        }
        let (block, local) = (b / block_size, b % block_size);
        for (c, &source) in sources.iter().enumerate() {
            let position = counts[source as usize] as usize;
            counts[source as usize] += 1;
            row_targets.set(position, block, local);
            if per_synapse_weights {
                weights[position] = target_weights[c] as f32;
            }
            if per_synapse_delays {
                match delay_steps(target_delays[c]) {
                    Ok(d) => delays[position] = d as u16,
                    Err(e) => failure = Some(e),
                }
            }
        }
    });
    if let Some(error) = failure {
        return Err(error);
    }
    let table = SynapseTable {
        projection: spec.index,
        shard,
        targets: row_targets,
        weights: match spec.weight {
            ValueRule::Constant(w) => Weights::Constant(w),
            _ => Weights::PerSynapse(weights),
        },
        delays: match spec.delay {
            ValueRule::Constant(d) => Delays::Constant(delay_steps(d)?),
            _ => Delays::PerSynapse(delays),
        },
    };
    Ok(BuiltTable { table, rows })
}

/// Calls `f(b, sources, connections)` for every target `b` (index into `targets`) in order,
/// with its sources in draw order (and, for listed connections, their indices).
fn for_each_target(
    spec: &ProjectionSpec,
    targets: &[u32],
    drawn: Option<&Drawn>,
    buffer: &mut Vec<u32>,
    mut f: impl FnMut(usize, &[u32], &[u32]),
) {
    if let Some(drawn) = drawn {
        let mut k = 0usize;
        for (b, &degree) in drawn.degrees.iter().enumerate() {
            let range = k..k + degree as usize;
            f(b, &drawn.sources[range.clone()], drawn.connection.get(range).unwrap_or(&[]));
            k += degree as usize;
        }
        return;
    }
    for (b, &j) in targets.iter().enumerate() {
        buffer.clear();
        draw_target_sources(spec, j, buffer);
        f(b, buffer, &[]);
    }
}

/// Rounds a delay in steps to a whole number of at least one step.
fn delay_steps(steps: f64) -> Result<u32, EngineError> {
    let rounded = steps.round().max(1.0);
    if rounded.is_nan() || rounded > MAX_DELAY_STEPS as f64 {
        return Err(invalid("delay", format!("{steps} steps"), &format!("at most {MAX_DELAY_STEPS} steps")));
    }
    Ok(rounded as u32)
}

/// The weights or delays of one target's `count` synapses, in ordinal order, into `out`:
/// ordinal c is the c-th draw of the target's stream (`connections[c]`'s value for listed
/// connections). Normal values come in Box–Muller pairs: ordinals 2k and 2k+1 share one
/// pair of uniforms (cosine and sine), half the logarithms and square roots.
fn draw_values(rule: &ValueRule, subkey: u64, count: usize, connections: &[u32], out: &mut Vec<f64>) {
    out.clear();
    match rule {
        ValueRule::Constant(value) => out.resize(count, *value),
        ValueRule::Uniform { low, high } => {
            out.extend((0..count as u64).map(|c| low + (high - low) * rng::uniform(rng::bits(subkey, c))));
        }
        ValueRule::Normal { mean, std, low, high } => {
            for pair in 0..count.div_ceil(2) as u64 {
                let u1 = rng::uniform_open0(rng::bits(subkey, 2 * pair));
                let u2 = rng::uniform(rng::bits(subkey, 2 * pair + 1));
                let radius = (-2.0 * u1.ln()).sqrt();
                let (sin, cos) = (2.0 * std::f64::consts::PI * u2).sin_cos();
                out.push((mean + std * radius * cos).clamp(*low, *high));
                out.push((mean + std * radius * sin).clamp(*low, *high));
            }
            out.truncate(count);
        }
        ValueRule::PerConnection(values) => out.extend(connections.iter().map(|&k| values[k as usize])),
    }
}

/// Draws the sources of target `j` (population-local id) for rules drawn target by target.
fn draw_target_sources(spec: &ProjectionSpec, j: u32, out: &mut Vec<u32>) {
    match &spec.rule {
        ConnectionRule::Random { probability } => draw_random_sources(spec, *probability, j, out),
        ConnectionRule::AllToAll => out.extend((0..spec.pre_n).filter(|&i| !spec.excludes(i, j))),
        ConnectionRule::OneToOne => {
            if !spec.excludes(j, j) {
                out.push(j);
            }
        }
        ConnectionRule::FixedIndegree { indegree, multapses } => {
            let subkey = rng::subkey(spec.keys.connect, j as u64);
            let exclude = spec.same_population && !spec.allow_autapses;
            sample_ids(subkey, *indegree, spec.pre_n, exclude.then_some(j), *multapses, out);
        }
        ConnectionRule::FixedOutdegree { .. } | ConnectionRule::Explicit { .. } => {
            unreachable!("rules drawn source by source go through draw_pairs")
        }
    }
}

/// The synapses of rules drawn source by source, arranged by target; None for the others.
fn draw_pairs(spec: &ProjectionSpec, targets: &[u32]) -> Option<Drawn> {
    let mut drawn = Drawn { sources: Vec::new(), degrees: Vec::with_capacity(targets.len()), connection: Vec::new() };
    match &spec.rule {
        ConnectionRule::FixedOutdegree { outdegree, multapses } => {
            // Source-side rule: every shard walks all sources and keeps what lands on it.
            let mut pairs: Vec<(u32, u32)> = Vec::new();
            let mut chosen = Vec::with_capacity(*outdegree as usize);
            let exclude = spec.same_population && !spec.allow_autapses;
            for i in 0..spec.pre_n {
                chosen.clear();
                let subkey = rng::subkey(spec.keys.connect, i as u64);
                sample_ids(subkey, *outdegree, spec.post_n, exclude.then_some(i), *multapses, &mut chosen);
                for &j in &chosen {
                    if let Ok(b) = targets.binary_search(&j) {
                        pairs.push((b as u32, i));
                    }
                }
            }
            pairs.sort_by_key(|&(b, _)| b);
            fill_from_pairs(&mut drawn, targets.len(), pairs.into_iter().map(|(b, i)| (b, i, 0)));
        }
        ConnectionRule::Explicit { pre, post } => {
            let mut pairs: Vec<(u32, u32, u32)> = post
                .iter()
                .zip(pre)
                .enumerate()
                .filter_map(|(k, (j, &i))| targets.binary_search(j).ok().map(|b| (b as u32, i, k as u32)))
                .collect();
            pairs.sort_by_key(|&(b, _, _)| b);
            fill_from_pairs(&mut drawn, targets.len(), pairs.into_iter());
        }
        _ => return None,
    }
    Some(drawn)
}

/// Fills `drawn` from (block target, source, connection) triples sorted by target.
fn fill_from_pairs(drawn: &mut Drawn, n_targets: usize, pairs: impl Iterator<Item = (u32, u32, u32)>) {
    drawn.degrees = vec![0; n_targets];
    for (b, i, k) in pairs {
        drawn.degrees[b as usize] += 1;
        drawn.sources.push(i);
        drawn.connection.push(k);
    }
}

/// Bernoulli(p) over all sources by geometric skipping: the gap to the next chosen source is
/// floor(ln u / ln(1-p)), so the cost is per synapse, not per candidate pair.
fn draw_random_sources(spec: &ProjectionSpec, probability: f64, target: u32, out: &mut Vec<u32>) {
    if probability <= 0.0 {
        return;
    }
    if probability >= 1.0 {
        out.extend((0..spec.pre_n).filter(|&i| !spec.excludes(i, target)));
        return;
    }
    let subkey = rng::subkey(spec.keys.connect, target as u64);
    let inv_log_q = 1.0 / (-probability).ln_1p();
    let n = spec.pre_n as f64;
    let mut next = -1.0f64;
    let mut counter = 0u64;
    loop {
        let u = rng::uniform_open0(rng::bits(subkey, counter));
        counter += 1;
        next += (u.ln() * inv_log_q).floor() + 1.0;
        if next >= n {
            break;
        }
        let i = next as u32;
        if !spec.excludes(i, target) {
            out.push(i);
        }
    }
}

/// `count` ids in [0, n), skipping `exclude`; with repeats (multapses) in draw order, or
/// distinct (Floyd's algorithm) in ascending order.
fn sample_ids(subkey: u64, count: u32, n: u32, exclude: Option<u32>, multapses: bool, out: &mut Vec<u32>) {
    let choices = n - exclude.map_or(0, |_| 1).min(n);
    if choices == 0 || count == 0 {
        return;
    }
    let map = |r: u32| match exclude {
        Some(x) if r >= x => r + 1,
        _ => r,
    };
    if multapses {
        out.extend((0..count as u64).map(|c| map(rng::below(rng::bits(subkey, c), choices as u64) as u32)));
        return;
    }
    let mut chosen: HashSet<u32> = HashSet::with_capacity(count as usize);
    let start = out.len();
    for (c, t) in (choices - count..choices).enumerate() {
        let r = rng::below(rng::bits(subkey, c as u64), t as u64 + 1) as u32;
        let pick = if chosen.contains(&r) { t } else { r };
        chosen.insert(pick);
        out.push(map(pick));
    }
    out[start..].sort_unstable();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rule: ConnectionRule, pre_n: u32, post_n: u32) -> ProjectionSpec {
        ProjectionSpec {
            index: 0,
            pre_first_gid: 0,
            pre_n,
            post_n,
            same_population: true,
            allow_autapses: false,
            rule,
            weight: ValueRule::Constant(1.0),
            delay: ValueRule::Constant(1.0),
            keys: ProjectionKeys { connect: 11, weight: 12, delay: 13 },
        }
    }

    fn synapses_of(built: &BuiltTable, targets: &[u32], block_size: usize) -> Vec<(u32, u32)> {
        let mut pairs = Vec::new();
        for r in 0..built.rows.len() {
            for k in built.rows.range(r) {
                let (block, local) = built.table.targets.get(k);
                pairs.push((built.rows.sources[r], targets[block * block_size + local]));
            }
        }
        pairs.sort_unstable();
        pairs
    }

    fn build(s: &ProjectionSpec, targets: &[u32]) -> BuiltTable {
        build_table(s, targets, MAX_BLOCK_LEN, 0).unwrap()
    }

    #[test]
    fn shards_and_blocks_build_the_same_synapses_as_one_block() {
        for rule in [
            ConnectionRule::Random { probability: 0.1 },
            ConnectionRule::FixedIndegree { indegree: 7, multapses: false },
            ConnectionRule::FixedOutdegree { outdegree: 5, multapses: true },
        ] {
            let s = spec(rule, 200, 200);
            let all: Vec<u32> = (0..200).collect();
            let whole = synapses_of(&build(&s, &all), &all, MAX_BLOCK_LEN);
            let (a, b): (Vec<u32>, Vec<u32>) = all.iter().partition(|&&j| j % 3 == 0);
            let mut split = synapses_of(&build(&s, &a), &a, MAX_BLOCK_LEN);
            split.extend(synapses_of(&build_table(&s, &b, 7, 0).unwrap(), &b, 7));
            split.sort_unstable();
            assert_eq!(whole, split);
            assert!(whole.iter().all(|(i, j)| i != j), "autapse built");
        }
    }

    #[test]
    fn rows_list_only_sources_with_synapses_in_ascending_order() {
        let s = spec(ConnectionRule::FixedIndegree { indegree: 3, multapses: true }, 100_000, 10);
        let targets: Vec<u32> = (0..4).collect();
        let built = build(&s, &targets);
        assert_eq!(built.table.n_synapses(), 12);
        assert!(built.rows.len() <= 12 && built.rows.sources.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(built.rows.starts.last().copied(), Some(12));
    }

    #[test]
    fn random_density_matches_probability() {
        let s = spec(ConnectionRule::Random { probability: 0.05 }, 2000, 500);
        let targets: Vec<u32> = (0..500).collect();
        let n = build(&s, &targets).table.n_synapses() as f64;
        let expected = 0.05 * 2000.0 * 500.0;
        assert!((n - expected).abs() < 4.0 * expected.sqrt(), "{n} vs {expected}");
    }

    #[test]
    fn fixed_indegree_without_multapses_is_distinct() {
        let s = spec(ConnectionRule::FixedIndegree { indegree: 50, multapses: false }, 60, 10);
        let targets: Vec<u32> = (0..10).collect();
        let pairs = synapses_of(&build(&s, &targets), &targets, MAX_BLOCK_LEN);
        assert_eq!(pairs.len(), 500);
        let mut dedup = pairs.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), 500);
    }

    #[test]
    fn invalid_probability_is_an_error() {
        let s = spec(ConnectionRule::Random { probability: 1.5 }, 10, 10);
        assert!(build_table(&s, &[0], MAX_BLOCK_LEN, 0).is_err());
    }
}
