"""Monitors under real mpirun (the shared launch of tests/mpi/conftest.py): gathered data
identical for 1 to 4 ranks (NaN states included), totals on every rank, data only where the
gather mode puts it, and `if rank == 0:` reads that finish."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import spikeshard as ss
from tests.mpi.launch import RANKS, load_gathered, load_rank
from tests.mpi.network_definitions import NETWORKS

pytestmark = pytest.mark.mpi


def _monitors(name: str) -> list:
    return NETWORKS[name](1)[1]


def test_the_recording_network_records_something_in_every_monitor(outputs: Path) -> None:
    one = load_rank(outputs, "recording", 1, 0)
    monitors = _monitors("recording")
    for k, mon in enumerate(monitors):
        if not isinstance(mon, ss.StateMonitor):
            assert one[f"count{k}"] > 10, (k, mon)
        if isinstance(mon, ss.StateMonitor):
            assert one[f"trace{k}"].size > 0 and np.all(np.isfinite(one[f"trace{k}"]))


@pytest.mark.parametrize("name", ["recording", "nan_states", "brunel", "mixed"])
def test_totals_are_the_same_on_every_rank_and_rank_count(outputs: Path, name: str) -> None:
    reference = load_rank(outputs, name, 1, 0)
    totals = [k for k in reference if k.startswith(("count", "mean_rate"))]
    assert totals
    for ranks in RANKS:
        for rank in range(ranks):
            held = load_rank(outputs, name, ranks, rank)
            for key in totals:
                np.testing.assert_array_equal(held[key], reference[key], err_msg=key)


@pytest.mark.parametrize("name", ["recording", "nan_states"])
def test_root_data_are_refused_elsewhere_and_all_data_are_everywhere(outputs: Path,
                                                                     name: str) -> None:
    monitors = _monitors(name)
    reference = load_rank(outputs, name, 1, 0)
    for ranks in RANKS[1:]:
        for rank in range(ranks):
            held = load_rank(outputs, name, ranks, rank)
            for k, mon in enumerate(monitors):
                if mon.gather == "root":
                    assert (f"refused{k}" in held) == (rank != 0), (k, rank)
                if mon.gather == "all":
                    keys = _data_keys(reference, k)
                    assert keys
                    for key in keys:
                        np.testing.assert_array_equal(held[key], reference[key], err_msg=key)


def test_local_monitors_hold_each_neuron_on_exactly_one_rank(outputs: Path) -> None:
    monitors = _monitors("recording")
    reference = load_rank(outputs, "recording", 1, 0)
    for ranks in RANKS[1:]:
        parts = [load_rank(outputs, "recording", ranks, rank) for rank in range(ranks)]
        for k, mon in enumerate(monitors):
            if mon.gather != "local":
                continue
            if isinstance(mon, ss.RateMonitor):
                # Rates of each rank's neurons, weighted by their number, add up.
                assert sum(int(p[f"n{k}"]) for p in parts) == mon.source.n
                total = sum(p[f"rate{k}"] * int(p[f"n{k}"]) for p in parts)
                np.testing.assert_allclose(total, reference[f"rate{k}"] * mon.source.n,
                                           rtol=1e-12)
                continue
            held = np.concatenate([p[f"held{k}"] for p in parts])
            assert len(np.unique(held)) == len(held)
            np.testing.assert_array_equal(np.sort(held), reference[f"held{k}"])
            if isinstance(mon, ss.StateMonitor):
                order = np.argsort(held)
                joined = np.concatenate([p[f"trace{k}"] for p in parts], axis=2)[:, :, order]
                np.testing.assert_array_equal(joined, reference[f"trace{k}"])
                for p in parts:
                    np.testing.assert_array_equal(p[f"t{k}"], reference[f"t{k}"])
            else:
                times = np.concatenate([p[f"times{k}"] for p in parts])
                ids = np.concatenate([p[f"ids{k}"] for p in parts])
                order = np.lexsort((ids, times))
                np.testing.assert_array_equal(times[order], reference[f"times{k}"])
                np.testing.assert_array_equal(ids[order], reference[f"ids{k}"])


def _data_keys(saved: dict[str, np.ndarray], k: int) -> list[str]:
    """The keys of monitor ``k``'s data (not its totals)."""
    keys = []
    for key in saved:
        match = re.fullmatch(r"([a-z_]+?)(\d+)", key)
        if match and int(match[2]) == k and match[1] not in ("count", "mean_rate", "refused"):
            keys.append(key)
    return keys


def test_nan_states_gather_as_nan_in_their_own_columns(outputs: Path) -> None:
    monitors = _monitors("nan_states")
    for ranks in RANKS:
        gathered = load_gathered(outputs, "nan_states", ranks)
        for k, mon in enumerate(monitors):
            if not isinstance(mon, ss.StateMonitor):
                continue
            x = gathered[f"trace{k}"][mon.variables.index("x")]
            assert x.shape[0] == 500
            nan_columns = mon.record % 3 == 0  # gids of the only population = its ids
            assert np.all(np.isnan(x[:, nan_columns]))
            assert np.all(np.isfinite(x[:, ~nan_columns]))
            if "v" in mon.variables:
                v = gathered[f"trace{k}"][mon.variables.index("v")]
                np.testing.assert_array_equal(x[:, ~nan_columns], v[:, ~nan_columns])


@pytest.mark.parametrize("name", list(NETWORKS))
def test_files_written_by_any_rank_count_load_back_to_the_single_process_data(
        outputs: Path, name: str) -> None:
    h5py = pytest.importorskip("h5py")
    assert h5py
    monitors = _monitors(name)
    one = load_rank(outputs, name, 1, 0)  # what the monitors of the 1-rank run held
    reference = ss.load(outputs / f"{name}-1-1.h5")
    assert reference.n_ranks == 1
    for k, mon in enumerate(monitors):
        if isinstance(mon, ss.SpikeMonitor):
            times, ids = reference.spikes[mon.name]
            np.testing.assert_array_equal(times, one[f"times{k}"])
            np.testing.assert_array_equal(ids, one[f"ids{k}"])
        elif isinstance(mon, ss.StateMonitor):
            traces = reference.traces[mon.name]
            np.testing.assert_array_equal(traces.ids, one[f"held{k}"])
            for v, var in enumerate(mon.variables):
                np.testing.assert_array_equal(traces[var][0], one[f"t{k}"])
                np.testing.assert_array_equal(traces[var][1], one[f"trace{k}"][v])
        else:
            np.testing.assert_array_equal(reference.rates[mon.name][1], one[f"rate{k}"])
    for ranks in RANKS[1:]:
        results = ss.load(outputs / f"{name}-{ranks}-1.h5")
        assert results.n_ranks == ranks and results.t_stop == reference.t_stop
        parts = list((outputs / f"{name}-{ranks}-1.h5.parts").glob("rank*/part*.h5"))
        assert len({p.parent for p in parts}) == ranks
        for kind in ("spikes", "rates"):
            mine, theirs = getattr(results, kind), getattr(reference, kind)
            assert mine.keys() == theirs.keys()
            for key in mine:
                for a, b in zip(mine[key], theirs[key], strict=True):
                    np.testing.assert_array_equal(a, b, err_msg=f"{kind} {key}")
        assert results.traces.keys() == reference.traces.keys()
        for key, traces in results.traces.items():
            np.testing.assert_array_equal(traces.ids, reference.traces[key].ids)
            for var, (t, values) in traces.items():
                np.testing.assert_array_equal(t, reference.traces[key][var][0])
                np.testing.assert_array_equal(values, reference.traces[key][var][1])
