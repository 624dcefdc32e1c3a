"""The memory estimate (``Network.estimate_memory``) against what a build really holds: the
engine's own count of synapse bytes, and the resident memory of a process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import spikeshard as ss
from tests.mpi.network_definitions import mixed_network

ROOT = Path(__file__).resolve().parents[1]

RSS_SCRIPT = """
import json, sys
from pathlib import Path
sys.path.insert(0, {benchmarks!r})
from scale import BrunelLike, brunel_like, memory_kib
# A first run imports what runs use (progress bar, timers): megabytes that are no data.
warm_up, _ = brunel_like(BrunelLike(n_neurons=1000, indegree=50), 1, {threads}, record=False)
warm_up.run(0.005, dt=1e-4, progress=False)
net, _ = brunel_like(BrunelLike(n_neurons={n}, indegree={k}), 1, {threads}, record=False)
(estimate,) = net.estimate_memory(1, dt=1e-4, threads={threads})
before = memory_kib("VmRSS")
net.run(0.005, dt=1e-4, progress=False)  # touches every ring-buffer slot
grown = (memory_kib("VmRSS") - before) * 1024
synapses, synapse_bytes = net._built.engine.synapse_footprint()
print(json.dumps(dict(grown=grown, threads=net.engine_threads, estimate=estimate.total_bytes,
                      synapses=synapses, expected_synapses=estimate.synapses,
                      synapse_bytes=synapse_bytes,
                      expected_synapse_bytes=estimate.synapse_bytes + estimate.index_bytes)))
"""


@pytest.mark.parametrize("threads", [1, 2])
def test_estimate_matches_a_brunel_like_build(threads: int) -> None:
    script = RSS_SCRIPT.format(benchmarks=str(ROOT / "benchmarks"), n=200_000, k=50,
                               threads=threads)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=True)
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["threads"] == threads
    assert got["synapses"] == got["expected_synapses"] == 200_000 * 50
    assert got["synapse_bytes"] == pytest.approx(got["expected_synapse_bytes"], rel=0.05)
    # Resident memory also holds allocator slack and Python objects of the build.
    assert got["grown"] == pytest.approx(got["estimate"], rel=0.2)


def test_estimate_counts_every_topology_and_splits_over_ranks() -> None:
    net, _, _, dt = mixed_network(threads=1)
    one = net.estimate_memory(1, dt=dt)
    three = net.estimate_memory(3, dt=dt)
    net.build(dt=dt, backend="rust")
    synapses, synapse_bytes = net._built.engine.synapse_footprint()  # type: ignore[union-attr]
    assert one[0].synapses == pytest.approx(synapses, rel=0.05)
    assert one[0].synapse_bytes + one[0].index_bytes == pytest.approx(synapse_bytes, rel=0.3)
    assert [e.rank for e in three] == [0, 1, 2]
    assert sum(e.neurons for e in three) == one[0].neurons == 97 + 101 + 53
    assert sum(e.synapses for e in three) == pytest.approx(one[0].synapses)
    assert all(e.peak_bytes > e.total_bytes > 0 for e in three)
    assert "MiB" in str(three[0])


def test_estimate_arguments_are_checked() -> None:
    pop = ss.Population(ss.models.LIF, n=10)
    net = ss.Network(pop)
    assert net.engine_threads is None  # not built yet
    with pytest.raises(ss.NetworkError, match="n_ranks"):
        net.estimate_memory(0)
    with pytest.raises(ss.NetworkError, match="threads"):
        net.estimate_memory(1, threads=0)
    with pytest.raises(ss.NetworkError, match="dt"):
        net.estimate_memory(1, dt=-1.0)
