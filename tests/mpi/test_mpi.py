"""Distributed runs under real mpirun: identical spikes for any number of ranks and threads,
and a failing rank ends the whole job."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.mpi.launch import RANKS, load_gathered, load_rank, mpirun
from tests.mpi.network_definitions import NETWORKS, PLACEMENTS
from tests.mpi.run_networks import held_arrays

pytestmark = pytest.mark.mpi


def _assert_equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_rank_count_gives_the_same_spikes(outputs: Path, name: str) -> None:
    reference = load_gathered(outputs, name, 1)
    assert sum(len(v) for k, v in reference.items() if k.startswith("ids")) > 100
    for ranks in RANKS[1:]:
        _assert_equal(reference, load_gathered(outputs, name, ranks))


@pytest.mark.parametrize("name", list(PLACEMENTS))
def test_partitioners_and_assignments_do_not_change_spikes(outputs: Path, name: str) -> None:
    reference = load_gathered(outputs, "mixed", 1)
    for ranks in RANKS:
        _assert_equal(reference, load_gathered(outputs, name, ranks))


def test_each_run_used_the_exchange_it_asked_for(outputs: Path) -> None:
    def exchange(name: str, ranks: int) -> str:
        return str(load_rank(outputs, name, ranks, 0)["exchange"])

    assert exchange("mixed", 1) == "local"
    for ranks in RANKS[1:]:
        assert exchange("mixed_alltoall", ranks) == "alltoall"
        assert exchange("mixed_metis_alltoall", ranks) == "alltoall"
        # Random networks whose every rank wants nearly every neuron: all-gather.
        assert exchange("brunel", ranks) == "allgather"


@pytest.mark.parametrize("name", list(NETWORKS))
def test_two_threads_per_rank_give_the_same_spikes(outputs: Path, name: str) -> None:
    _assert_equal(load_gathered(outputs, name, 1), load_gathered(outputs, name, 2, threads=2))


@pytest.mark.parametrize("name", list(NETWORKS))
def test_mpi_matches_a_plain_serial_run(outputs: Path, name: str) -> None:
    net, monitors, duration, dt = NETWORKS[name](1)
    net.run(duration, dt=dt, backend="auto", progress=False)  # Rust, and numpy for user models
    reference = load_rank(outputs, name, 1, 0)
    for k, mon in enumerate(monitors):
        for key, value in held_arrays(k, mon).items():
            np.testing.assert_array_equal(value, reference[key], err_msg=key)


FAILING_SCRIPT = """
import sys
import spikeshard as ss
pop = ss.Population(ss.models.LIF, n=100, params={"i_e": 400.0})
net = ss.Network(pop, ss.SpikeMonitor(pop), threads=1)
net.run(0.01, dt=1e-4, backend="mpi", progress=False)
if net.comm.rank == 1:
    raise RuntimeError("rank one gives up")
net.run(100.0, progress=False)  # the other ranks would wait forever without an abort
"""


@pytest.mark.parametrize("launch", ["module", "plain"])
def test_a_failing_rank_ends_the_job_with_its_message(tmp_path: Path, launch: str) -> None:
    script = tmp_path / "fail.py"
    script.write_text(FAILING_SCRIPT)
    started = time.monotonic()
    if launch == "module":
        done = mpirun(3, str(script), timeout=120)  # runs as python -m spikeshard script.py
    else:
        done = mpirun(3, sys.executable, str(script), timeout=120)
    elapsed = time.monotonic() - started
    assert done.returncode != 0
    assert "rank one gives up" in done.stderr
    assert elapsed < 60
