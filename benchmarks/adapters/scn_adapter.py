"""SC-NeuroCore adapter: runs the tutorial network with ``Network.run(..., backend="rust")``.

The network is written exactly as in SC-NeuroCore's "Tutorial 36: MPI Distributed
Simulation", but run on one process with the Rust backend, as the brief asks.

Timing: ``Network.run`` first copies populations and CSR projections into the Rust
``NetworkRunner`` (Python lists), then calls ``NetworkRunner.run(n_steps)``, then decodes
spikes into the monitors. Only ``NetworkRunner.run`` is counted as simulate time (the runner
class is wrapped to time that call); object construction, the copy into Rust and the
decoding count as build time.

Caveat reported with every result: SC-NeuroCore's Rust path (``Network._run_rust``) does not
apply stimuli, so the tutorial's ``PoissonInput`` is accepted but silently dropped there
(its ``backend="auto"`` would fall back to the pure-Python loop instead, which is far too
slow for this size).
"""

from __future__ import annotations

from typing import Any

from _protocol import cpu_now, emit_result, fail, now, run_adapter

try:
    import sc_neurocore
    import sc_neurocore.network.network as scn_network
    from sc_neurocore.network.monitor import SpikeMonitor
    from sc_neurocore.network.network import Network
    from sc_neurocore.network.population import Population
    from sc_neurocore.network.projection import Projection
    from sc_neurocore.network.stimulus import PoissonInput
    from sc_neurocore.neurons.models.hodgkin_huxley import HodgkinHuxleyNeuron
except ImportError as exc:  # pragma: no cover - depends on the environment
    fail(f"sc-neurocore is not importable with this Python: {exc}")


class _TimedRunner:
    """Delegates to SC-NeuroCore's Rust ``NetworkRunner`` and times its ``run`` call."""

    engine_class: Any = None
    run_s: float = 0.0
    run_cpu_s: float = 0.0

    def __init__(self) -> None:
        self._inner = self.engine_class()

    @classmethod
    def supported_models(cls) -> list[str]:
        return list(cls.engine_class.supported_models())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def run(self, n_steps: int) -> Any:
        start, cpu_start = now(), cpu_now()
        result = self._inner.run(n_steps)
        type(self).run_s += now() - start
        type(self).run_cpu_s += cpu_now() - cpu_start
        return result


def _install_timed_runner() -> None:
    engine_class = scn_network._get_rust_engine()
    if engine_class is False:
        fail("sc-neurocore-engine (Rust NetworkRunner) is not installed or not importable")
    _TimedRunner.engine_class = engine_class
    scn_network._RUST_ENGINE = _TimedRunner


def build_hh_tutorial(request: dict[str, Any]) -> None:
    """The tutorial network; both populations are monitored so the rate covers all."""
    if int(request["threads"]) != 1:
        fail("sc-neurocore's Rust NetworkRunner has no thread-count setting; use --threads 1")
    p = request["params"]
    _install_timed_runner()
    seed = int(request["seed"])
    start = now()
    exc = Population(HodgkinHuxleyNeuron, n=p["n_exc"], label="exc")
    inh = Population(HodgkinHuxleyNeuron, n=p["n_inh"], label="inh")
    exc_exc = Projection(
        exc,
        exc,
        weight=p["w_exc_exc"],
        topology="random",
        probability=p["p_exc_exc"],
        seed=seed,
    )
    exc_inh = Projection(
        exc,
        inh,
        weight=p["w_exc_inh"],
        topology="random",
        probability=p["p_exc_inh"],
        seed=seed + 1,
    )
    inh_exc = Projection(
        inh,
        exc,
        weight=p["w_inh_exc"],
        topology="random",
        probability=p["p_inh_exc"],
        seed=seed + 2,
    )
    drive = PoissonInput(
        n=p["poisson_n"],
        rate_hz=p["poisson_rate_hz"],
        weight=p["poisson_weight"],
        dt=p["dt_s"],
        seed=seed,
    )
    mon_exc = SpikeMonitor(exc)
    mon_inh = SpikeMonitor(inh)
    net = Network(exc, inh, exc_exc, exc_inh, inh_exc, drive, mon_exc, mon_inh, seed=seed)
    net.run(duration=p["duration_s"], dt=p["dt_s"], backend="rust")
    total_s = now() - start
    sim_s = _TimedRunner.run_s
    n_synapses = sum(proj.n_synapses for proj in (exc_exc, exc_inh, inh_exc))
    emit_result(
        build_s=total_s - sim_s,
        sim_s=sim_s,
        n_spikes=mon_exc.count + mon_inh.count,
        n_neurons=p["n_neurons"],
        duration_s=p["duration_s"],
        scn_version=getattr(sc_neurocore, "__version__", "?"),
        n_synapses=n_synapses,
        sim_cpu_s=_TimedRunner.run_cpu_s,
        note="PoissonInput dropped: sc-neurocore's Rust backend does not apply stimuli",
    )


if __name__ == "__main__":
    run_adapter({"hh_tutorial": build_hh_tutorial})
