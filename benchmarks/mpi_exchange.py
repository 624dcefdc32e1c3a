"""Times a benchmark network under MPI, to measure what the spike exchange costs:
``mpirun -np N python benchmarks/mpi_exchange.py NETWORK [--duration S]``.

Builds NETWORK (``cuba``, ``brunel``; see networks.py) exactly as the spikeshard adapter
does, runs it with one thread per rank, and prints on rank 0 one line
``MPI_RESULT {"sim_s": ..., "exchanges": ..., "spikes": ...}`` (``exchanges``: the
intervals, each one all-gather of spikes). Compare two versions interleaved (A, B, A, B...)
inside ``/work/tools/bench``; the difference of the medians divided by ``exchanges`` is the
cost per exchange interval.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "adapters")]

import spikeshard_adapter as adapter  # noqa: E402
from networks import get_network  # noqa: E402

import spikeshard as ss  # noqa: E402


def run_under_mpi(request: dict[str, Any], start: float, populations: list[Any],
                  objects: list[Any]) -> None:
    """The adapter's last step, under MPI: build, run, and report from rank 0."""
    p = request["params"]
    monitors = [ss.SpikeMonitor(pop) for pop in populations]
    net = ss.Network(*populations, *objects, *monitors, seed=int(request["seed"]), threads=1)
    net.build(dt=p["dt_s"], backend="mpi")
    started = time.perf_counter()
    net.run(duration=p["duration_s"], progress=False)
    sim_s = time.perf_counter() - started
    built = net._built
    assert built is not None and net.comm is not None
    if net.comm.rank == 0:
        steps = round(p["duration_s"] / p["dt_s"])
        print("MPI_RESULT " + json.dumps({
            "sim_s": sim_s, "exchanges": -(-steps // built.interval),
            "spikes": sum(int(mon.count) for mon in monitors), "ranks": net.comm.size,
        }), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("network", choices=["cuba", "brunel"])
    parser.add_argument("--duration", type=float, default=None, help="simulated seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    params = get_network(args.network).to_request_params()
    if args.duration is not None:
        params["duration_s"] = args.duration
    request = {"network": args.network, "params": params, "threads": 1, "seed": args.seed}
    adapter._run = run_under_mpi  # type: ignore[attr-defined]
    getattr(adapter, f"build_{args.network}")(request)


if __name__ == "__main__":
    main()
