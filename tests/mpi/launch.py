"""Starting scripts under mpirun, and reading what tests/mpi/run_networks.py saved: the
gathered data of rank 0, and what each rank held itself."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from spikeshard.__main__ import mpirun_command

HERE = Path(__file__).parent
RANKS = (1, 2, 3, 4)


def mpirun(n_ranks: int, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    command, env = mpirun_command(["-np", str(n_ranks), "--oversubscribe", *args])
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)


def load_gathered(out: Path, name: str, ranks: int, threads: int = 1) -> dict[str, np.ndarray]:
    """What rank 0 held of the monitors gathered on it or everywhere, and the totals."""
    with np.load(out / f"{name}-{ranks}-{threads}.npz") as data:
        assert int(data["ranks"]) == ranks
        return {k: data[k] for k in data.files if k != "ranks"}


def load_rank(out: Path, name: str, ranks: int, rank: int, threads: int = 1
              ) -> dict[str, np.ndarray]:
    """What rank ``rank`` of a run on ``ranks`` ranks held itself."""
    with np.load(out / f"{name}-{ranks}-{threads}-rank{rank}.npz") as data:
        return {k: data[k] for k in data.files}
