"""spikeshard adapter: builds a benchmark network with spikeshard's public API and times it.

Build time is ``Network.build(dt=...)`` plus the construction of the declarative objects;
simulate time is ``Network.run(...)`` on the Rust backend.
"""

from __future__ import annotations

from typing import Any

from _protocol import cpu_now, emit_result, fail, now, run_adapter

try:
    import spikeshard as ss
except ImportError as exc:  # pragma: no cover - depends on the environment
    fail(
        f"spikeshard is not importable with this Python ({exc}); "
        "build it first, e.g. `pip install -e .` or `maturin develop --release`"
    )

_REQUIRED_API = ("Population", "Projection", "Network", "SpikeMonitor", "Uniform", "models")


def _check_api(model: str, *extra: str) -> None:
    """Fail with a clear message while the package does not yet offer what we use."""
    missing = [name for name in (*_REQUIRED_API, *extra) if not hasattr(ss, name)]
    if hasattr(ss, "models") and not hasattr(ss.models, model):
        missing.append(f"models.{model}")
    if missing:
        fail(f"spikeshard lacks API used by the benchmark: {', '.join(missing)}")


def _run(request: dict[str, Any], start: float, populations: list[Any], objects: list[Any]
         ) -> None:
    """Monitor ``populations``, build and run the network of them and ``objects``, then emit
    the result."""
    p = request["params"]
    monitors = [ss.SpikeMonitor(pop) for pop in populations]
    net = ss.Network(*populations, *objects, *monitors, seed=int(request["seed"]),
                     threads=int(request["threads"]))
    net.build(dt=p["dt_s"], backend="rust")
    build_s = now() - start
    sim_start, sim_cpu_start = now(), cpu_now()
    net.run(duration=p["duration_s"], dt=p["dt_s"], backend="rust", progress=False)
    sim_s, sim_cpu_s = now() - sim_start, cpu_now() - sim_cpu_start
    emit_result(
        build_s=build_s,
        sim_s=sim_s,
        n_spikes=sum(int(mon.count) for mon in monitors),
        n_neurons=p["n_neurons"],
        duration_s=p["duration_s"],
        n_synapses=int(getattr(net, "local_synapses", -1)),
        sim_cpu_s=sim_cpu_s,
        spikeshard_version=getattr(ss, "__version__", "?"),
        engine=str(getattr(net, "engine", "?")),
    )


def build_cuba(request: dict[str, Any]) -> None:
    """CUBA with ``models.LIF`` (exponential current synapses, weights in pA)."""
    _check_api("LIF")
    p = request["params"]
    start = now()
    params = {
        "tau_m": p["tau_m_s"],
        "c_m": p["c_m_pf"],
        "v_rest": p["v_rest_mv"],
        "v_th": p["v_th_mv"],
        "v_reset": p["v_reset_mv"],
        "t_ref": p["t_ref_s"],
        "tau_syn_ex": p["tau_syn_exc_s"],
        "tau_syn_in": p["tau_syn_inh_s"],
    }
    initial = {"v": ss.Uniform(p["v_init_low_mv"], p["v_init_high_mv"])}
    exc = ss.Population(ss.models.LIF, n=p["n_exc"], label="exc", params=params, initial=initial)
    inh = ss.Population(ss.models.LIF, n=p["n_inh"], label="inh", params=params, initial=initial)
    projections = [
        ss.Projection(
            pre,
            post,
            weight=weight,
            topology="random",
            probability=p["connection_probability"],
            delay=p["delay_s"],
        )
        for pre, weight in ((exc, p["w_exc_pa"]), (inh, p["w_inh_pa"]))
        for post in (exc, inh)
    ]
    _run(request, start, [exc, inh], projections)


def build_brunel(request: dict[str, Any]) -> None:
    """Brunel network with ``models.LIFDelta``, fixed in-degree and Poisson drive."""
    _check_api("LIFDelta", "PoissonInput")
    p = request["params"]
    start = now()
    params = {
        "tau_m": p["tau_m_s"],
        "v_rest": p["v_rest_mv"],
        "v_th": p["v_th_mv"],
        "v_reset": p["v_reset_mv"],
        "t_ref": p["t_ref_s"],
    }
    initial = {"v": p["v_init_mv"]}
    exc = ss.Population(
        ss.models.LIFDelta, n=p["n_exc"], label="exc", params=params, initial=initial
    )
    inh = ss.Population(
        ss.models.LIFDelta, n=p["n_inh"], label="inh", params=params, initial=initial
    )
    projections = [
        ss.Projection(
            pre,
            post,
            weight=weight,
            topology="fixed_indegree",
            indegree=indegree,
            delay=p["delay_s"],
        )
        for pre, weight, indegree in (
            (exc, p["j_mv"], p["indegree_exc"]),
            (inh, p["j_inh_mv"], p["indegree_inh"]),
        )
        for post in (exc, inh)
    ]
    drives = [
        ss.PoissonInput(target=pop, rate_hz=p["poisson_rate_hz"], weight=p["j_mv"])
        for pop in (exc, inh)
    ]
    _run(request, start, [exc, inh], [*projections, *drives])


def build_hh_tutorial(request: dict[str, Any]) -> None:
    """The SC-NeuroCore tutorial network, written as in the tutorial."""
    _check_api("HodgkinHuxleyNeuron", "PoissonInput")
    p = request["params"]
    start = now()
    exc = ss.Population(ss.models.HodgkinHuxleyNeuron, n=p["n_exc"], label="exc")
    inh = ss.Population(ss.models.HodgkinHuxleyNeuron, n=p["n_inh"], label="inh")
    projections = [
        ss.Projection(pre, post, weight=weight, topology="random", probability=probability)
        for pre, post, weight, probability in (
            (exc, exc, p["w_exc_exc"], p["p_exc_exc"]),
            (exc, inh, p["w_exc_inh"], p["p_exc_inh"]),
            (inh, exc, p["w_inh_exc"], p["p_inh_exc"]),
        )
    ]
    drive = ss.PoissonInput(
        n=p["poisson_n"],
        rate_hz=p["poisson_rate_hz"],
        weight=p["poisson_weight"],
        dt=p["dt_s"],
    )
    _run(request, start, [exc, inh], [*projections, drive])


if __name__ == "__main__":
    run_adapter({"cuba": build_cuba, "brunel": build_brunel, "hh_tutorial": build_hh_tutorial})
