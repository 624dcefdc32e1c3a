"""Runs the named test networks with backend="mpi" and saves every spike (and state trace) on
rank 0: ``run_networks.py OUT_DIR THREADS NAME...``. Started by tests/mpi/test_mpi.py under
mpirun at several rank counts."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.mpi.network_definitions import NETWORKS  # noqa: E402


def main() -> None:
    out_dir, threads, names = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    for name in names:
        net, monitors, duration, dt = NETWORKS[name](threads)
        net.run(duration, dt=dt, backend="mpi", progress=False)
        comm = net.comm
        assert comm is not None
        if comm.rank == 0:
            arrays = {}
            for k, mon in enumerate(monitors):
                if hasattr(mon, "spikes"):
                    arrays[f"times{k}"], arrays[f"ids{k}"] = mon.spikes
                else:
                    arrays[f"trace{k}"] = np.stack([mon.traces[v] for v in mon.variables])
            np.savez(out_dir / f"{name}-{comm.size}-{threads}.npz", ranks=comm.size,
                     exchange=net.spike_exchange, **arrays)


if __name__ == "__main__":
    main()
