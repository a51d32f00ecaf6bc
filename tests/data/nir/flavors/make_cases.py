#!/usr/bin/python3
"""Writes the NIR flavour reference cases: <case>.nir (NIR's HDF5 layout) and <case>.json.

The traces are a NumPy float32 transcription of what each library's own NIR importer
builds (see RULES.md for the rules and their sources). Needs only numpy and h5py.

  /usr/bin/python3 make_cases.py          # (re)write every case next to this file
  /usr/bin/python3 make_cases.py --check  # re-derive every case, compare with the files, exit 1 on a difference
  /usr/bin/python3 make_cases.py --validate ../../../../../shared/refcases/cases
      # run the neuron transcriptions on refcases whose traces the libraries produced themselves
"""
import json
import os
import sys

import h5py
import numpy as np

F = np.float32
HERE = os.path.dirname(os.path.abspath(__file__))
NIR_VERSION = "1.0.7"  # what nir v1.0.7+9 (7232ada) writes: its package version

COMMITS = {
    "snntorch": "634fc22385ec5581998e62787bbe39b53662140f",
    "norse": "065a3b45cf13bc8156d18987380f6d26c09f08a2",
    "sinabs": "904eb89398cc4006af4a8ec2d5b7e48fc17b4ba1",
    "nir": "7232ada6d30e1beea78b180a5135b1a3bb3d3bc0",
}
LIMIT = 2.0 ** 18


def f32(x):
    return np.asarray(x, dtype=F)


def num(x):
    """JSON value of a float32 scalar/array: Python floats that round-trip to the float32 exactly."""
    a = np.asarray(x)
    if a.dtype.kind in "iub":
        return a.tolist()
    a = a.astype(F)
    if a.ndim == 0:
        v = float(a)
        return 0.0 if v == 0 else v
    return [num(v) for v in a]


# ---------------------------------------------------------------- NIR file (nir.serialization.write layout)

def node(type_, **fields):
    d = {"type": type_}
    d.update(fields)
    return d


def graph(nodes, edges):
    return {"type": "NIRGraph", "nodes": nodes, "edges": edges}


def write_nir(path, g):
    def rec(group, d):
        for k, v in d.items():
            if k == "nodes":
                sub = group.create_group(k)
                for name, n in v.items():
                    rec(sub.create_group(name), n)
            elif k == "edges":
                group.create_dataset(k, data=[(a, b) for a, b in v])
            elif isinstance(v, str):
                group.create_dataset(k, data=v, dtype=h5py.string_dtype())
            elif isinstance(v, np.ndarray):
                group.create_dataset(k, data=v, dtype=v.dtype, compression="gzip")
            else:
                group.create_dataset(k, data=v)

    with h5py.File(path, "w") as f:
        f.create_dataset("version", data=NIR_VERSION, dtype=h5py.string_dtype())
        rec(f.create_group("node"), g)


# ---------------------------------------------------------------- exact linear layers

def check_exact(y64, terms_abs):
    assert np.all(terms_abs < LIMIT), "sum bound reached 2^18"
    y32 = y64.astype(F)
    assert np.array_equal(y32.astype(np.float64), y64), "linear output not exact in float32"
    return y32


def affine(W, b, x):
    x = np.asarray(x, dtype=np.float64)
    W64 = W.astype(np.float64)
    y = W64 @ x + (0 if b is None else b.astype(np.float64))
    bound = np.abs(W64) @ np.abs(x) + (0 if b is None else np.abs(b.astype(np.float64)))
    return check_exact(y, bound)


def conv2d(W, b, x, pad):
    """x (Cin,H,W), W (Cout,Cin,kh,kw), stride 1, dilation 1, groups 1."""
    x = np.asarray(x, dtype=np.float64)
    cin, h, w = x.shape
    cout, _, kh, kw = W.shape
    xp = np.zeros((cin, h + 2 * pad, w + 2 * pad))
    xp[:, pad:pad + h, pad:pad + w] = x
    oh, ow = h + 2 * pad - kh + 1, w + 2 * pad - kw + 1
    y = np.zeros((cout, oh, ow))
    bound = np.zeros((cout, oh, ow))
    W64 = W.astype(np.float64)
    for o in range(cout):
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, i:i + kh, j:j + kw]
                y[o, i, j] = np.sum(W64[o] * patch) + b[o]
                bound[o, i, j] = np.sum(np.abs(W64[o] * patch)) + abs(b[o])
    return check_exact(y, bound)


def sumpool2d(x, k):
    """torch LPPool2d(norm_type=1) as sinabs.layers.SumPool2d / norse use it:
    sign(a)*relu(|a|) * (k*k) with a = avg_pool2d(x) = fl(sum/(k*k)); x**1.0 and pow(1.0) are exact."""
    x = np.asarray(x, dtype=np.float64)
    c, h, w = x.shape
    s = check_exact(x.reshape(c, h // k, k, w // k, k).sum(axis=(2, 4)),
                    np.abs(x).reshape(c, h // k, k, w // k, k).sum(axis=(2, 4)))
    a = s / F(k * k)
    return (np.sign(a) * np.maximum(np.abs(a), F(0))) * F(k * k)


# ---------------------------------------------------------------- neuron transcriptions (float32, written op order)

def H(x):
    return (x > F(0)).astype(F)


class SnntorchLeaky:
    """snntorch.Leaky.forward, init_hidden state, reset_delay=False (snntorch/_neurons/leaky.py)."""

    def __init__(self, beta, threshold, reset_mechanism, reset_delay=False):
        self.beta = np.clip(f32(beta), F(0), F(1))
        self.thr = F(threshold)
        self.mech = reset_mechanism
        self.reset_delay = reset_delay
        self.mem = None

    def step(self, x):
        x = f32(x)
        if self.mem is None:
            self.mem = np.zeros_like(x)
        reset = H(self.mem - self.thr)
        if self.mech == "subtract":
            mem = (self.beta * self.mem + x) - reset * self.thr
        elif self.mech == "zero":
            self.mem = (F(1) - reset) * self.mem
            mem = self.beta * self.mem + x
        else:
            mem = self.beta * self.mem + x
        spk = H(mem - self.thr)
        if not self.reset_delay:
            do = spk / F(1) - reset
            if self.mech == "subtract":
                mem = mem - do * self.thr
            elif self.mech == "zero":
                mem = mem - do * mem
        self.mem = mem
        return spk, {"mem": mem}


class SnntorchSynaptic:
    """snntorch.Synaptic.forward, init_hidden state, reset_delay=False (snntorch/_neurons/synaptic.py)."""

    def __init__(self, alpha, beta, threshold, reset_mechanism, reset_delay=False):
        self.alpha = np.clip(f32(alpha), F(0), F(1))
        self.beta = np.clip(f32(beta), F(0), F(1))
        self.thr = F(threshold)
        self.mech = reset_mechanism
        self.reset_delay = reset_delay
        self.syn = None
        self.mem = None

    def step(self, x):
        x = f32(x)
        if self.syn is None:
            self.syn = np.zeros_like(x)
            self.mem = np.zeros_like(x)
        reset = H(self.mem - self.thr)
        syn = self.alpha * self.syn + x
        mem = self.beta * self.mem + syn
        if self.mech == "subtract":
            mem = mem - reset * self.thr
        elif self.mech == "zero":
            mem2 = self.beta * self.mem + (self.alpha * self.syn + x)
            syn = syn - F(0) * reset
            mem = mem - mem2 * reset
        spk = H(mem - self.thr)
        if not self.reset_delay:
            do = spk / F(1) - reset
            if self.mech == "subtract":
                mem = mem - do * self.thr
            elif self.mech == "zero":
                mem = mem - do * mem
        self.syn, self.mem = syn, mem
        return spk, {"syn": syn, "mem": mem}


class SnntorchRLeaky:
    """snntorch.RLeaky.forward, reset 'zero', reset_delay=False, all_to_all Linear (snntorch/_neurons/rleaky.py)."""

    def __init__(self, beta, threshold, W, b):
        self.beta = np.clip(f32(beta), F(0), F(1))
        self.thr = F(threshold)
        self.W, self.b = W, b
        self.mem = None
        self.spk = None

    def step(self, x):
        x = f32(x)
        if self.mem is None:
            self.mem = np.zeros_like(x)
            self.spk = np.zeros_like(x)
        reset = H(self.mem - self.thr)
        base = (self.beta * self.mem + x) + affine(self.W, self.b, self.spk)
        mem = base - reset * base
        spk = H(mem - self.thr)
        do = spk / F(1) - reset
        mem = mem - do * mem
        self.mem, self.spk = mem, spk
        return spk, {"mem": mem}


class SinabsLIF:
    """sinabs lif_forward_single: LIFSqueeze / IAFSqueeze / ExpLeakSqueeze as sinabs/nir.py builds them."""

    def __init__(self, alpha_mem, thr, min_v_mem, spiking=True):
        self.alpha = f32(alpha_mem)
        self.thr = None if thr is None else f32(thr)
        self.min_v = None if min_v_mem is None else f32(min_v_mem)
        self.spiking = spiking
        self.v = None

    def step(self, x):
        x = f32(x)
        if self.v is None:
            self.v = np.zeros_like(x)
        v = self.alpha * self.v + x  # norm_input=False: i_syn = x
        if self.spiking:
            q = v / self.thr
            s = ((v > F(0)).astype(F) * np.trunc(q)).astype(F)  # MultiSpike
            v = v - s * self.thr  # MembraneSubtract
        else:
            s = v.copy()
        if self.min_v is not None:
            v = np.maximum(v - self.min_v, F(0)) + self.min_v
        self.v = v
        return s, {"v_mem": v}


class NorseLIFBox:
    """norse lif_box_feed_forward_step (functional/lif_box.py), reset_value with v_reset=0."""

    def __init__(self, tau_mem_inv, v_th, v_leak, dt):
        self.c = F(dt) * f32(tau_mem_inv)  # dt * p.tau_mem_inv, dt rounded to float32
        self.v_th = f32(v_th)
        self.v_leak = f32(v_leak)
        self.v_reset = F(0)
        self.v = self.v_leak.copy()  # LIFBoxCell.initial_state: v = v_leak

    def step(self, x):
        x = f32(x)
        dv = self.c * ((x + self.v_leak) - self.v)
        v_dec = self.v + dv
        z = H(v_dec - self.v_th)
        self.v = (F(1) - z) * v_dec + z * self.v_reset
        return z, {"v": self.v}


class NorseLIBox:
    """norse li_box_feed_forward_step (functional/leaky_integrator_box.py); output is v."""

    def __init__(self, tau_mem_inv, v_leak, dt):
        self.c = F(dt) * f32(tau_mem_inv)
        self.v_leak = f32(v_leak)
        self.v = self.v_leak.copy()  # LIBoxCell.initial_state: v = v_leak

    def step(self, x):
        x = f32(x)
        dv = self.c * ((self.v_leak - self.v) + x)
        self.v = self.v + dv
        return self.v, {"v": self.v}


class NorseIAF:
    """norse iaf_feed_forward_step (functional/iaf.py), v_reset = 0 (IAFParameters default)."""

    def __init__(self, v_th):
        self.v_th = f32(v_th)
        self.v_reset = F(0)
        self.v = F(0)  # IAFCell.initial_state: v = v_reset

    def step(self, x):
        x = f32(x)
        v = self.v + x
        z = H(v - self.v_th)
        self.v = (F(1) - z) * v + z * self.v_reset
        return z, {"v": self.v}


class NorseCubaLIF:
    """CubaLIF wrapper in norse/torch/utils/import_nir.py: w_in*x -> LIBoxCell(tau_syn, v_leak) -> r*i -> LIFBoxCell."""

    def __init__(self, w_in, tau_syn_inv, r, tau_mem_inv, v_th, v_leak, dt):
        self.w_in = f32(w_in)
        self.r = f32(r)
        self.syn = NorseLIBox(tau_syn_inv, v_leak, dt)
        self.lif = NorseLIFBox(tau_mem_inv, v_th, v_leak, dt)

    def step(self, x):
        x = self.w_in * f32(x)
        i, _ = self.syn.step(x)
        x = self.r * i
        z, st = self.lif.step(x)
        return z, {"i": self.syn.v, "v": st["v"]}


# ---------------------------------------------------------------- helpers for cases

def rng_for(name):
    return np.random.RandomState(sum(ord(c) * (i + 1) for i, c in enumerate(name)) % (2 ** 31))


def dyadic(rng, shape, lo, hi, den=64):
    return (rng.randint(int(lo * den), int(hi * den) + 1, size=shape) / den).astype(F)


def spikes(rng, T, n, p):
    return (rng.rand(T, n) < p).astype(F)


def lin_nodes(W, b):
    return node("Affine", weight=W, bias=b) if b is not None else node("Linear", weight=W)


class Trace:
    def __init__(self):
        self.rows = {}

    def add(self, key, arr):
        self.rows.setdefault(key, []).append(num(np.asarray(arr).reshape(-1)))


def finish(case, flavor, dt, dt_note, T, in_name, in_shape, inputs, outputs, modules, states, g, notes):
    doc = {
        "schema": "snn-nir-flavor/1",
        "case": case,
        "flavor": flavor,
        "library": flavor,
        "commit": COMMITS[flavor],
        "nir_commit": COMMITS["nir"],
        "dtype": "float32",
        "dt": dt,
        "dt_note": dt_note,
        "steps": T,
        "input": {"node": in_name, "shape": list(in_shape), "values": [num(np.asarray(r).reshape(-1)) for r in inputs]},
        "outputs": outputs,
        "modules": modules,
        "states": states,
        "notes": notes,
    }
    return doc, g


# ---------------------------------------------------------------- snntorch cases

SNN_DT = F(1e-4)  # import_nir.py hard-codes dt = 1e-4 for LIF and CubaLIF


def snn_export_lif(beta, thr):
    """nir.LIF as snntorch export_nir.py writes a Leaky: tau = dt/(1-beta), r = tau/dt, float32."""
    beta = f32(beta)
    tau = SNN_DT / (F(1) - beta)
    r = tau / SNN_DT
    return node("LIF", tau=tau, r=r, v_leak=np.zeros_like(beta), v_threshold=f32(thr),
                v_reset=np.zeros_like(f32(thr)))


def snn_export_cubalif(alpha, beta, thr):
    alpha, beta = f32(alpha), f32(beta)
    tau_syn = SNN_DT / (F(1) - alpha)
    tau_mem = SNN_DT / (F(1) - beta)
    r = tau_mem / SNN_DT
    w_in = tau_syn / SNN_DT
    return node("CubaLIF", tau_syn=tau_syn, tau_mem=tau_mem, r=r, v_leak=np.zeros_like(beta),
                v_reset=np.zeros_like(f32(thr)), v_threshold=f32(thr), w_in=w_in)


def snn_import_lif(n):
    """import_nir.py _nir_to_snntorch_module, nir.LIF branch (hack_w_scale=True)."""
    tau, r, vthr = n["tau"], n["r"], n["v_threshold"]
    dt, one = tau.dtype.type(1e-4), tau.dtype.type(1)  # numpy computes in the file's dtype
    assert np.allclose(n["v_leak"], 0.0)
    assert np.unique(vthr).size == 1
    beta = one - (dt / tau)
    w_scale = r * dt / tau
    if not np.allclose(w_scale, 1.0):
        vthr = vthr / np.unique(w_scale)[0]  # the smallest w_scale
    assert np.unique(vthr).size == 1
    thr = np.unique(vthr)[0]
    beta, thr = f32(beta), F(thr)  # nirtorch: owning_module.to(dtype=torch.float32)
    return SnntorchLeaky(beta, thr, "zero"), {
        "class": "snntorch.Leaky",
        "params": {"beta": num(beta), "threshold": num(thr), "reset_mechanism": "zero", "reset_delay": False,
                   "init_hidden": True, "spike_grad": "atan (forward: x > 0)", "graded_spikes_factor": 1.0,
                   "w_scale": num(w_scale)}}


def snn_import_cubalif(n):
    """import_nir.py _nir_to_snntorch_module, nir.CubaLIF branch (hack_w_scale=True)."""
    assert np.allclose(n["v_leak"], 0)
    assert np.allclose(n["r"], n["tau_mem"] / SNN_DT)
    alpha = F(1) - (SNN_DT / n["tau_syn"])
    beta = F(1) - (SNN_DT / n["tau_mem"])
    vthr = n["v_threshold"]
    w_scale = n["w_in"] * (SNN_DT / n["tau_syn"])
    if not np.allclose(w_scale, 1.0):
        vthr = vthr / w_scale
    assert np.unique(vthr).size == 1
    if np.unique(alpha).size == 1:
        alpha = np.unique(alpha)[0]
    if np.unique(beta).size == 1:
        beta = np.unique(beta)[0]
    thr = F(float(np.unique(vthr)[0]))
    return SnntorchSynaptic(alpha, beta, thr, "zero"), {
        "class": "snntorch.Synaptic",
        "params": {"alpha": num(alpha), "beta": num(beta), "threshold": num(thr), "reset_mechanism": "zero",
                   "reset_delay": False, "init_hidden": True, "spike_grad": "atan (forward: x > 0)",
                   "w_scale": num(w_scale)}}


def snn_import_if(n):
    """import_nir.py nir.IF branch: snn.Leaky(beta=0.9, threshold=vthr*r, init_hidden=False, reset_delay=False)."""
    assert np.unique(n["v_threshold"]).size == 1 and np.unique(n["r"]).size == 1
    vthr, r = np.unique(n["v_threshold"])[0], np.unique(n["r"])[0]
    assert r == 1
    thr = vthr * r
    return SnntorchLeaky(F(0.9), thr, "subtract"), {
        "class": "snntorch.Leaky",
        "params": {"beta": num(F(0.9)), "threshold": num(thr), "reset_mechanism": "subtract", "reset_delay": False,
                   "init_hidden": False, "spike_grad": "atan (forward: x > 0)", "graded_spikes_factor": 1.0}}


def affine_module(W, b, cls="torch.nn.Linear"):
    p = {"weight": num(W)}
    p["bias"] = num(b) if b is not None else None
    return {"class": cls, "params": p}


def case_snntorch_lif_cubalif():
    name, T = "snntorch_lif_cubalif", 32
    rng = rng_for(name)
    W1, b1 = dyadic(rng, (6, 4), -0.5, 1.0), dyadic(rng, (6,), 0.0, 0.25)
    W2, b2 = dyadic(rng, (3, 6), -0.0625, 0.25), dyadic(rng, (3,), 0.0, 0.015625)
    lif = snn_export_lif([0.9, 0.8, 0.95, 0.85, 0.7, 0.9], [1.0] * 6)
    cuba = snn_export_cubalif([0.8] * 3, [0.9, 0.75, 0.85], [1.0] * 3)
    g = graph({"input": node("Input", shape=np.array([4])),
               "fc1": lin_nodes(W1, b1), "lif1": lif,
               "fc2": lin_nodes(W2, b2), "cuba": cuba,
               "output": node("Output", shape=np.array([3]))},
              [("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "cuba"), ("cuba", "output")])
    m_lif, d_lif = snn_import_lif(lif)
    m_cuba, d_cuba = snn_import_cubalif(cuba)
    x = spikes(rng, T, 4, 0.5)
    tr = Trace()
    for t in range(T):
        s1, st1 = m_lif.step(affine(W1, b1, x[t]))
        s2, st2 = m_cuba.step(affine(W2, b2, s1))
        tr.add("lif1.spk", s1); tr.add("lif1.mem", st1["mem"])
        tr.add("cuba.syn", st2["syn"]); tr.add("cuba.mem", st2["mem"]); tr.add("out", s2)
    return finish(name, "snntorch", 0.0001, "snntorch ignores the requested dt: import_nir.py hard-codes dt = 1e-4",
                  T, "input", [4], x, {"output": {"kind": "spikes", "values": tr.rows["out"]}},
                  {"fc1": affine_module(W1, b1), "lif1": d_lif, "fc2": affine_module(W2, b2), "cuba": d_cuba},
                  {"lif1": {"spk": tr.rows["lif1.spk"], "mem": tr.rows["lif1.mem"]},
                   "cuba": {"syn": tr.rows["cuba.syn"], "mem": tr.rows["cuba.mem"]}},
                  g, ["graph executed by nirtorch.nir_to_torch in topological order, one call = one step"])


def case_snntorch_lif_f64():
    """A float64 file that was not written by snntorch (r = 1): beta computed in float64 then rounded to
    float32; w_scale = r*dt/tau != 1, so the threshold is divided by the smallest w_scale."""
    name, T = "snntorch_lif_f64", 32
    rng = rng_for(name)
    W, b = dyadic(rng, (5, 4), -0.25, 1.0).astype(np.float64), dyadic(rng, (5,), 0.0, 0.25).astype(np.float64)
    lif = node("LIF", tau=np.array([0.002, 0.003, 0.0025, 0.002, 0.004]), r=np.ones(5), v_leak=np.zeros(5),
               v_threshold=np.full(5, 0.05), v_reset=np.zeros(5))
    g = graph({"input": node("Input", shape=np.array([4])), "fc": lin_nodes(W, b), "lif": lif,
               "output": node("Output", shape=np.array([5]))},
              [("input", "fc"), ("fc", "lif"), ("lif", "output")])
    m, d = snn_import_lif(lif)
    x = spikes(rng, T, 4, 0.5)
    tr = Trace()
    for t in range(T):
        s_, st = m.step(affine(W, b, x[t]))
        tr.add("out", s_); tr.add("mem", st["mem"])
    return finish(name, "snntorch", 0.0001, "snntorch ignores the requested dt: import_nir.py hard-codes dt = 1e-4",
                  T, "input", [4], x, {"output": {"kind": "spikes", "values": tr.rows["out"]}},
                  {"fc": affine_module(W, b), "lif": d}, {"lif": {"mem": tr.rows["mem"]}}, g,
                  ["parameters are float64 in the file: beta = 1 - 1e-4/tau and threshold are computed in float64, "
                   "then rounded to float32 by nirtorch's .to(dtype=float32); weights by torch.Tensor()",
                   "w_scale = r*1e-4/tau = [0.05, 0.0333, 0.04, 0.05, 0.025] != 1: threshold = 0.05 / min(w_scale) "
                   "= 2.0 for every neuron (hack_w_scale); the input is not scaled"])


def case_snntorch_if():
    name, T = "snntorch_if", 30
    rng = rng_for(name)
    W, b = dyadic(rng, (5, 4), -0.25, 0.75), dyadic(rng, (5,), 0.0, 0.125)
    n_if = node("IF", r=np.ones(5, F), v_threshold=np.full(5, 1.0, F), v_reset=np.zeros(5, F))
    g = graph({"input": node("Input", shape=np.array([4])), "fc": lin_nodes(W, b), "if1": n_if,
               "output": node("Output", shape=np.array([5]))},
              [("input", "fc"), ("fc", "if1"), ("if1", "output")])
    m, d = snn_import_if(n_if)
    x = spikes(rng, T, 4, 0.5)
    tr = Trace()
    for t in range(T):
        s, st = m.step(affine(W, b, x[t]))
        tr.add("out", s); tr.add("mem", st["mem"])
    return finish(name, "snntorch", 0.0001, "dt not used by the IF branch",
                  T, "input", [4], x, {"output": {"kind": "spikes", "values": tr.rows["out"]}},
                  {"fc": affine_module(W, b), "if1": d}, {"if1": {"mem": tr.rows["mem"]}}, g,
                  ["nir.IF becomes snn.Leaky(beta=0.9): a LEAKY neuron with subtract reset; NIR's IF has no leak",
                   "init_hidden=False: the module returns (spk, mem); nirtorch passes that tuple on, so an IF "
                   "only works when it feeds the Output node directly (this case); output = spk"])


def snn_recurrent_case(name, T, cuba):
    rng = rng_for(name)
    s = 0.375 if cuba else 1.0
    W, b = dyadic(rng, (5, 4), -0.25 * s, 0.75 * s), dyadic(rng, (5,), 0.0, 0.125 * s)
    Wr, br = dyadic(rng, (5, 5), -0.5 * s, 0.5 * s), dyadic(rng, (5,), -0.0625 * s, 0.0625 * s)
    if cuba:
        neuron = snn_export_cubalif([0.8] * 5, [0.9, 0.85, 0.8, 0.9, 0.95], [1.0] * 5)
        m, d = snn_import_cubalif(neuron)
    else:
        neuron = snn_export_lif([0.9, 0.85, 0.8, 0.9, 0.95], [1.0] * 5)
        m, d = snn_import_lif(neuron)
    sub = graph({"input": node("Input", shape=np.array([5])), "lif": neuron, "w_rec": lin_nodes(Wr, br),
                 "output": node("Output", shape=np.array([5]))},
                [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")])
    # "lin", not "fc": nirtorch pops nodes in file (alphabetical) order rotated to start at the Input; a
    # subgraph popped before its predecessor is converted twice and nir_to_torch raises (RULES.md 0.1)
    g = graph({"input": node("Input", shape=np.array([4])), "lin": lin_nodes(W, b), "rnn": sub,
               "output": node("Output", shape=np.array([5]))},
              [("input", "lin"), ("lin", "rnn"), ("rnn", "output")])
    x = spikes(rng, T, 4, 0.4)
    alt = None
    if not cuba:  # what the dead NIRGraph branch of _nir_to_snntorch_module would build: RLeaky
        alt_m = SnntorchRLeaky(d["params"]["beta"], d["params"]["threshold"], Wr, br)
        alt = [num(alt_m.step(affine(W, b, x[t]))[0]) for t in range(T)]
    tr = Trace()
    rec = np.zeros(1, F)  # nirtorch: state.get("w_rec_prev_output", torch.zeros(1)) at the first step
    for t in range(T):
        inp = affine(W, b, x[t]) + rec  # nirtorch torch.add of the two inputs of "lif" (exact: both dyadic)
        s, st = m.step(inp)
        rec = affine(Wr, br, s)
        tr.add("out", s)
        for k, v in st.items():
            tr.add(k, v)
        tr.add("rec", rec)
    states = {"rnn.lif": {k: tr.rows[k] for k in st}, "rnn.w_rec": {"out": tr.rows["rec"]}}
    mods = {"lin": affine_module(W, b), "rnn": {"class": "nirtorch GraphModule (subgraph)", "params": {}},
            "rnn.lif": d, "rnn.w_rec": affine_module(Wr, br)}
    kind = "Synaptic" if cuba else "Leaky"
    notes = []
    if alt is not None:
        notes.append({"alternative": "snntorch.RLeaky(beta, threshold, reset_mechanism='zero', reset_delay=False, "
                                     "all_to_all=True, linear_features=5, recurrent = Linear(w_rec)) as the unreached "
                                     "NIRGraph branch would build it; NOT what import_from_nir runs at this commit",
                      "output": alt})
    else:
        notes.append("the unreached NIRGraph branch would build RSynaptic(reset_delay=False), whose forward raises "
                     "TypeError at the first step (None / tensor in its do_reset line); no alternative trace")
    doc, g = finish(name, "snntorch", 0.0001, "snntorch ignores the requested dt: import_nir.py hard-codes dt = 1e-4",
                  T, "input", [4], x, {"output": {"kind": "spikes", "values": tr.rows["out"]}}, mods, states, g,
                  ["the recurrent subgraph is a nested NIRGraph as export_nir.py writes RLeaky/RSynaptic",
                   f"import_from_nir at this commit does NOT build R{kind}: nirtorch.nir_to_torch recurses into the "
                   f"NIRGraph node and maps its LIF with the plain branch (snn.{kind}, reset zero, reset_delay False) and "
                   "w_rec with torch.nn.Linear; the feedback is nirtorch's '<w_rec>_prev_output' state: "
                   "lif input(t) = lin(x(t)) + w_rec(spk(t-1)), and 0 at t=0 (the w_rec bias is NOT added at t=0)"])
    doc["notes"].extend(notes)
    return doc, g


def case_snntorch_rleaky():
    return snn_recurrent_case("snntorch_rleaky", 32, cuba=False)


def case_snntorch_rsynaptic():
    return snn_recurrent_case("snntorch_rsynaptic", 32, cuba=True)


# ---------------------------------------------------------------- sinabs cases

def sinabs_lif_module(n):
    """sinabs/nir.py _import_sinabs_module, nir.LIF: LIFSqueeze(tau_mem=tau, spike_threshold=v_threshold,
    min_v_mem=None, tau_syn=None, norm_input=False); r and v_reset are not read."""
    assert not any(np.asarray(n["v_leak"]).reshape(-1))
    tau = f32(n["tau"])
    alpha = np.exp((F(-1.0) / tau).astype(np.float64)).astype(F)  # torch.exp(-1.0 / tau_mem), float32
    return SinabsLIF(alpha, n["v_threshold"], None), {
        "class": "sinabs.layers.LIFSqueeze",
        "params": {"tau_mem": num(tau), "alpha_mem": num(alpha), "spike_threshold": num(n["v_threshold"]),
                   "spike_fn": "MultiSpike", "reset_fn": "MembraneSubtract", "min_v_mem": None, "tau_syn": None,
                   "norm_input": False}}


def sinabs_if_module(n):
    """nir.IF: IAFSqueeze(spike_threshold=v_threshold, min_v_mem=-v_threshold); r and v_reset are not read."""
    thr = f32(n["v_threshold"])
    return SinabsLIF(F(1.0), thr, -thr), {
        "class": "sinabs.layers.IAFSqueeze",
        "params": {"alpha_mem": 1.0, "spike_threshold": num(thr), "min_v_mem": num(-thr), "spike_fn": "MultiSpike",
                   "reset_fn": "MembraneSubtract", "norm_input": False}}


def sinabs_li_module(n):
    """nir.LI: ExpLeakSqueeze(tau_mem=tau, min_v_mem=None, norm_input=False); requires v_leak == 0, r == 1."""
    assert not any(np.asarray(n["v_leak"]).reshape(-1) != 0) and not any(np.asarray(n["r"]).reshape(-1) != 1)
    tau = f32(n["tau"])
    alpha = np.exp((F(-1.0) / tau).astype(np.float64)).astype(F)
    return SinabsLIF(alpha, None, None, spiking=False), {
        "class": "sinabs.layers.ExpLeakSqueeze",
        "params": {"tau_mem": num(tau), "alpha_mem": num(alpha), "min_v_mem": None, "norm_input": False}}


SINABS_DT_NOTE = "sinabs ignores dt: tau is in time steps (alpha = exp(-1/tau))"


def case_sinabs_lif_if():
    name, T = "sinabs_lif_if", 32
    rng = rng_for(name)
    W1, b1 = dyadic(rng, (6, 4), -0.25, 1.0), dyadic(rng, (6,), 0.0, 0.25)
    W2, b2 = dyadic(rng, (3, 6), -0.5, 1.0), dyadic(rng, (3,), -0.125, 0.125)
    lif = node("LIF", tau=f32([4, 6, 8, 10, 5, 20]), r=np.ones(6, F), v_leak=np.zeros(6, F),
               v_threshold=f32([1.0, 1.0, 0.75, 1.0, 1.5, 1.0]), v_reset=np.zeros(6, F))
    n_if = node("IF", r=np.ones(3, F), v_threshold=f32([1.0, 2.0, 1.5]), v_reset=np.zeros(3, F))
    g = graph({"input": node("Input", shape=np.array([4])), "fc1": lin_nodes(W1, b1), "lif": lif,
               "fc2": lin_nodes(W2, b2), "if1": n_if, "output": node("Output", shape=np.array([3]))},
              [("input", "fc1"), ("fc1", "lif"), ("lif", "fc2"), ("fc2", "if1"), ("if1", "output")])
    m1, d1 = sinabs_lif_module(lif)
    m2, d2 = sinabs_if_module(n_if)
    x = spikes(rng, T, 4, 0.5)
    tr = Trace()
    for t in range(T):
        s1, st1 = m1.step(affine(W1, b1, x[t]))
        s2, st2 = m2.step(affine(W2, b2, s1))
        tr.add("s1", s1); tr.add("v1", st1["v_mem"]); tr.add("s2", s2); tr.add("v2", st2["v_mem"])
    return finish(name, "sinabs", 1.0, SINABS_DT_NOTE, T, "input", [4], x,
                  {"output": {"kind": "spikes", "values": tr.rows["s2"]}},
                  {"fc1": affine_module(W1, b1), "lif": d1, "fc2": affine_module(W2, b2), "if1": d2},
                  {"lif": {"spikes": tr.rows["s1"], "v_mem": tr.rows["v1"]}, "if1": {"v_mem": tr.rows["v2"]}}, g,
                  ["spikes are MultiSpike counts (can exceed 1)"])


def case_sinabs_li():
    name, T = "sinabs_li", 24
    rng = rng_for(name)
    W, b = dyadic(rng, (3, 4), -0.5, 1.0), dyadic(rng, (3,), -0.125, 0.125)
    li = node("LI", tau=f32([2, 5, 10]), r=np.ones(3, F), v_leak=np.zeros(3, F))
    g = graph({"input": node("Input", shape=np.array([4])), "fc": lin_nodes(W, b), "li": li,
               "output": node("Output", shape=np.array([3]))},
              [("input", "fc"), ("fc", "li"), ("li", "output")])
    m, d = sinabs_li_module(li)
    x = spikes(rng, T, 4, 0.5)
    tr = Trace()
    for t in range(T):
        v, _ = m.step(affine(W, b, x[t]))
        tr.add("v", v)
    return finish(name, "sinabs", 1.0, SINABS_DT_NOTE, T, "input", [4], x,
                  {"output": {"kind": "v", "values": tr.rows["v"]}},
                  {"fc": affine_module(W, b), "li": d}, {"li": {"v_mem": tr.rows["v"]}}, g,
                  ["ExpLeak returns v_mem itself as its output"])


def case_sinabs_conv():
    name, T = "sinabs_conv", 24
    rng = rng_for(name)
    Wc = dyadic(rng, (2, 1, 3, 3), -0.25, 0.5)
    bc = dyadic(rng, (2,), 0.0, 0.125)
    Wf, bf = dyadic(rng, (4, 18), -0.0625, 0.09375), dyadic(rng, (4,), 0.0, 0.0625)
    thr_if = np.full((2, 6, 6), 1.0, F)
    thr_if[1] = 0.75
    n_if = node("IF", r=np.ones((2, 6, 6), F), v_threshold=thr_if, v_reset=np.zeros((2, 6, 6), F))
    lif = node("LIF", tau=f32([3, 5, 8, 12]), r=np.ones(4, F), v_leak=np.zeros(4, F),
               v_threshold=f32([1.0, 1.0, 2.0, 1.5]), v_reset=np.zeros(4, F))
    g = graph({"input": node("Input", shape=np.array([1, 6, 6])),
               "conv": node("Conv2d", input_shape=np.array([6, 6]), weight=Wc, stride=np.array([1, 1]),
                            padding=np.array([1, 1]), dilation=np.array([1, 1]), groups=1, bias=bc),
               "if1": n_if,
               "pool": node("SumPool2d", kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                            padding=np.array([0, 0])),
               "flat": node("Flatten", start_dim=0, end_dim=-1, input_type=np.array([2, 3, 3])),
               "fc": lin_nodes(Wf, bf), "lif": lif, "output": node("Output", shape=np.array([4]))},
              [("input", "conv"), ("conv", "if1"), ("if1", "pool"), ("pool", "flat"), ("flat", "fc"),
               ("fc", "lif"), ("lif", "output")])
    m1, d1 = sinabs_if_module(n_if)
    m2, d2 = sinabs_lif_module(lif)
    x = spikes(rng, T, 36, 0.4).reshape(T, 1, 6, 6)
    tr = Trace()
    for t in range(T):
        c = conv2d(Wc, bc, x[t], 1)
        s1, st1 = m1.step(c)
        p = sumpool2d(s1, 2)
        s2, st2 = m2.step(affine(Wf, bf, p.reshape(-1)))
        tr.add("s1", s1); tr.add("v1", st1["v_mem"]); tr.add("s2", s2); tr.add("v2", st2["v_mem"])
    mods = {"conv": {"class": "torch.nn.Conv2d", "params": {"weight": num(Wc), "bias": num(bc), "stride": [1, 1],
                                                            "padding": [1, 1], "dilation": [1, 1], "groups": 1}},
            "if1": d1,
            "pool": {"class": "sinabs.layers.SumPool2d", "params": {"kernel_size": [2, 2], "stride": [2, 2]}},
            "flat": {"class": "torch.nn.Flatten", "params": {"start_dim": 1, "end_dim": -1}},
            "fc": affine_module(Wf, bf), "lif": d2}
    return finish(name, "sinabs", 1.0, SINABS_DT_NOTE, T, "input", [1, 6, 6], x,
                  {"output": {"kind": "spikes", "values": tr.rows["s2"]}}, mods,
                  {"if1": {"spikes": tr.rows["s1"], "v_mem": tr.rows["v1"]},
                   "lif": {"spikes": tr.rows["s2"], "v_mem": tr.rows["v2"]}}, g,
                  ["shaped populations are C-major (c*H*W + y*W + x)",
                   "Flatten: sinabs adds 1 to start_dim/end_dim >= 0 for the batch dimension",
                   "SumPool2d: sinabs ignores NIR padding"])


# ---------------------------------------------------------------- norse cases

NORSE_DT = 0.001


def norse_lif_module(n, dt):
    tau_inv = F(1) / f32(n["tau"])  # 1 / _to_tensor(node.tau)
    return NorseLIFBox(tau_inv, n["v_threshold"], n["v_leak"], dt), {
        "class": "norse.torch.LIFBoxCell",
        "params": {"tau_mem_inv": num(tau_inv), "v_th": num(n["v_threshold"]), "v_leak": num(n["v_leak"]),
                   "v_reset": 0.0, "method": "super", "reset_method": "reset_value", "dt": dt,
                   "dt_times_tau_mem_inv": num(F(dt) * tau_inv)}}


def norse_li_module(n, dt):
    tau_inv = F(1) / f32(n["tau"])
    return NorseLIBox(tau_inv, n["v_leak"], dt), {
        "class": "norse.torch.LIBoxCell",
        "params": {"tau_mem_inv": num(tau_inv), "v_leak": num(n["v_leak"]), "dt": dt,
                   "dt_times_tau_mem_inv": num(F(dt) * tau_inv)}}


def case_norse_lif_li():
    name, T = "norse_lif_li", 32
    rng = rng_for(name)
    W1, b1 = dyadic(rng, (6, 4), -1.0, 3.0), dyadic(rng, (6,), 0.0, 1.0)
    W2, b2 = dyadic(rng, (3, 6), -0.5, 1.0), dyadic(rng, (3,), -0.125, 0.125)
    lif = node("LIF", tau=f32([0.01, 0.02, 0.005, 0.01, 0.015, 0.01]), r=np.ones(6, F), v_leak=np.zeros(6, F),
               v_threshold=f32([1.0, 1.0, 0.5, 1.5, 1.0, 1.0]), v_reset=np.zeros(6, F))
    li = node("LI", tau=f32([0.005, 0.01, 0.02]), r=np.ones(3, F), v_leak=np.zeros(3, F))
    g = graph({"input": node("Input", shape=np.array([4])), "fc1": lin_nodes(W1, b1), "lif": lif,
               "fc2": lin_nodes(W2, b2), "li": li, "output": node("Output", shape=np.array([3]))},
              [("input", "fc1"), ("fc1", "lif"), ("lif", "fc2"), ("fc2", "li"), ("li", "output")])
    m1, d1 = norse_lif_module(lif, NORSE_DT)
    m2, d2 = norse_li_module(li, NORSE_DT)
    x = spikes(rng, T, 4, 0.6)
    tr = Trace()
    for t in range(T):
        z, st = m1.step(affine(W1, b1, x[t]))
        v, _ = m2.step(affine(W2, b2, z))
        tr.add("z", z); tr.add("v1", st["v"]); tr.add("v2", v)
    return finish(name, "norse", NORSE_DT, "norse from_nir(dt=0.001) default; dt enters as fl32(dt)*tau_mem_inv",
                  T, "input", [4], x, {"output": {"kind": "v", "values": tr.rows["v2"]}},
                  {"fc1": affine_module(W1, b1), "lif": d1, "fc2": affine_module(W2, b2), "li": d2},
                  {"lif": {"spikes": tr.rows["z"], "v": tr.rows["v1"]}, "li": {"v": tr.rows["v2"]}}, g, [])


def case_norse_if():
    name, T = "norse_if", 30
    rng = rng_for(name)
    W, b = dyadic(rng, (5, 4), -0.125, 0.75), dyadic(rng, (5,), 0.0, 0.125)
    n_if = node("IF", r=np.ones(5, F), v_threshold=f32([1.0, 1.0, 0.5, 2.0, 1.25]), v_reset=np.zeros(5, F))
    g = graph({"input": node("Input", shape=np.array([4])), "fc": lin_nodes(W, b), "if1": n_if,
               "output": node("Output", shape=np.array([5]))},
              [("input", "fc"), ("fc", "if1"), ("if1", "output")])
    m = NorseIAF(n_if["v_threshold"])
    d = {"class": "norse.torch.IAFCell", "params": {"v_th": num(n_if["v_threshold"]), "v_reset": 0.0,
                                                    "method": "super", "dt": NORSE_DT}}
    x = spikes(rng, T, 4, 0.5)
    tr = Trace()
    for t in range(T):
        z, st = m.step(affine(W, b, x[t]))
        tr.add("z", z); tr.add("v", st["v"])
    return finish(name, "norse", NORSE_DT, "IAFCell does not use dt", T, "input", [4], x,
                  {"output": {"kind": "spikes", "values": tr.rows["z"]}}, {"fc": affine_module(W, b), "if1": d},
                  {"if1": {"v": tr.rows["v"]}}, g, ["reset to v_reset = 0 (the NIR v_reset is not read)"])


def case_norse_cubalif():
    name, T = "norse_cubalif", 32
    rng = rng_for(name)
    W, b = dyadic(rng, (4, 4), -0.5, 4.0), dyadic(rng, (4,), 0.0, 1.0)
    cuba = node("CubaLIF", tau_syn=f32([0.005, 0.005, 0.01, 0.002]), tau_mem=f32([0.01, 0.02, 0.01, 0.005]),
                r=f32([1.0, 1.0, 1.5, 2.0]), v_leak=np.zeros(4, F), v_reset=np.zeros(4, F),
                v_threshold=f32([1.0, 1.0, 1.0, 0.75]), w_in=f32([1.0, 2.0, 1.0, 0.5]))
    g = graph({"input": node("Input", shape=np.array([4])), "fc": lin_nodes(W, b), "cuba": cuba,
               "output": node("Output", shape=np.array([4]))},
              [("input", "fc"), ("fc", "cuba"), ("cuba", "output")])
    tsi, tmi = F(1) / cuba["tau_syn"], F(1) / cuba["tau_mem"]
    m = NorseCubaLIF(cuba["w_in"], tsi, cuba["r"], tmi, cuba["v_threshold"], cuba["v_leak"], NORSE_DT)
    d = {"class": "norse.torch.utils.import_nir.CubaLIF",
         "params": {"w_in": num(cuba["w_in"]), "r": num(cuba["r"]),
                    "synapse": {"class": "norse.torch.LIBoxCell", "tau_mem_inv": num(tsi), "v_leak": num(cuba["v_leak"]),
                                "dt_times_tau_mem_inv": num(F(NORSE_DT) * tsi)},
                    "lif": {"class": "norse.torch.LIFBoxCell", "tau_mem_inv": num(tmi), "v_th": num(cuba["v_threshold"]),
                            "v_leak": num(cuba["v_leak"]), "v_reset": 0.0, "reset_method": "reset_value",
                            "dt_times_tau_mem_inv": num(F(NORSE_DT) * tmi)},
                    "dt": NORSE_DT}}
    x = spikes(rng, T, 4, 0.5)
    tr = Trace()
    for t in range(T):
        z, st = m.step(affine(W, b, x[t]))
        tr.add("z", z); tr.add("i", st["i"]); tr.add("v", st["v"])
    return finish(name, "norse", NORSE_DT, "norse from_nir(dt=0.001) default", T, "input", [4], x,
                  {"output": {"kind": "spikes", "values": tr.rows["z"]}}, {"fc": affine_module(W, b), "cuba": d},
                  {"cuba": {"i": tr.rows["i"], "v": tr.rows["v"]}}, g,
                  ["synapse leaks towards v_leak (the wrapper passes the node's v_leak to the synapse LIBoxCell)"])


CASES = [case_snntorch_lif_cubalif, case_snntorch_lif_f64, case_snntorch_if, case_snntorch_rleaky, case_snntorch_rsynaptic,
         case_sinabs_lif_if, case_sinabs_li, case_sinabs_conv,
         case_norse_lif_li, case_norse_if, case_norse_cubalif]


def summary(doc):
    out = {}
    for k, o in doc["outputs"].items():
        a = np.array(o["values"], dtype=np.float64)
        out[k] = {"total": float(a.sum()), "nonzero_steps": int((a != 0).any(axis=1).sum())}
    for k, st in doc["states"].items():
        if "spikes" in st or "spk" in st:
            a = np.array(st.get("spikes", st.get("spk")))
            out[k] = {"total_spikes": float(a.sum())}
    return out


def validate(refdir):
    """Runs the transcriptions on shared/refcases cases whose traces the libraries themselves produced."""
    def load(n):
        with open(os.path.join(refdir, n + ".json")) as f:
            return json.load(f)

    def run(n, make, state):
        d = load(n)
        x = np.array(d["input"], dtype=F)  # [batch][time][neuron]
        m = make(d["params"])
        sp, st = [], []
        for t in range(x.shape[1]):
            s_, stt = m.step(x[:, t, :])
            sp.append(s_); st.append(stt[state[0]])
        ok = (np.array_equal(np.stack(sp, 1), np.array(d["spikes"], dtype=F)) and
              np.array_equal(np.stack(st, 1), np.array(d["states"][state[1]], dtype=F)))
        print(("ok   " if ok else "DIFF ") + "refcase " + n)
        return ok

    checks = [
        ("snntorch_leaky_zero_nodelay", lambda q: SnntorchLeaky(q["beta"], q["threshold"], "zero"), ("mem", "mem")),
        ("snntorch_leaky_subtract_nodelay", lambda q: SnntorchLeaky(q["beta"], q["threshold"], "subtract"), ("mem", "mem")),
        ("snntorch_synaptic_subtract_nodelay",
         lambda q: SnntorchSynaptic(q["alpha"], q["beta"], q["threshold"], "subtract"), ("mem", "mem")),
        ("snntorch_synaptic_zero",
         lambda q: SnntorchSynaptic(q["alpha"], q["beta"], q["threshold"], "zero", reset_delay=True), ("syn", "syn")),
        ("snntorch_synaptic_zero",
         lambda q: SnntorchSynaptic(q["alpha"], q["beta"], q["threshold"], "zero", reset_delay=True), ("mem", "mem")),
        ("sinabs_iaf_minvmem", lambda q: SinabsLIF(F(1), q["spike_threshold"], q["min_v_mem"]), ("v_mem", "v_mem")),
        ("sinabs_lif_taumem10_nonorm",
         lambda q: SinabsLIF(np.exp((F(-1.0) / F(q["tau_mem"])).astype(np.float64)).astype(F),
                             q["spike_threshold"], None), ("v_mem", "v_mem")),
        ("norse_iaf_default", lambda q: NorseIAF(q["v_th"]), ("v", "v")),
    ]
    return all([run(n, mk, st) for n, mk, st in checks])


def main():
    if "--validate" in sys.argv:
        sys.exit(0 if validate(sys.argv[sys.argv.index("--validate") + 1]) else 1)
    check = "--check" in sys.argv
    bad = 0
    for fn in CASES:
        doc, g = fn()
        doc["summary"] = summary(doc)
        text = json.dumps(doc, indent=1) + "\n"
        jp = os.path.join(HERE, doc["case"] + ".json")
        if check:
            old = open(jp).read() if os.path.exists(jp) else None
            ok = old == text
            if ok:
                with h5py.File(os.path.join(HERE, doc["case"] + ".nir"), "r") as f:
                    ok = f["version"][()].decode() == NIR_VERSION and f["node"]["type"][()] == b"NIRGraph"
            print(("ok   " if ok else "DIFF ") + doc["case"])
            bad += 0 if ok else 1
        else:
            write_nir(os.path.join(HERE, doc["case"] + ".nir"), g)
            with open(jp, "w") as f:
                f.write(text)
            print(doc["case"], json.dumps(doc["summary"]))
    if check and bad:
        sys.exit(1)


if __name__ == "__main__":
    main()
