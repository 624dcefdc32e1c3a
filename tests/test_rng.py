"""The counter-based random streams: ``spikeshard.rng`` (numpy, the specification) and the
Rust engine's ``rng.rs`` draw the same bits, uniforms and Poisson counts for every key,
counter and table, including keys and counters where 64-bit arithmetic wraps."""

from __future__ import annotations

import numpy as np
import pytest

from spikeshard import _engine, rng

U64_MAX = 2**64 - 1
KEYS = [0, 1, 0x0123_4567_89AB_CDEF, U64_MAX,
        rng.derive_key(12345, rng.Purpose.CONNECT, 0),
        rng.derive_key(2**64 - 1, rng.Purpose.DRIVE, 7),
        rng.initial_value_key(42, 3, 1)]
COUNTERS = [0, 1, 2**31, 2**32 - 1, 2**32, 2**63, U64_MAX]


def counters(seed: int) -> np.ndarray:
    """Edge values and 2,000 random 64-bit counters."""
    draws = np.random.default_rng(seed).integers(0, 2**64, 2000, dtype=np.uint64,
                                                 endpoint=False)
    return np.concatenate((np.array(COUNTERS, dtype=np.uint64), draws))


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("a", [0, 1, 12_345, 2**40 + 3, U64_MAX])
def test_bits_and_uniforms_agree_with_the_rust_engine(key, a):
    b = counters(seed=a % 1000)
    rust_bits, rust_uniform, rust_open0 = _engine.random_draws(key, a, b)
    ours = rng.bits(rng.subkey(key, a), b)
    assert same_bits(ours, rust_bits)
    assert same_bits(rng.uniform(ours), rust_uniform)
    assert same_bits(rng.uniform_open0(ours), rust_open0)
    assert 0.0 <= rust_uniform.min() and rust_uniform.max() < 1.0
    assert 0.0 < rust_open0.min() and rust_open0.max() <= 1.0


def test_the_scalar_mix_matches_the_vector_mix_and_splitmix64():
    values = counters(seed=5)
    assert [rng.mix_int(int(v)) for v in values] == rng.mix(values).tolist()
    # SplitMix64 from state 0: the first output is mix(golden ratio) (as rng.rs checks too).
    assert rng.mix_int(rng.M1) == 0xE220_A839_7B1D_CDAF


def test_streams_differ_by_key_purpose_and_index():
    keys = {rng.derive_key(seed, purpose, index)
            for seed in (0, 1) for purpose in rng.Purpose for index in (0, 1, 2)}
    assert len(keys) == 2 * len(rng.Purpose) * 3
    initial = {rng.initial_value_key(7, population, variable)
               for population in range(4) for variable in range(5)}
    assert len(initial) == 20


def test_initial_value_keys_refuse_variables_past_the_limit():
    with pytest.raises(ValueError, match="variable = 1024"):
        rng.initial_value_key(1, 0, rng.MAX_STATE_VARIABLES)


@pytest.mark.parametrize("lam", [0.0, 1e-6, 0.05, 1.0, 3.7, rng.POISSON_CHUNK])
def test_poisson_counts_agree_with_the_rust_engine(lam):
    cdf = rng.poisson_table(lam)
    u = rng.uniform(rng.bits(rng.subkey(99, 3), np.arange(5000, dtype=np.uint64)))
    # The table's own entries (and their neighbours) are where inversion could disagree.
    edges = np.concatenate((cdf[:-1], np.nextafter(cdf[:-1], 0.0), np.nextafter(cdf[:-1], 1.0)))
    u = np.concatenate((u, edges[(edges >= 0.0) & (edges < 1.0)], [0.0]))
    ours = rng.poisson_count(u, cdf)
    theirs = _engine.poisson_counts(u, cdf)
    np.testing.assert_array_equal(ours, theirs)
    if lam > 0.1:
        assert abs(ours.mean() - lam) < 0.1 * lam + 0.05


def test_rust_poisson_counts_need_a_table_ending_in_one():
    with pytest.raises(ValueError, match="ending in 1.0"):
        _engine.poisson_counts(np.zeros(3), np.array([0.5, 0.9]))
