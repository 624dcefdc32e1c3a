"""Type stubs of the native module (rust/src/py). Checked with ``mypy.stubtest``."""

from typing import final

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "GID_BITS",
    "INDEX_ROW_BYTES",
    "MAX_BLOCK_LEN",
    "MAX_DELAY_STEPS",
    "MAX_THREADS",
    "NARROW_BLOCKS",
    "PARALLEL_MIN_NEURONS",
    "PARALLEL_MIN_PRODUCTS",
    "PARALLEL_MIN_WORK",
    "NengoProgram",
    "NetworkRunner",
    "OverlapError",
    "ProjectionSpec",
    "build_synapse_table",
    "kernel_names",
    "nengo_step_neurons",
    "poisson_counts",
    "random_draws",
    "simd_level",
    "step_kernel",
    "supported_kernels",
]

#: Threads per rank (NetworkRunner, NengoProgram): more is a mistake, not a request.
MAX_THREADS: int
#: Neurons per block by default: a block's ring-buffer slot (8 bytes a neuron) stays in L1.
DEFAULT_BLOCK_SIZE: int
#: Largest synaptic delay, in steps (per-synapse delays are stored as u16).
MAX_DELAY_STEPS: int
#: A packed spike is ``step << GID_BITS | gid``.
GID_BITS: int
#: Neuron updates or synaptic events per interval below which NetworkRunner stays on one thread.
PARALLEL_MIN_WORK: int
#: NengoProgram splits neuron populations of at least this many neurons over its threads.
PARALLEL_MIN_NEURONS: int
#: NengoProgram splits dense and block products of at least this many multiply-adds.
PARALLEL_MIN_PRODUCTS: int
#: Most neurons in a block (a synapse's target addresses its neuron in 12 bits).
MAX_BLOCK_LEN: int
#: Shards of at most this many blocks store synapse targets in 2 bytes, others in 4.
NARROW_BLOCKS: int
#: Bytes of one row entry in a rank's source index.
INDEX_ROW_BYTES: int

@final
class ProjectionSpec:
    def __new__(
        cls,
        *,
        index: int,
        pre_first_gid: int,
        pre_n: int,
        post_n: int,
        same_population: bool,
        allow_autapses: bool,
        rule: str,
        probability: float = 0.0,
        degree: int = 0,
        multapses: bool = True,
        pre_ids: npt.NDArray[np.uint32] | None = None,
        post_ids: npt.NDArray[np.uint32] | None = None,
        weight_kind: str,
        weight_params: list[float],
        weight_values: npt.NDArray[np.float64] | None = None,
        delay_kind: str,
        delay_params: list[float],
        delay_values: npt.NDArray[np.float64] | None = None,
        keys: tuple[int, int, int],
    ) -> ProjectionSpec: ...
    @property
    def pre_first_gid(self) -> int: ...
    @property
    def pre_n(self) -> int: ...

_F64 = npt.NDArray[np.float64]
_Operand = tuple[_F64, npt.NDArray[np.int64] | None]

class OverlapError(ValueError):
    """An operator whose written elements overlap the ones its step reads."""

@final
class NengoProgram:
    def __new__(cls, threads: int = 1, fuse: bool = False) -> NengoProgram: ...
    @property
    def threads(self) -> int: ...
    def add_time_update(self, step: npt.NDArray[np.int64], time: _F64, dt: float) -> None: ...
    def add_reset(self, dst: _Operand, value: float) -> None: ...
    def add_copy(self, src: _Operand, dst: _Operand, inc: bool) -> None: ...
    def add_elementwise_inc(self, a: _Operand, x: _Operand, y: _Operand) -> None: ...
    def add_dot_inc(self, a: _F64, x: _Operand, y: _Operand) -> None: ...
    def add_bsr_dot_inc(
        self, blocks: _F64, indices: list[int], indptr: list[int], x: _Operand, y: _Operand
    ) -> None: ...
    def add_csr_dot_inc(
        self, data: _F64, indices: list[int], indptr: list[int], x: _Operand, y: _Operand
    ) -> None: ...
    def add_neurons(
        self, name: str, params: list[float], dt: float, j: _F64, out: _F64, states: list[_F64]
    ) -> None: ...
    def add_linear_filter(
        self,
        form: str,
        a: list[float],
        b: list[float],
        c: list[float],
        d: float,
        input: _Operand,
        output: _Operand,
        state: _F64,
        inc: bool,
    ) -> None: ...
    def add_table_process(
        self,
        rule: str,
        rows: _F64,
        time: _F64,
        output: _Operand,
        inc: bool,
        *,
        dt: float,
        presentation_time: float | None = None,
        times: list[float] | None = None,
    ) -> None: ...
    def add_white_noise(
        self,
        dist: str,
        params: list[float],
        alpha: float | None,
        output: _Operand,
        inc: bool,
    ) -> int: ...
    def set_noise_state(
        self,
        id: int,
        key: npt.NDArray[np.uint32],
        pos: int,
        has_gauss: bool,
        gauss: float,
    ) -> None: ...
    def add_learning_rule(
        self,
        rule: str,
        alpha: float,
        pre: _Operand,
        post: _Operand,
        delta: _Operand,
        *,
        extra: _Operand | None = None,
        matrix: _Operand | None = None,
        beta: float = 0.0,
        scale: list[float] | None = None,
    ) -> None: ...
    def end_segment(self) -> int: ...
    def end_step(self, n: int) -> None: ...
    @property
    def n_segments(self) -> int: ...
    @property
    def n_ops(self) -> int: ...
    def add_probe(self, signal: _Operand, period: float) -> int: ...
    def run_segment(self, segment: int) -> None: ...
    def record_probes(self) -> None: ...
    def run_steps(self, n_steps: int) -> None: ...
    def take_samples(self, id: int, size: int) -> _F64: ...
    def clear_samples(self) -> None: ...

@final
class NetworkRunner:
    def __new__(cls, dt: float, n_threads: int = 1) -> NetworkRunner: ...
    @property
    def step(self) -> int: ...
    @property
    def max_delay(self) -> int: ...
    @property
    def n_threads(self) -> int: ...
    def add_population(
        self,
        kernel: str,
        constants: dict[str, float],
        key: int,
        first_gid: int,
        size: int,
        locals: npt.NDArray[np.uint32],
        state: list[npt.NDArray[np.float64]],
        block_size: int = ...,
    ) -> int: ...
    def add_projection(self, post: int, spec: ProjectionSpec) -> int: ...
    def add_drive(
        self,
        population: int,
        targets: npt.NDArray[np.uint32],
        weight: float,
        key: int,
        n_chunks: int,
        cdf: npt.NDArray[np.float64],
    ) -> None: ...
    def add_spike_recorder(self, population: int, ids: npt.NDArray[np.uint32] | None,
                           first_step: int, stop_step: int | None) -> int: ...
    def add_state_recorder(self, population: int, variable: int, ids: npt.NDArray[np.uint32],
                           first_step: int, stop_step: int | None, every: int) -> int: ...
    def add_rate_recorder(self, population: int, first_step: int, stop_step: int | None,
                          bin_steps: int) -> int: ...
    def longest_interval(self) -> int | None: ...
    def prepare(self, interval: int, max_delay: int) -> None: ...
    def advance(self, n_steps: int) -> npt.NDArray[np.uint64]: ...
    def deliver(self, spikes: npt.NDArray[np.uint64]) -> None: ...
    def run(self, n_steps: int, interval: int) -> None: ...
    def take_spikes(
        self, recorder: int
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64]]: ...
    def take_state(
        self, recorder: int
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.float64]]: ...
    def take_rate(self, recorder: int, until_step: int) -> npt.NDArray[np.uint64]: ...
    def recording_bytes(self) -> int: ...
    def spikes_emitted(self) -> int: ...
    def phase_times(self) -> tuple[float, float]: ...
    def get_state(self, population: int, variable: int) -> npt.NDArray[np.float64]: ...
    def start_at(self, step: int) -> None: ...
    def get_input(self, population: int, lags: int) -> npt.NDArray[np.float64]: ...
    def add_input(self, population: int, lags: int, values: npt.NDArray[np.float64]) -> None: ...
    def source_gids(self) -> npt.NDArray[np.uint32]: ...
    def synapse_footprint(self) -> tuple[int, int]: ...

def build_synapse_table(
    spec: ProjectionSpec, targets: npt.NDArray[np.uint32]
) -> dict[str, npt.NDArray[np.generic]]: ...
def nengo_step_neurons(
    name: str,
    params: list[float],
    dt: float,
    j: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
    states: list[npt.NDArray[np.float64]],
    n_steps: int,
) -> None: ...
def supported_kernels() -> list[str]: ...
def kernel_names(kernel: str) -> tuple[list[str], list[str]]: ...
def random_draws(
    key: int, a: int, b: npt.NDArray[np.uint64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
def poisson_counts(
    u: npt.NDArray[np.float64], cdf: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]: ...
def simd_level() -> str: ...
def step_kernel(
    kernel: str,
    constants: dict[str, float],
    state: npt.NDArray[np.float64],
    inputs_ex: npt.NDArray[np.float64],
    inputs_in: npt.NDArray[np.float64],
    gids: npt.NDArray[np.uint32],
    first_step: int = 0,
    key: int = 0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint8], npt.NDArray[np.float64]]: ...
