//! nengo's `WhiteNoise` process, drawing numpy's legacy `RandomState` stream draw for draw.
//!
//! nengo gives each process its own `RandomState`, seeded when the simulator resets. The
//! Python side hands that generator's state (`get_state()`) to the operator after each reset;
//! from then on the operator draws exactly what `rng.normal` / `rng.uniform` would: MT19937
//! words, 53-bit doubles from pairs of words, and Gaussians by numpy's polar method, which
//! makes them in pairs and keeps the second for the next draw (`legacy_gauss`). No crate
//! offers numpy's stream with its position and cached Gaussian, so the 30 lines are here.

use super::error::{NengoError, NengoResult};
use super::span::Span;

/// Words in the MT19937 state.
pub const MT_N: usize = 624;
const MT_M: usize = 397;

/// numpy's legacy `RandomState`: the MT19937 key and position, and the cached Gaussian.
#[derive(Debug, Clone)]
pub struct LegacyRandomState {
    key: Box<[u32; MT_N]>,
    /// Next word of `key` to temper; `MT_N` means the key must be regenerated first.
    pos: usize,
    /// The second value of the last polar pair, returned by the next Gaussian draw.
    gauss: Option<f64>,
}

impl LegacyRandomState {
    /// The state numpy's `RandomState.get_state()` reports: `('MT19937', key, pos,
    /// has_gauss, cached_gaussian)`.
    pub fn from_state(key: &[u32], pos: usize, gauss: Option<f64>) -> NengoResult<Self> {
        let key: Box<[u32; MT_N]> = key.to_vec().into_boxed_slice().try_into().map_err(|k: Box<[u32]>| {
            NengoError::Invalid(format!("noise state: an MT19937 key has {MT_N} words, got {}", k.len()))
        })?;
        if pos > MT_N {
            return Err(NengoError::Invalid(format!(
                "noise state: MT19937 position must be at most {MT_N}, got {pos}"
            )));
        }
        Ok(Self { key, pos, gauss })
    }

    /// numpy's `mt19937_gen`: the next 624 words of the key.
    fn regenerate(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        let key = &mut self.key;
        for i in 0..MT_N {
            let y = (key[i] & UPPER) | (key[(i + 1) % MT_N] & LOWER);
            key[i] = key[(i + MT_M) % MT_N] ^ (y >> 1) ^ (0u32.wrapping_sub(y & 1) & MATRIX_A);
        }
        self.pos = 0;
    }

    /// numpy's `mt19937_next32`.
    pub fn next_u32(&mut self) -> u32 {
        if self.pos == MT_N {
            self.regenerate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// numpy's `mt19937_next_double`: 53 random bits in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// numpy's `legacy_gauss`: a standard normal value by the polar method.
    pub fn gauss(&mut self) -> f64 {
        if let Some(cached) = self.gauss.take() {
            return cached;
        }
        loop {
            let x1 = 2.0 * self.next_f64() - 1.0;
            let x2 = 2.0 * self.next_f64() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }
}

/// The distribution of a `WhiteNoise` sample (nengo's `dists.Gaussian`, `dists.Uniform`).
#[derive(Debug, Clone, PartialEq)]
pub enum NoiseDist {
    /// `rng.normal(mean, std)`: `mean + std * gauss`.
    Gaussian { mean: f64, std: f64 },
    /// `rng.uniform(low, high)`: `low + (high - low) * next_f64`, `range = high - low`.
    Uniform { low: f64, range: f64 },
}

impl NoiseDist {
    /// `name` and `params` as `spikeshard.nengo.lowering` gives them.
    pub fn from_spec(name: &str, params: &[f64]) -> NengoResult<Self> {
        match (name, params) {
            ("gaussian", &[mean, std]) => Ok(NoiseDist::Gaussian { mean, std }),
            ("uniform", &[low, range]) => Ok(NoiseDist::Uniform { low, range }),
            ("gaussian" | "uniform", _) => {
                Err(NengoError::Invalid(format!("{name} noise takes 2 parameters, got {}", params.len())))
            }
            _ => Err(NengoError::Invalid(format!("unknown noise distribution {name:?} (known: gaussian, uniform)"))),
        }
    }

    fn sample(&self, rng: &mut LegacyRandomState) -> f64 {
        match *self {
            NoiseDist::Gaussian { mean, std } => mean + std * rng.gauss(),
            NoiseDist::Uniform { low, range } => low + range * rng.next_f64(),
        }
    }
}

/// `WhiteNoise.make_step`'s step: one sample per output element, times `alpha = 1 / sqrt(dt)`
/// when the process scales, set into (or added to) the output.
#[derive(Debug)]
pub struct WhiteNoise {
    pub rng: LegacyRandomState,
    pub dist: NoiseDist,
    pub alpha: Option<f64>,
    pub output: Span,
    pub inc: bool,
}

impl WhiteNoise {
    /// Noise of `dist` (`gaussian` with mean and std, `uniform` with low and high - low)
    /// into `output`, times `alpha` if given; its generator starts empty (all zero words:
    /// set it with `Program::set_noise_state` before stepping).
    pub fn new(dist: &str, params: &[f64], alpha: Option<f64>, output: Span, inc: bool) -> NengoResult<Self> {
        let dist = NoiseDist::from_spec(dist, params)?;
        let rng = LegacyRandomState::from_state(&[0; MT_N], MT_N, None)?;
        Ok(WhiteNoise { rng, dist, alpha, output, inc })
    }

    /// # Safety
    /// `output` must address live memory.
    pub unsafe fn step(&mut self) {
        for k in 0..self.output.len() {
            let x = self.dist.sample(&mut self.rng);
            let value = match self.alpha {
                Some(alpha) => alpha * x,
                None => x,
            };
            let target = self.output.at(k);
            if self.inc {
                *target += value;
            } else {
                *target = value;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MT19937's reference seeding (`init_genrand`), as `RandomState(seed)` for an int seed.
    fn seeded(seed: u32) -> LegacyRandomState {
        let mut key = [0u32; MT_N];
        key[0] = seed;
        for i in 1..MT_N {
            key[i] = 1_812_433_253u32.wrapping_mul(key[i - 1] ^ (key[i - 1] >> 30)).wrapping_add(i as u32);
        }
        LegacyRandomState::from_state(&key, MT_N, None).unwrap()
    }

    #[test]
    fn words_match_the_reference_mt19937() {
        // Matsumoto and Nishimura's mt19937ar outputs for init_genrand(5489).
        let mut rng = seeded(5489);
        let first: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        assert_eq!(first, [3_499_211_612, 581_869_302, 3_890_346_734]);
        let mut rng = seeded(5489);
        let ten_thousandth = (0..10_000).map(|_| rng.next_u32()).last().unwrap();
        assert_eq!(ten_thousandth, 4_123_659_995);
    }

    #[test]
    fn numpy_values_for_seed_zero() {
        // np.random.RandomState(0).random_sample() and .standard_normal(3).
        let mut rng = seeded(0);
        assert_eq!(rng.next_f64(), 0.548_813_503_927_324_8);
        let mut rng = seeded(0);
        let normals: Vec<f64> = (0..3).map(|_| rng.gauss()).collect();
        assert_eq!(normals, [1.764_052_345_967_664, 0.400_157_208_367_223_3, 0.978_737_984_105_739_2]);
    }

    #[test]
    fn a_cached_gaussian_is_returned_first() {
        let mut rng = seeded(7);
        let (a, b) = (rng.gauss(), rng.gauss());
        let mut again = seeded(7);
        again.gauss();
        assert_eq!(again.gauss, Some(b));
        let mut resumed = LegacyRandomState::from_state(&again.key[..], again.pos, again.gauss).unwrap();
        assert_eq!(resumed.gauss(), b);
        assert_ne!(a, b);
    }

    #[test]
    fn bad_states_and_specs_are_refused() {
        assert!(LegacyRandomState::from_state(&[0; 10], 0, None).unwrap_err().to_string().contains("624 words"));
        assert!(LegacyRandomState::from_state(&[0; MT_N], 625, None).unwrap_err().to_string().contains("at most 624"));
        assert!(NoiseDist::from_spec("gaussian", &[0.0]).unwrap_err().to_string().contains("2 parameters"));
        assert!(NoiseDist::from_spec("cauchy", &[0.0, 1.0]).unwrap_err().to_string().contains("cauchy"));
    }
}
