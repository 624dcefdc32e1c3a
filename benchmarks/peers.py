"""Simulators the runner knows: where each adapter script is and which Python runs it.

Each simulator runs its adapter (``adapters/<name>_adapter.py``) in a fresh subprocess per
timed run, with a Python chosen per simulator: a command-line option, else an environment
variable, else the Python running the benchmark. Peers that need other package versions
(Brian2 wants numpy<2.3) therefore live in their own virtual environments.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADAPTER_DIR = Path(__file__).resolve().parent / "adapters"
RESULT_MARKER = "BENCH_RESULT "  # must match adapters/_protocol.py
_PROBE_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Simulator:
    """One simulator: display name, adapter script, module that proves it is installed."""

    name: str
    module: str
    python_env_var: str

    @property
    def adapter(self) -> Path:
        return ADAPTER_DIR / f"{self.name}_adapter.py"

    @property
    def python_option(self) -> str:
        """Name of the runner's command-line option that selects this simulator's Python."""
        return f"--{self.name}-python"


SIMULATORS: dict[str, Simulator] = {
    sim.name: sim
    for sim in (
        Simulator("spikeshard", "spikeshard", "SPIKESHARD_PYTHON"),
        Simulator("brian2", "brian2", "SPIKESHARD_BRIAN2_PYTHON"),
        Simulator("nest", "nest", "SPIKESHARD_NEST_PYTHON"),
        Simulator("scn", "sc_neurocore", "SPIKESHARD_SCN_PYTHON"),
    )
}


def resolve_python(sim: Simulator, override: str | None) -> str:
    """The interpreter for ``sim``: ``override``, else its environment variable, else ours."""
    return override or os.environ.get(sim.python_env_var) or sys.executable


def probe(sim: Simulator, python: str) -> str | None:
    """Return ``None`` if ``python`` can find ``sim``'s module, else why it cannot.

    Only the module spec is looked up (nothing is imported), so the probe is fast and quiet.
    """
    if not Path(python).exists():
        return f"no interpreter at {python}"
    code = (
        "import importlib.util, sys; "
        f"sys.exit(0 if importlib.util.find_spec({sim.module!r}) else 1)"
    )
    try:
        completed = subprocess.run(
            [python, "-c", code], capture_output=True, timeout=_PROBE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot start {python}: {exc}"
    if completed.returncode != 0:
        return f"module {sim.module!r} not found by {python}"
    return None


def thread_environment(threads: int) -> dict[str, str]:
    """Environment for one run: every simulator's threading knob pinned to ``threads``; BLAS
    (used by none of the timed work) to one thread, so its idle workers don't spin on a core
    the simulator needs."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "RAYON_NUM_THREADS", "SPIKESHARD_THREADS"):
        env[var] = str(threads)
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class AdapterError(RuntimeError):
    """An adapter run failed; the message is the adapter's own last line of output."""


def run_once(
    sim: Simulator,
    python: str,
    network: str,
    params: dict[str, Any],
    *,
    threads: int,
    seed: int,
    timeout_s: float,
) -> dict[str, Any]:
    """Run ``sim``'s adapter once in a fresh subprocess and return its result dictionary."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{sim.name}-") as workdir:
        request = {
            "network": network,
            "params": params,
            "threads": threads,
            "seed": seed,
            "workdir": workdir,
        }
        try:
            completed = subprocess.run(
                [python, str(sim.adapter)],
                input=json.dumps(request),
                capture_output=True,
                text=True,
                cwd=workdir,
                env=thread_environment(threads),
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise AdapterError(f"timed out after {timeout_s:g} s") from None
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_MARKER) and completed.returncode == 0:
            result: dict[str, Any] = json.loads(line[len(RESULT_MARKER) :])
            return result
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    reason = lines[-1] if lines else f"exit status {completed.returncode}, no result line"
    raise AdapterError(reason)
