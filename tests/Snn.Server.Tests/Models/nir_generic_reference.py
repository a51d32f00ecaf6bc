#!/usr/bin/python3
"""NumPy float32 transcription of the generic NIR discretisation (docs/nir.md, "Generic discretisation").

Writes tests/data/nirgeneric/<model>.json: per-neuron parameters, inputs, and the spikes (the output:
v for the non-spiking models) and states after every step. NirGenericTraceTests replays them through
the server's kernels and asks for the same float32 bits.

Run from the repository root with Debian's numpy: /usr/bin/python3 tests/Snn.Server.Tests/Models/nir_generic_reference.py
"""
import json
import math
import os

import numpy as np

F32 = np.float32
DT = 0.001  # the network dt in seconds (a Python float, used in double)
BATCH, TIME, NEURONS = 2, 30, 19  # 19 neurons: a full vector and a tail at both Vector widths

# name: (leaky, synaptic, spiking)
MODELS = {
    "I": (False, False, False),
    "LI": (True, False, False),
    "IF": (False, False, True),
    "LIF": (True, False, True),
    "CubaLI": (True, True, False),
    "CubaLIF": (True, True, True),
}


def decay(tau):
    """a = exp(-dt/tau) in double from the float32 tau, rounded to float32 once."""
    return F32(math.exp(-(DT / float(tau))))


def one_minus_decay(tau):
    """b = 1 - exp(-dt/tau) in double, not rounded (multiplied by r or w_in first)."""
    return 1.0 - math.exp(-(DT / float(tau)))


def constants(kind, p):
    leaky, synaptic, _ = kind
    c = {}
    if leaky:
        tau = p["tau_mem"] if synaptic else p["tau"]
        c["a"] = np.array([decay(t) for t in tau], dtype=F32)
        c["gain"] = np.array([F32(float(r) * one_minus_decay(t)) for r, t in zip(p["r"], tau)], dtype=F32)
    else:
        c["gain"] = np.array([F32(float(r) * DT) for r in p["r"]], dtype=F32)
    if synaptic:
        c["a_syn"] = np.array([decay(t) for t in p["tau_syn"]], dtype=F32)
        c["w_gain"] = np.array([F32(float(w) * one_minus_decay(t)) for w, t in zip(p["w_in"], p["tau_syn"])], dtype=F32)
    return c


def step(kind, p, c, v, i, x):
    """One step; every operator is one float32 op (numpy float32 arrays, no FMA)."""
    leaky, synaptic, spiking = kind
    if synaptic:
        i = (c["a_syn"] * i) + (c["w_gain"] * x)
        inp = i
    else:
        inp = x
    if leaky:
        v = (p["v_leak"] + (c["a"] * (v - p["v_leak"]))) + (c["gain"] * inp)
    else:
        v = v + (c["gain"] * inp)
    if spiking:
        fire = v > p["v_threshold"]
        z = np.where(fire, F32(1), F32(0)).astype(F32)
        v = np.where(fire, p["v_reset"], v).astype(F32)
    else:
        z = v.copy()
    return v.astype(F32), (None if i is None else i.astype(F32)), z.astype(F32)


def parameters(name, kind, rng):
    leaky, synaptic, spiking = kind
    u = lambda lo, hi: rng.uniform(lo, hi, NEURONS).astype(F32)
    p = {}
    if synaptic:
        p["tau_syn"] = u(0.002, 0.02)
        p["tau_mem"] = u(0.002, 0.05)
    elif leaky:
        p["tau"] = u(0.002, 0.05)
    p["r"] = u(0.5, 3.0) if leaky else u(200.0, 1000.0)
    if leaky:
        p["v_leak"] = u(-0.2, 0.2)
    if spiking:
        p["v_threshold"] = u(0.5, 1.0)
        p["v_reset"] = u(-0.3, 0.1)
    if synaptic:
        p["w_in"] = u(0.5, 2.0)
    if name == "IF":
        # Neuron 0 reaches its threshold exactly (0.5 + 0.5 = 1.0 with r*dt = 1): strict, so no spike then.
        p["r"][0] = F32(1000.0)
        p["v_threshold"][0] = F32(1.0)
        p["v_reset"][0] = F32(0.0)
    return p


def inputs(name, rng):
    drive = rng.uniform(-0.3, 2.5, (BATCH, 1, NEURONS))
    noise = rng.uniform(-1.0, 1.0, (BATCH, TIME, NEURONS))
    x = (drive + noise).astype(F32)
    x[:, 12:15, :] = F32(0)  # a quiet stretch: leaky models decay towards v_leak
    if name == "IF":
        x[:, :, 0] = F32(0.5)
    return x


def run(name):
    kind = MODELS[name]
    rng = np.random.RandomState(1400 + list(MODELS).index(name))
    p = parameters(name, kind, rng)
    c = constants(kind, p)
    x = inputs(name, rng)
    leaky, synaptic, spiking = kind
    v = np.tile(p["v_leak"] if leaky else np.zeros(NEURONS, F32), (BATCH, 1)).astype(F32)
    i = np.zeros((BATCH, NEURONS), F32) if synaptic else None
    spikes = np.zeros((BATCH, TIME, NEURONS), F32)
    vs = np.zeros((BATCH, TIME, NEURONS), F32)
    cur = np.zeros((BATCH, TIME, NEURONS), F32)
    for t in range(TIME):
        v, i, z = step(kind, p, c, v, i, x[:, t, :])
        spikes[:, t, :] = z
        vs[:, t, :] = v
        if synaptic:
            cur[:, t, :] = i
    states = {"v": vs}
    if synaptic:
        states["I"] = cur
    if spiking:
        assert spikes.sum() > 20, (name, spikes.sum())
    return {
        "model": "nir." + name,
        "generator": "tests/Snn.Server.Tests/Models/nir_generic_reference.py (numpy %s)" % np.__version__,
        "dt": DT,
        "shape": {"batch": BATCH, "time": TIME, "neurons": NEURONS},
        "layout": "[batch][time][neuron]; states are the values after the step; spikes is the output (v when not spiking)",
        "params": {k: lst(a) for k, a in p.items()},
        "derived": {k: lst(a) for k, a in c.items()},
        "input": lst(x),
        "spikes": lst(spikes),
        "states": {k: lst(a) for k, a in states.items()},
    }


def lst(a):
    """float32 values as the shortest decimal that reads back as the same float32."""
    if isinstance(a, np.ndarray) and a.ndim > 0:
        return [lst(e) for e in a]
    return float(np.format_float_scientific(F32(a), unique=True, trim="-"))


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
    out = os.path.join(root, "tests", "data", "nirgeneric")
    os.makedirs(out, exist_ok=True)
    for name in MODELS:
        case = run(name)
        with open(os.path.join(out, "nir_%s.json" % name), "w") as fh:
            json.dump(case, fh, separators=(",", ":"))
            fh.write("\n")
        total = sum(sum(sum(r) for r in b) for b in case["spikes"]) if MODELS[name][2] else None
        print(name, "spikes:", total)


if __name__ == "__main__":
    main()
