//! Connection rules, evaluated on the target side: a block builds only the synapses that end
//! on its own neurons. Every random choice is a counter-based draw keyed by the projection's
//! keys and the *target's* population-local id (or the source's, for fixed out-degree), so the
//! synapses of a neuron are the same whichever rank or thread builds them.

use std::collections::HashSet;

use crate::engine::error::{invalid, EngineError};
use crate::engine::rng;
use crate::engine::synapses::{row_offsets, Delays, SynapseTable, Weights, MAX_BLOCK_LEN};

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
/// `connection` holds the listed-connection index of each (explicit rule only).
struct Drawn {
    sources: Vec<u32>,
    degrees: Vec<u32>,
    connection: Vec<u32>,
}

/// Builds the synapses of `spec` that end on a block whose neurons have the sorted
/// population-local ids `targets`.
pub fn build_table(spec: &ProjectionSpec, targets: &[u32]) -> Result<SynapseTable, EngineError> {
    spec.validate()?;
    let drawn = draw_sources(spec, targets);
    let offsets = row_offsets(spec.pre_n, &drawn.sources);
    let n = drawn.sources.len();
    let mut cursor = offsets[..spec.pre_n as usize].to_vec();
    if targets.len() > MAX_BLOCK_LEN {
        return Err(invalid("block size", targets.len(), "at most 65536 neurons"));
    }
    let mut row_targets = vec![0u16; n];
    let per_synapse_weights = !matches!(spec.weight, ValueRule::Constant(_));
    let per_synapse_delays = !matches!(spec.delay, ValueRule::Constant(_));
    let mut weights = vec![0f32; if per_synapse_weights { n } else { 0 }];
    let mut delays = vec![0u16; if per_synapse_delays { n } else { 0 }];

    // Walk synapses in target order (ordinal c within target b) and scatter each to its row
    // position; weights and delays are drawn target-side, so any block split gives the same.
    let mut k = 0usize;
    let (mut target_weights, mut target_delays) = (Vec::new(), Vec::new());
    for (b, &degree) in drawn.degrees.iter().enumerate() {
        let target = targets[b] as u64;
        let range = k..k + degree as usize;
        let connections = drawn.connection.get(range.clone()).unwrap_or(&[]);
        if per_synapse_weights {
            draw_values(
                &spec.weight,
                rng::subkey(spec.keys.weight, target),
                degree as usize,
                connections,
                &mut target_weights,
            );
        }
        if per_synapse_delays {
            draw_values(
                &spec.delay,
                rng::subkey(spec.keys.delay, target),
                degree as usize,
                connections,
                &mut target_delays,
            );
        }
        for (c, &source) in drawn.sources[range].iter().enumerate() {
            let position = cursor[source as usize] as usize;
            cursor[source as usize] += 1;
            row_targets[position] = b as u16;
            if per_synapse_weights {
                weights[position] = target_weights[c] as f32;
            }
            if per_synapse_delays {
                delays[position] = delay_steps(target_delays[c])? as u16;
            }
        }
        k += degree as usize;
    }
    Ok(SynapseTable {
        projection: spec.index,
        pre_first_gid: spec.pre_first_gid,
        pre_n: spec.pre_n,
        offsets,
        targets: row_targets,
        weights: match spec.weight {
            ValueRule::Constant(w) => Weights::Constant(w),
            _ => Weights::PerSynapse(weights),
        },
        delays: match spec.delay {
            ValueRule::Constant(d) => Delays::Constant(delay_steps(d)?),
            _ => Delays::PerSynapse(delays),
        },
    })
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

fn draw_sources(spec: &ProjectionSpec, targets: &[u32]) -> Drawn {
    let mut drawn = Drawn { sources: Vec::new(), degrees: Vec::with_capacity(targets.len()), connection: Vec::new() };
    match &spec.rule {
        ConnectionRule::Random { probability } => {
            let expected = (targets.len() as f64 * spec.pre_n as f64 * probability * 1.05) as usize;
            drawn.sources.reserve(expected);
            for &j in targets {
                let before = drawn.sources.len();
                draw_random_sources(spec, *probability, j, &mut drawn.sources);
                drawn.degrees.push((drawn.sources.len() - before) as u32);
            }
        }
        ConnectionRule::AllToAll => {
            for &j in targets {
                let before = drawn.sources.len();
                drawn.sources.extend((0..spec.pre_n).filter(|&i| !spec.excludes(i, j)));
                drawn.degrees.push((drawn.sources.len() - before) as u32);
            }
        }
        ConnectionRule::OneToOne => {
            for &j in targets {
                let keep = !spec.excludes(j, j);
                if keep {
                    drawn.sources.push(j);
                }
                drawn.degrees.push(keep as u32);
            }
        }
        ConnectionRule::FixedIndegree { indegree, multapses } => {
            drawn.sources.reserve(targets.len() * *indegree as usize);
            for &j in targets {
                let subkey = rng::subkey(spec.keys.connect, j as u64);
                let exclude = spec.same_population && !spec.allow_autapses;
                let before = drawn.sources.len();
                sample_ids(subkey, *indegree, spec.pre_n, exclude.then_some(j), *multapses, &mut drawn.sources);
                drawn.degrees.push((drawn.sources.len() - before) as u32);
            }
        }
        ConnectionRule::FixedOutdegree { outdegree, multapses } => {
            // Source-side rule: every block walks all sources and keeps what lands on it.
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
    }
    drawn
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

    fn synapses_of(table: &SynapseTable, targets: &[u32]) -> Vec<(u32, u32)> {
        let mut pairs = Vec::new();
        for r in 0..table.pre_n as usize {
            for s in table.offsets[r]..table.offsets[r + 1] {
                pairs.push((r as u32, targets[table.targets[s as usize] as usize]));
            }
        }
        pairs.sort_unstable();
        pairs
    }

    #[test]
    fn blocks_build_the_same_synapses_as_one_block() {
        for rule in [
            ConnectionRule::Random { probability: 0.1 },
            ConnectionRule::FixedIndegree { indegree: 7, multapses: false },
            ConnectionRule::FixedOutdegree { outdegree: 5, multapses: true },
        ] {
            let s = spec(rule, 200, 200);
            let all: Vec<u32> = (0..200).collect();
            let whole = synapses_of(&build_table(&s, &all).unwrap(), &all);
            let (a, b): (Vec<u32>, Vec<u32>) = all.iter().partition(|&&j| j % 3 == 0);
            let mut split = synapses_of(&build_table(&s, &a).unwrap(), &a);
            split.extend(synapses_of(&build_table(&s, &b).unwrap(), &b));
            split.sort_unstable();
            assert_eq!(whole, split);
            assert!(whole.iter().all(|(i, j)| i != j), "autapse built");
        }
    }

    #[test]
    fn random_density_matches_probability() {
        let s = spec(ConnectionRule::Random { probability: 0.05 }, 2000, 500);
        let targets: Vec<u32> = (0..500).collect();
        let n = build_table(&s, &targets).unwrap().n_synapses() as f64;
        let expected = 0.05 * 2000.0 * 500.0;
        assert!((n - expected).abs() < 4.0 * expected.sqrt(), "{n} vs {expected}");
    }

    #[test]
    fn fixed_indegree_without_multapses_is_distinct() {
        let s = spec(ConnectionRule::FixedIndegree { indegree: 50, multapses: false }, 60, 10);
        let targets: Vec<u32> = (0..10).collect();
        let table = build_table(&s, &targets).unwrap();
        let pairs = synapses_of(&table, &targets);
        assert_eq!(pairs.len(), 500);
        let mut dedup = pairs.clone();
        dedup.dedup();
        assert_eq!(dedup.len(), 500);
    }

    #[test]
    fn invalid_probability_is_an_error() {
        let s = spec(ConnectionRule::Random { probability: 1.5 }, 10, 10);
        assert!(build_table(&s, &[0]).is_err());
    }
}
