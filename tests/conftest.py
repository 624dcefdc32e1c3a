"""pytest hooks for spikeshard's own tests.

nengo's pytest plugin (``pytest_nengo``, loaded whenever nengo is installed, as the ``test``
extra does) adds ``skip("slow tests not requested")`` to *every* collected test marked
``slow`` unless ``--slow`` is given, ours included. Our ``slow`` tests run by default (CI
too), so that skip is taken off again for the tests in this directory; nengo's own slow
tests stay skipped in ``python -m pytest --pyargs nengo``.

pytest also loads this file for ``python -m pytest --pyargs nengo`` run from the repository
root (it looks in ``test*/`` of the invocation directory when no argument is a path), where
the progress-bar default below halves the wall time of nengo's suite.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from tests.helpers import ENGINES

TESTS_DIR = Path(__file__).resolve().parent
NENGO_SLOW_SKIP = "slow tests not requested"


def pytest_configure(config: pytest.Config) -> None:
    # nengo's default progress bar starts an update thread at every build and every run, and
    # joining it waits out its 0.1 s sleep: about half the wall time of nengo's suite
    # (benchmarks/README.md). The tests that check progress bars pass theirs explicitly.
    with warnings.catch_warnings():  # before pyproject's filterwarnings are in force
        warnings.filterwarnings("ignore", "numpy.core is deprecated", DeprecationWarning)
        try:
            import nengo
        except ImportError:
            return
    nengo.rc.set("progress", "progress_bar", "False")


def _is_nengo_slow_skip(mark: pytest.Mark) -> bool:
    reasons = (*mark.args, mark.kwargs.get("reason"))
    return mark.name == "skip" and NENGO_SLOW_SKIP in reasons


@pytest.hookimpl(trylast=True)  # after pytest_nengo's pytest_collection_modifyitems
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if TESTS_DIR in item.path.resolve().parents:
            item.own_markers[:] = [m for m in item.own_markers if not _is_nengo_slow_skip(m)]


@pytest.fixture(params=ENGINES)
def backend(request: pytest.FixtureRequest) -> str:
    """Each engine in turn ("rust", then "numpy"): a test that takes ``backend`` runs on both,
    the numpy engine being the specification the Rust engine must match."""
    return str(request.param)
