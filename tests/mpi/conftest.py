"""The one mpirun launch per rank count that every MPI test reads: tests/mpi/run_networks.py
runs every network of tests/mpi/network_definitions.py and saves what its monitors hold, then
the nengo networks of tests/mpi/nengo_runs.py and saves their probes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mpi.launch import HERE, RANKS, mpirun
from tests.mpi.network_definitions import NETWORKS


@pytest.fixture(scope="session")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("mpi")
    runs = [(n, 1) for n in RANKS] + [(2, 2)]
    for n_ranks, threads in runs:
        done = mpirun(n_ranks, str(HERE / "run_networks.py"), str(out), str(threads),
                      *NETWORKS)
        assert done.returncode == 0, done.stderr[-3000:]
    return out
