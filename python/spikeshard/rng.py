"""Counter-based random numbers, bit-identical to ``rust/src/engine/rng.rs``.

Every draw is a pure function of (key, a, b): ``mix(mix(key ^ a*M1) + b*M2)`` with ``mix`` the
SplitMix64 finaliser. Keys are derived from the network seed, a purpose and an object index,
so what a neuron or synapse draws does not depend on which rank or thread computes it.
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

from .arrays import FloatArray, IntArray, U64Array

MASK = (1 << 64) - 1
M1 = 0x9E3779B97F4A7C15
M2 = 0xD1B54A32D192ED03
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0


class Purpose(enum.IntEnum):
    """What a random stream is for; part of its key."""

    CONNECT = 1
    WEIGHT = 2
    DELAY = 3
    DRIVE = 4
    SOURCE = 5
    INITIAL = 6


def mix_int(z: int) -> int:
    """SplitMix64's output function on a Python int."""
    z &= MASK
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & MASK
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def subkey(key: int, a: int) -> int:
    """The per-``a`` sub-key of a stream (a step, or a target id)."""
    return mix_int(key ^ ((a * M1) & MASK))


def derive_key(seed: int, purpose: Purpose, index: int) -> int:
    """The key of the stream for ``purpose`` of object ``index`` under ``seed``."""
    return mix_int((subkey(seed & MASK, int(purpose)) + index * M2) & MASK)


#: Initial-value streams a population may have: one per state variable, at most this many.
MAX_STATE_VARIABLES = 1024


def initial_value_key(seed: int, population: int, variable: int) -> int:
    """The key of the stream that draws the initial values of state variable ``variable``
    (its position in the model's state) of population ``population`` (its layout index):
    one stream per (population, variable), drawn per population-local neuron id."""
    if not 0 <= variable < MAX_STATE_VARIABLES:
        raise ValueError(f"variable = {variable}: expected an index in [0, {MAX_STATE_VARIABLES})")
    return derive_key(seed, Purpose.INITIAL, population * MAX_STATE_VARIABLES + variable)


def mix(z: U64Array) -> U64Array:
    """SplitMix64's output function, elementwise (uint64 arithmetic wraps)."""
    z = z ^ (z >> np.uint64(30))
    z = z * _C1
    z = z ^ (z >> np.uint64(27))
    z = z * _C2
    return z ^ (z >> np.uint64(31))


def bits(sub: int, b: npt.ArrayLike) -> U64Array:
    """64 random bits for each ``b`` under sub-key ``sub``."""
    b64 = np.asarray(b, dtype=np.uint64)
    return mix(np.uint64(sub) + b64 * np.uint64(M2))


def uniform(raw: U64Array) -> FloatArray:
    """Uniform in [0, 1) from 53 of the bits."""
    return (raw >> np.uint64(11)).astype(np.float64) * _TWO_POW_MINUS_53


def uniform_open0(raw: U64Array) -> FloatArray:
    """Uniform in (0, 1]: safe under log."""
    return ((raw >> np.uint64(11)) + np.uint64(1)).astype(np.float64) * _TWO_POW_MINUS_53


def poisson_table(lam: float) -> FloatArray:
    """Cumulative Poisson probabilities P(count <= k) for mean ``lam``, k = 0, 1, ... until
    they stop growing in floating point, then a 1.0 sentinel. A count is the number of
    entries below a uniform draw; the table is built once here so both engines use it."""
    p = float(np.exp(-lam))
    cdf = [p]
    k = 0
    while True:
        k += 1
        p *= lam / k
        total = cdf[-1] + p
        if total >= 1.0 or total == cdf[-1] and k > lam:
            break
        cdf.append(total)
    cdf.append(1.0)
    return np.array(cdf)


def poisson_count(u: FloatArray, cdf: FloatArray
                  ) -> IntArray:
    """Poisson counts for uniforms ``u`` against a table from ``poisson_table``."""
    return (cdf[None, :] < u[:, None]).sum(axis=1)


#: Largest mean count drawn with one uniform; larger means are split into equal chunks.
POISSON_CHUNK = 8.0


def poisson_chunks(lam: float) -> tuple[int, FloatArray]:
    """(number of chunks, cumulative table of one chunk) for a Poisson mean ``lam``."""
    if not (lam >= 0.0 and np.isfinite(lam)):
        raise ValueError(f"Poisson mean per step = {lam!r}: expected a finite value >= 0")
    n_chunks = max(1, int(np.ceil(lam / POISSON_CHUNK)))
    return n_chunks, poisson_table(lam / n_chunks)
