"""Runs the named test networks with backend="mpi" and saves what the monitors hold:
``run_networks.py OUT_DIR THREADS NAME...``. Rank 0 saves the gathered data (monitors with
gather "root" or "all") and the totals; every rank saves what it holds itself. Started by
tests/mpi/conftest.py under mpirun at several rank counts. Then, in the same launch, the nengo
networks (tests/mpi/nengo_runs.py): rank 0 runs them while the other ranks serve."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import spikeshard as ss  # noqa: E402
from tests.mpi.network_definitions import CHECKPOINTS, NETWORKS  # noqa: E402


def held_arrays(k: int, mon) -> dict[str, np.ndarray]:
    """What this rank holds of monitor ``k`` (reading it never communicates)."""
    if isinstance(mon, ss.SpikeMonitor):
        times, ids = mon.spikes
        return {f"times{k}": times, f"ids{k}": ids, f"held{k}": mon.held_ids,
                f"rates{k}": mon.rates()}
    if isinstance(mon, ss.StateMonitor):
        return {f"trace{k}": np.stack([mon.traces[v] for v in mon.variables]),
                f"t{k}": mon.t, f"held{k}": mon.held_ids}
    return {f"rate{k}": mon.rate, f"t{k}": mon.t, f"n{k}": np.array(mon.n_neurons)}


def main() -> None:
    out_dir, threads, names = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    for name in names:
        net, monitors, duration, dt = NETWORKS[name](threads)
        net.build(dt=dt, backend="mpi")
        comm = net.comm
        assert comm is not None
        # Every network also writes its file (one part per rank and flush, and an index).
        net.run(duration, progress=False, flush_every=0.03,
                output=out_dir / f"{name}-{comm.size}-{threads}.h5")
        # Totals are on every rank; data where the gather mode put them.
        mine: dict[str, np.ndarray] = {}
        gathered: dict[str, np.ndarray] = {}
        for k, mon in enumerate(monitors):
            if not isinstance(mon, ss.StateMonitor):
                gathered[f"count{k}"] = np.array(mon.count)
                gathered[f"mean_rate{k}"] = np.array(mon.mean_rate())
            if mon.holds_data:
                held = held_arrays(k, mon)
                mine.update(held)
                if mon.gather != "local":
                    gathered.update(held)
            else:
                try:
                    held_arrays(k, mon)
                except ss.SimulationError as error:
                    assert "gather='root'" in str(error), error
                    mine[f"refused{k}"] = np.array(True)
        mine.update({k: v for k, v in gathered.items() if k.startswith(("count", "mean"))})
        mine["exchange"] = np.array(net.spike_exchange)
        np.savez(out_dir / f"{name}-{comm.size}-{threads}-rank{comm.rank}.npz", **mine)
        if comm.rank == 0:
            # The seed's idiom: only rank 0 reads the gathered data; the others go on to the
            # next network at once (a read that communicated would hang here).
            np.savez(out_dir / f"{name}-{comm.size}-{threads}.npz", ranks=comm.size, **gathered)


def run_checkpoints(out_dir: Path, threads: int, size: int) -> None:
    saving = size == 2 and threads == 1
    for name, saved in CHECKPOINTS:
        net, monitors, duration, dt = NETWORKS[name](threads)
        if saving:
            if name == saved:
                net.run(duration / 2, dt=dt, backend="mpi", progress=False)
                net.save_state(out_dir / f"checkpoint-{saved}")
            continue
        if size == 1:  # the 1-rank launch runs before the 2-rank one saves
            continue
        net.restore_state(out_dir / f"checkpoint-{saved}", backend="mpi")
        net.run(duration - net.t, progress=False)
        gathered: dict[str, np.ndarray] = {"t_restored": np.array(duration / 2)}
        for k, mon in enumerate(monitors):
            if mon.holds_data and mon.gather != "local":
                gathered.update(held_arrays(k, mon))
        if net.comm is not None and net.comm.rank == 0:
            np.savez(out_dir / f"restored-{name}-{size}-{threads}.npz", **gathered)


def run_nengo(out_dir: Path, threads: int) -> None:
    """The nengo networks, in the same launch: rank 0 runs them, the other ranks serve."""
    from spikeshard.comm import world
    from spikeshard.nengo.cluster import run_on_rank_zero
    from tests.mpi.nengo_runs import run_all

    run_on_rank_zero(run_all, out_dir, threads, world(require_mpi=False).size)


if __name__ == "__main__":
    main()
    from spikeshard.comm import world

    run_checkpoints(Path(sys.argv[1]), int(sys.argv[2]), world(require_mpi=False).size)
    run_nengo(Path(sys.argv[1]), int(sys.argv[2]))
