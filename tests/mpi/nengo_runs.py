"""The nengo part of the shared MPI launch (tests/mpi/run_networks.py): every network of
tests/nengo/networks.py under every placement, run through ``spikeshard.nengo``'s cluster
(the script's part runs on rank 0, the other ranks serve), saved on rank 0 for
tests/mpi/test_mpi_nengo.py to compare with one process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nengo
import numpy as np

import spikeshard.nengo as snengo
from tests.nengo.networks import NETWORKS, assignments_for, build

RUN_S = 0.1

#: How each network is split: name -> Simulator keyword arguments.
PLACEMENTS = ("components1", "components2", "components5", "assignments")


def placement(name: str, network: str, net: nengo.Network) -> dict[str, Any]:
    if name == "assignments":
        return {"assignments": assignments_for(network, net)}
    return {"partitioner": snengo.Partitioner(int(name.removeprefix("components")))}


def run_one(network: str, placement_name: str, threads: int, **extra: Any
            ) -> tuple[dict[str, np.ndarray], snengo.Simulator]:
    """Runs a network RUN_S seconds (then, for "python_nodes", resets and runs again) and
    returns its probe data."""
    net, probes = build(network)
    kwargs = placement(placement_name, network, net) if placement_name else {}
    with snengo.Simulator(net, progress_bar=False, threads=threads, **kwargs, **extra) as sim:
        sim.run(RUN_S)
        if network == "python_nodes":
            sim.reset(seed=3)
            sim.run_steps(30)
        return {key: np.array(sim.data[p]) for key, p in probes.items()}, sim


def run_all(out_dir: Path, threads: int, n_ranks: int) -> None:
    """Rank 0's part (the other ranks serve): every network under every placement."""
    for network in NETWORKS:
        for name in PLACEMENTS:
            data, sim = run_one(network, name, threads)
            ranks_used = sum(1 for comps, _, _ in sim.partition_report().ranks if comps)
            np.savez(out_dir / f"nengo-{network}-{name}-{n_ranks}-{threads}.npz",
                     n_components=sim.n_components, ranks_used=ranks_used, **data)
    # Reading another rank's signal on rank 0 names the rank instead of communicating.
    net, _ = build("stream")
    with snengo.Simulator(net, progress_bar=False, partitioner=snengo.Partitioner(n_ranks)
                          ) as sim:
        message = ""
        for signal in sim.model.sig[net.all_ensembles[-1].neurons].values():
            try:
                sim.signals[signal]
            except KeyError as error:
                message = str(error)
                break
    (out_dir / f"nengo-signals-{n_ranks}-{threads}.txt").write_text(message)
