"""Request/result protocol shared by the adapter scripts (standard library only).

An adapter is started as ``PYTHON adapters/<simulator>_adapter.py`` with one JSON request on
standard input::

    {"network": "cuba", "params": {...}, "threads": 1, "seed": 1, "workdir": "/tmp/..."}

It builds and runs the network once and prints one line ``BENCH_RESULT {json}`` with at
least ``build_s``, ``sim_s``, ``n_spikes`` and ``rate_hz`` (extra keys are kept as notes).
Anything else it prints is ignored by the runner. An adapter that cannot run exits non-zero
with a one-line reason on standard error.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

RESULT_MARKER = "BENCH_RESULT "


def read_request() -> dict[str, Any]:
    """Read the JSON request from standard input."""
    request: dict[str, Any] = json.load(sys.stdin)
    return request


def fail(message: str) -> NoReturn:
    """Exit with status 2 and ``message`` as the last line of standard error."""
    print(message, file=sys.stderr, flush=True)
    sys.exit(2)


def emit_result(
    *,
    build_s: float,
    sim_s: float,
    n_spikes: int,
    n_neurons: int,
    duration_s: float,
    **extra: Any,
) -> None:
    """Print the result line; the mean rate is spikes per neuron per second of model time."""
    result = {
        "build_s": build_s,
        "sim_s": sim_s,
        "n_spikes": int(n_spikes),
        "rate_hz": n_spikes / (n_neurons * duration_s),
        **extra,
    }
    print(RESULT_MARKER + json.dumps(result), flush=True)


def run_adapter(builders: dict[str, Callable[[dict[str, Any]], None]]) -> None:
    """Dispatch the request to ``builders[network]``, which must call :func:`emit_result`."""
    request = read_request()
    network = request["network"]
    if network not in builders:
        fail(f"this adapter has no version of network {network!r}")
    builders[network](request)


#: Wall-clock seconds, for every timing.
now = time.perf_counter
#: CPU seconds of this process, all threads together (sim_cpu_s / sim_s ~ threads used).
cpu_now = time.process_time
