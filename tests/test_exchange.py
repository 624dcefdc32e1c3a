"""The spike exchange: the compact form spikes travel in, the choice between all-gather and
all-to-all, and the exchange a network reports. (Runs under mpirun: tests/mpi/.)"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import spikeshard as ss
from spikeshard.comm import (
    AlltoallExchange,
    _check_exchange_codes,
    choose_exchange,
    exchange_costs,
)
from spikeshard.exchange import owners
from spikeshard.packed_spikes import compact, expand
from spikeshard.partition import Partition


def _packed(steps: list[int], gids: list[int]) -> np.ndarray:
    return (np.array(steps, dtype=np.uint64) << np.uint64(32)) | np.array(gids, dtype=np.uint64)


def test_spikes_travel_as_counts_per_step_and_four_byte_ids() -> None:
    local = _packed([10, 10, 12, 14], [3, 70000, 5, 2**32 - 1])
    counts, gids = compact(local, first_step=10, n_steps=5)
    assert counts.tolist() == [2, 0, 1, 0, 1] and gids.dtype == np.uint32
    assert gids.tolist() == [3, 70000, 5, 2**32 - 1]
    np.testing.assert_array_equal(expand(counts[None, :], gids, 10), local)
    with pytest.raises(ValueError, match="outside the interval"):
        compact(local, first_step=11, n_steps=3)


def test_blocks_of_several_ranks_merge_in_step_then_gid_order() -> None:
    rank0 = _packed([4, 5], [9, 1])
    rank1 = _packed([4, 4, 5], [2, 8, 0])
    c0, g0 = compact(rank0, 4, 2)
    c1, g1 = compact(rank1, 4, 2)
    merged = expand(np.stack([c0, c1]), np.concatenate([g0, g1]), 4)
    np.testing.assert_array_equal(merged, np.sort(np.concatenate([rank0, rank1])))


def test_all_gather_where_every_rank_wants_every_neuron() -> None:
    neurons = [500_000, 500_000]
    wanted = [[500_000, 500_000], [500_000, 500_000]]
    assert choose_exchange(neurons, wanted, interval_s=0.0015) == "allgather"


def test_all_to_all_where_ranks_want_few_of_each_others_neurons() -> None:
    # 16 areas on 16 ranks, each wanting 1% of every other area's neurons.
    neurons = [100_000] * 16
    wanted = np.full((16, 16), 1_000) + np.diag([99_000] * 16)
    assert choose_exchange(neurons, wanted, interval_s=0.0015) == "alltoall"
    allgather, alltoall = exchange_costs(neurons, wanted, 0.0015)
    assert alltoall < allgather / 2


def test_latency_decides_for_small_networks() -> None:
    # A few spikes per interval: the all-to-all's extra messages cost more than it saves.
    neurons = [100] * 8
    wanted = np.full((8, 8), 10)
    assert choose_exchange(neurons, wanted, interval_s=0.001) == "allgather"


def test_all_to_all_sends_each_spike_to_the_ranks_that_want_it() -> None:
    comm = SimpleNamespace(rank=1, size=4)
    wanted = [np.array([5, 7], np.uint32), np.array([5, 6, 7, 8], np.uint32),
              np.array([], np.uint32), np.array([7, 8], np.uint32)]
    exchange = AlltoallExchange(comm, wanted)  # type: ignore[arg-type]
    local = _packed([3, 3, 3, 4, 4], [5, 6, 7, 7, 8])
    destinations, spikes = exchange.route(local)
    assert destinations.tolist() == [0, 0, 0, 3, 3, 3]
    np.testing.assert_array_equal(spikes, local[[0, 2, 3, 2, 3, 4]])


def test_owner_of_each_global_id() -> None:
    partition = Partition(3, [[(0, 5, 0), (5, 10, 2)], [(0, 4, 1), (4, 6, 0)]])
    gids = np.array([0, 4, 5, 9, 10, 13, 14, 15], dtype=np.uint32)
    assert owners(partition, [0, 10], gids).tolist() == [0, 0, 2, 2, 1, 1, 0, 0]


def test_exchange_is_validated_and_one_process_exchanges_nothing() -> None:
    pop = ss.Population(ss.models.LIF, n=10)
    with pytest.raises(ss.NetworkError, match="exchange = 'broadcast'"):
        ss.Network(pop, exchange="broadcast")
    net = ss.Network(pop, ss.Projection(pop, pop, topology="all_to_all", weight=1.0,
                                        delay=0.001), exchange="alltoall")
    assert net.spike_exchange is None
    net.run(0.01, dt=1e-4, progress=False)
    assert net.spike_exchange == "local" and net.exchanged_bytes == (0, 0)


def test_ranks_using_different_exchanges_raise_instead_of_mixing_collectives() -> None:
    _check_exchange_codes(np.array([1, 1, 1]), "allgather")
    with pytest.raises(ss.CollectiveMismatchError, match="rank 1: alltoall"):
        _check_exchange_codes(np.array([1, 2, 1]), "allgather")
