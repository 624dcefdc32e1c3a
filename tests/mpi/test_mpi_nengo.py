"""nengo models split over MPI ranks (the shared launch of tests/mpi/conftest.py, and the
launcher's own paths): probe data equal the one-process run bit for bit for 1 to 4 ranks and
every placement; ``python -m spikeshard.nengo`` runs a script once, on rank 0; a failing
rank, or a script failing on rank 0 while the others serve, ends the job with its message."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.mpi.launch import RANKS, mpirun
from tests.mpi.nengo_runs import PLACEMENTS, run_one
from tests.nengo.networks import NETWORKS

pytestmark = pytest.mark.mpi
ROOT = Path(__file__).resolve().parents[2]


def load(out: Path, network: str, placement: str, ranks: int, threads: int = 1
         ) -> dict[str, np.ndarray]:
    with np.load(out / f"nengo-{network}-{placement}-{ranks}-{threads}.npz") as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("network", list(NETWORKS))
def test_every_rank_count_and_placement_gives_the_bits_of_one_process(
    outputs: Path, network: str
) -> None:
    reference, _ = run_one(network, "", threads=1)
    assert any(np.any(v) for k, v in reference.items() if k.endswith("spikes"))
    spread = 0
    for ranks, threads in [(r, 1) for r in RANKS] + [(2, 2)]:
        for placement in PLACEMENTS:
            saved = load(outputs, network, placement, ranks, threads)
            n_components, ranks_used = int(saved.pop("n_components")), int(saved.pop("ranks_used"))
            assert saved.keys() == reference.keys()
            for key in reference:
                assert saved[key].tobytes() == reference[key].tobytes(), (
                    key, placement, ranks, threads)
            if placement == "components1":
                assert n_components == 1
            spread += ranks_used > 1
    assert spread >= 8, "placements spread the model over several ranks"


def test_reading_another_ranks_signal_names_the_rank(outputs: Path) -> None:
    assert (outputs / "nengo-signals-1-1.txt").read_text() == ""
    for ranks in RANKS[1:]:
        message = (outputs / f"nengo-signals-{ranks}-1.txt").read_text()
        assert "lives on rank" in message and "probe it" in message, (ranks, message)


SCRIPT = """
import hashlib, sys
import numpy as np
import nengo
sys.path.insert(0, {root!r})
from tests.nengo.networks import build
print("script starts")
digests = []
for name in ("stream", "python_nodes"):
    net, probes = build(name)
    with nengo.Simulator(net, progress_bar=False) as sim:  # spikeshard's under the launcher
        sim.run(0.05)
        data = b"".join(np.ascontiguousarray(sim.data[probes[k]]).tobytes()
                        for k in sorted(probes))
        print(type(sim).__module__, sim.n_components, hashlib.sha256(data).hexdigest())
"""


def test_the_launcher_runs_an_unchanged_script_once_on_rank_zero(tmp_path: Path) -> None:
    script = tmp_path / "model.py"
    script.write_text(SCRIPT.format(root=str(ROOT)))
    alone = mpirun(1, sys.executable, "-m", "spikeshard.nengo", str(script), timeout=300)
    assert alone.returncode == 0, alone.stderr[-3000:]
    done = mpirun(3, sys.executable, "-m", "spikeshard.nengo", str(script), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines.count("script starts") == 1
    results = [line.split() for line in lines if line.startswith("spikeshard")]
    assert [r[:2] for r in results] == [["spikeshard.nengo.simulator", "3"]] * 2
    one = [line.split() for line in alone.stdout.splitlines() if line.startswith("spikeshard")]
    assert [r[2] for r in results] == [r[2] for r in one]


FAILS_ON_RANK_ZERO = """
import nengo
with nengo.Network(seed=1) as net:
    a = nengo.Ensemble(50, 1)
    b = nengo.Ensemble(50, 1)
    nengo.Connection(a, b)
with nengo.Simulator(net, progress_bar=False) as sim:
    sim.run(0.01)
    raise RuntimeError("the script gives up on rank 0")
"""

#: Makes rank 1's part fail in its first run, then starts the launcher (every rank).
FAILING_SERVER = """
import sys
from spikeshard.comm import world
import spikeshard.nengo.runtime as runtime
rank = world(require_mpi=False).rank
original = runtime.RankRuntime.run
def run(self, *args, **kwargs):
    if rank == 1:
        raise RuntimeError("rank one gives up serving")
    return original(self, *args, **kwargs)
runtime.RankRuntime.run = run
from spikeshard.nengo.__main__ import main
main([sys.argv[1]])
"""

STEADY_SCRIPT = """
import nengo
with nengo.Network(seed=1) as net:
    ens = [nengo.Ensemble(50, 1) for _ in range(3)]
    nengo.Connection(ens[0], ens[1])
    nengo.Connection(ens[1], ens[2])
with nengo.Simulator(net, progress_bar=False) as sim:
    sim.run(100.0)  # the other ranks would wait for rank 1 forever without an abort
"""


@pytest.mark.parametrize("case", ["script fails on rank 0", "a serving rank fails"])
def test_a_failure_on_any_rank_ends_the_job_with_its_message(tmp_path: Path, case: str
                                                             ) -> None:
    script = tmp_path / "model.py"
    started = time.monotonic()
    if case == "script fails on rank 0":
        script.write_text(FAILS_ON_RANK_ZERO)
        done = mpirun(3, sys.executable, "-m", "spikeshard.nengo", str(script), timeout=120)
        message = "the script gives up on rank 0"
    else:
        script.write_text(STEADY_SCRIPT)
        done = mpirun(3, sys.executable, "-c", FAILING_SERVER, str(script), timeout=120)
        message = "rank one gives up serving"
    assert done.returncode != 0
    assert message in done.stderr
    assert time.monotonic() - started < 90


@pytest.mark.parametrize("launch", ["plain", "spikeshard"])
def test_every_rank_running_the_script_is_told_the_launcher(tmp_path: Path, launch: str
                                                            ) -> None:
    """Under plain mpirun (or ``python -m spikeshard``, which keeps its every-rank
    behaviour) every rank runs the script: a nengo simulator says which launcher to use."""
    script = tmp_path / "model.py"
    script.write_text(
        "import nengo, spikeshard.nengo\n"
        "with nengo.Network() as net:\n"
        "    nengo.Ensemble(10, 1)\n"
        "spikeshard.nengo.Simulator(net, progress_bar=False)\n"
    )
    if launch == "plain":
        done = mpirun(2, sys.executable, str(script), timeout=120)
    else:
        done = mpirun(2, str(script), timeout=120)  # python -m spikeshard script.py
    assert done.returncode != 0
    assert "mpirun -np N python -m spikeshard.nengo script.py" in done.stderr
