"""Brian2 adapter: builds a benchmark network for the ``cpp_standalone`` device and times it.

The whole standalone pipeline runs in one ``device.build(...)`` call: code generation,
compilation, then the binary, which first creates synapses and initial values and then runs
the network. Simulate time is what the binary reports for ``Network::run`` alone
(``device._last_run_time``); build time is everything else from the first Brian2 object to
the end of the binary (so it includes code generation, compilation, synapse creation and
writing results).
"""

from __future__ import annotations

import os
from typing import Any

from _protocol import emit_result, fail, now, run_adapter

try:
    import brian2 as b2
    import numpy as np
except ImportError as exc:  # pragma: no cover - depends on the environment
    fail(f"Brian2 is not importable with this Python: {exc}")

ms = b2.ms
mV = b2.mV
second = b2.second


def _setup(request: dict[str, Any]) -> str:
    """Select the standalone device in a fresh directory; set threads, seed and dt."""
    directory = os.path.join(request["workdir"], "brian2_standalone")
    b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    threads = int(request["threads"])
    # 0 means "no OpenMP"; one OpenMP thread would only add overhead.
    b2.prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
    b2.prefs.logging.console_log_level = "WARNING"
    b2.defaultclock.dt = request["params"]["dt_s"] * second
    b2.seed(int(request["seed"]))
    return directory


def _build_and_run(
    request: dict[str, Any],
    directory: str,
    start: float,
    objects: list[Any],
    monitor: Any,
    namespace: dict[str, Any],
) -> None:
    """Generate, compile and run the project, then emit the result."""
    p = request["params"]
    network = b2.Network(*objects, monitor)
    network.run(p["duration_s"] * second, namespace=namespace)
    b2.device.build(directory=directory, compile=True, run=True, with_output=False)
    total_s = now() - start
    sim_s = float(b2.device._last_run_time)
    n_spikes = int(monitor.num_spikes)
    n_synapses = sum(len(obj) for obj in objects if isinstance(obj, b2.Synapses))
    emit_result(
        build_s=total_s - sim_s,
        sim_s=sim_s,
        n_spikes=n_spikes,
        n_neurons=p["n_neurons"],
        duration_s=p["duration_s"],
        n_synapses=n_synapses,
        brian2_version=b2.__version__,
        brian2_binary_wall_s=b2.device.timers.get("run_binary"),
    )


def build_cuba(request: dict[str, Any]) -> None:
    """Brian2's CUBA example, with the network's synaptic delay (0.1 ms)."""
    p = request["params"]
    directory = _setup(request)
    start = now()
    namespace = {
        "tau_m": p["tau_m_s"] * second,
        "tau_e": p["tau_syn_exc_s"] * second,
        "tau_i": p["tau_syn_inh_s"] * second,
        "v_rest": p["v_rest_mv"] * mV,
        "v_th": p["v_th_mv"] * mV,
        "v_reset": p["v_reset_mv"] * mV,
        "w_e": p["w_exc_mv"] * mV,
        "w_i": p["w_inh_mv"] * mV,
        "v_low": p["v_init_low_mv"] * mV,
        "v_high": p["v_init_high_mv"] * mV,
    }
    equations = """
    dv/dt  = (ge + gi - (v - v_rest)) / tau_m : volt (unless refractory)
    dge/dt = -ge / tau_e : volt
    dgi/dt = -gi / tau_i : volt
    """
    n_exc = p["n_exc"]
    neurons = b2.NeuronGroup(
        n_exc + p["n_inh"],
        equations,
        threshold="v > v_th",
        reset="v = v_reset",
        refractory=p["t_ref_s"] * second,
        method="exact",
        namespace=namespace,
    )
    neurons.v = "v_low + rand() * (v_high - v_low)"
    delay = p["delay_s"] * second
    exc_syn = b2.Synapses(neurons, neurons, on_pre="ge += w_e", delay=delay, namespace=namespace)
    inh_syn = b2.Synapses(neurons, neurons, on_pre="gi += w_i", delay=delay, namespace=namespace)
    exc_syn.connect(f"i < {n_exc}", p=p["connection_probability"])
    inh_syn.connect(f"i >= {n_exc}", p=p["connection_probability"])
    objects = [neurons, exc_syn, inh_syn]
    monitor = b2.SpikeMonitor(neurons, record=False)
    _build_and_run(request, directory, start, objects, monitor, namespace)


def build_brunel(request: dict[str, Any]) -> None:
    """Brunel network matching NEST's ``iaf_psc_delta`` semantics.

    Fixed in-degree with multapses is drawn in numpy (Brian2's generator syntax can only
    fix out-degrees) and passed as explicit index arrays. Input arriving while a neuron is
    refractory is discarded, as in NEST (``refractory_input=False``).
    """
    p = request["params"]
    directory = _setup(request)
    start = now()
    namespace = {
        "tau_m": p["tau_m_s"] * second,
        "v_rest": p["v_rest_mv"] * mV,
        "v_th": p["v_th_mv"] * mV,
        "v_reset": p["v_reset_mv"] * mV,
        "j_exc": p["j_mv"] * mV,
        "j_inh": p["j_inh_mv"] * mV,
    }
    n_exc, n_inh = p["n_exc"], p["n_inh"]
    n_total = n_exc + n_inh
    neurons = b2.NeuronGroup(
        n_total,
        "dv/dt = -(v - v_rest) / tau_m : volt (unless refractory)",
        threshold="v >= v_th",
        reset="v = v_reset",
        refractory=p["t_ref_s"] * second,
        method="exact",
        namespace=namespace,
    )
    neurons.v = p["v_init_mv"] * mV
    rng = np.random.default_rng(int(request["seed"]))
    delay = p["delay_s"] * second
    objects: list[Any] = [neurons]
    for first, count, indegree, weight in (
        (0, n_exc, p["indegree_exc"], "j_exc"),
        (n_exc, n_inh, p["indegree_inh"], "j_inh"),
    ):
        synapses = b2.Synapses(
            neurons,
            neurons,
            on_pre=f"v_post += {weight} * int(not_refractory_post)",
            delay=delay,
            namespace=namespace,
        )
        sources = first + rng.integers(0, count, size=(n_total, indegree), dtype=np.int32)
        targets = np.repeat(np.arange(n_total, dtype=np.int32), indegree)
        synapses.connect(i=sources.ravel(), j=targets)
        objects.append(synapses)
    # Each neuron gets its own Poisson train of rate nu_ext * CE == poisson_rate_hz.
    drive = b2.PoissonInput(
        neurons,
        "v",
        N=p["indegree_exc"],
        rate=p["poisson_rate_hz"] / p["indegree_exc"] * b2.Hz,
        weight="j_exc * int(not_refractory)",
    )
    objects.append(drive)
    monitor = b2.SpikeMonitor(neurons, record=False)
    _build_and_run(request, directory, start, objects, monitor, namespace)


if __name__ == "__main__":
    run_adapter({"cuba": build_cuba, "brunel": build_brunel})
