"""Checkpoints across rank counts (the shared launch of tests/mpi/conftest.py): a run saved
half-way on 2 ranks and restored on 3 or 4 ranks, or on 2 ranks with two threads each, or
under another partition, finishes with the spikes and traces of the run on 1 rank straight
through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.mpi.launch import load_gathered
from tests.mpi.network_definitions import CHECKPOINTS

pytestmark = pytest.mark.mpi

RESTORED_ON = ((3, 1), (4, 1), (2, 2))


@pytest.mark.parametrize(("name", "saved"), CHECKPOINTS)
@pytest.mark.parametrize(("ranks", "threads"), RESTORED_ON)
def test_a_run_saved_on_two_ranks_finishes_as_one_rank_straight_through(
        outputs: Path, name: str, saved: str, ranks: int, threads: int) -> None:
    reference = load_gathered(outputs, name, 1)
    with np.load(outputs / f"restored-{name}-{ranks}-{threads}.npz") as data:
        restored = {k: data[k] for k in data.files}
    half = float(restored.pop("t_restored"))
    compared = 0
    for key, values in restored.items():
        if key.startswith("times"):
            k = key.removeprefix("times")
            keep = reference[key] > half + 1e-12  # a spike in step s is at (s + 1) dt
            assert keep.sum() > 5, key
            np.testing.assert_array_equal(values, reference[key][keep], err_msg=key)
            np.testing.assert_array_equal(restored[f"ids{k}"], reference[f"ids{k}"][keep])
            compared += 1
        elif key.startswith("trace"):
            k = key.removeprefix("trace")
            keep = reference[f"t{k}"] > half + 1e-12
            np.testing.assert_array_equal(restored[f"t{k}"], reference[f"t{k}"][keep])
            np.testing.assert_array_equal(values, reference[key][:, keep], err_msg=key)
            compared += 1
    assert compared >= 2
