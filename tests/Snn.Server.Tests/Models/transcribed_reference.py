#!/usr/bin/env python3
"""Reference traces for models that have no library-generated case (no PyPI here to run the library).

Each step function below is a NumPy float32 transcription of the library's forward at the commit
named in SEMANTICS.md, op by op in the library's written order (SEMANTICS.md section 0: every op
rounds to float32, no fusion, Python scalars rounded to float32 first, derived constants computed
once as correctly rounded float32). It writes tests/data/transcribed/<case>.json in the
snn-refcase/1 schema, with "source" saying that the trace is a transcription, not a library run.

    /usr/bin/python3 tests/Snn.Server.Tests/Models/transcribed_reference.py [OUT_DIR]

TranscribedReferenceTests runs it into a temporary folder and requires the committed files back.
"""
import json
import math
import os
import sys

import numpy as np

F = np.float32
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.normpath(os.path.join(HERE, "..", "..", "data", "transcribed"))

COMMITS = {
    "norse": ("065a3b45cf13bc8156d18987380f6d26c09f08a2", "v1.1.0-31-g065a3b45"),
    "sinabs": ("904eb89398cc4006af4a8ec2d5b7e48fc17b4ba1", "v3.1.3-12-g904eb89"),
    "snntorch": ("634fc22385ec5581998e62787bbe39b53662140f", "v0.9.4-61-g634fc22"),
}


def exp32(x):
    """Correctly rounded float32 exp of a float32 argument (torch's float32 exp gives this for these inputs)."""
    return F(math.exp(float(F(x))))


def heaviside(x):
    """norse / snntorch forward spike function: strict x > 0."""
    return (x > F(0)).astype(F)


def inputs(seed, batch, time, neurons, scale):
    """Per-neuron input kinds: constant drive, mixed noise, sparse pulses, a step down to negative."""
    rng = np.random.RandomState(seed)
    x = np.zeros((batch, time, neurons), dtype=np.float64)
    for b in range(batch):
        for n in range(neurons):
            kind = n % 4
            if kind == 0:
                x[b, :, n] = rng.uniform(0.3, 1.2)
            elif kind == 1:
                x[b, :, n] = rng.uniform(-0.6, 1.4, size=time)
            elif kind == 2:
                x[b, :, n] = (rng.uniform(size=time) < 0.3) * rng.uniform(0.5, 2.5, size=time)
            else:
                half = time // 2
                x[b, :half, n] = rng.uniform(0.8, 1.6)
                x[b, half:, n] = rng.uniform(-0.8, -0.1)
    return (np.round(x, 3) * scale).round(4).astype(F)


# --- norse -----------------------------------------------------------------------------------

def norse_lif_box(p, dt):
    """functional/lif_box.py: lif_box_feed_forward_step; module/lif_box.py LIFBoxCell (initial v = v_leak)."""
    tau_mem_inv, v_leak, v_th, v_reset = F(p["tau_mem_inv"]), F(p["v_leak"]), F(p["v_th"]), F(p["v_reset"])
    subtract = p.get("reset_method", "reset_value") == "reset_subtract"
    c_m = F(F(dt) * tau_mem_inv)

    def init(shape):
        return {"v": np.full(shape, v_leak, dtype=F)}

    def step(x, s):
        dv = c_m * ((x + v_leak) - s["v"])          # dt * tau_mem_inv * (input + v_leak - v)
        v_decayed = s["v"] + dv
        z = heaviside(v_decayed - v_th)
        if subtract:                                 # reset.py reset_subtract
            v = (F(1) - z) * v_decayed + z * (v_decayed - v_th)
        else:                                        # reset.py reset_value
            v = (F(1) - z) * v_decayed + z * v_reset
        return z, {"v": v}

    return init, step, {"dt*tau_mem_inv": c_m}


def norse_li_box(p, dt):
    """functional/leaky_integrator_box.py: li_box_feed_forward_step; LIBoxCell (initial v = v_leak); output v."""
    tau_mem_inv, v_leak = F(p["tau_mem_inv"]), F(p["v_leak"])
    c_m = F(F(dt) * tau_mem_inv)

    def init(shape):
        return {"v": np.full(shape, v_leak, dtype=F)}

    def step(x, s):
        dv = c_m * ((v_leak - s["v"]) + x)
        v_new = s["v"] + dv
        return v_new.copy(), {"v": v_new}

    return init, step, {"dt*tau_mem_inv": c_m}


# --- sinabs ----------------------------------------------------------------------------------

def sinabs_exp_leak(p):
    """layers/exp_leak.py ExpLeak = LIF(tau_syn=None, spike_fn=None); functional/lif.py lif_forward_single."""
    alpha_mem = exp32(F(-1.0) / F(p["tau_mem"]))
    one_minus = F(F(1) - alpha_mem)
    min_v_mem = None if p["min_v_mem"] is None else F(p["min_v_mem"])
    norm_input = p["norm_input"]

    def init(shape):
        return {"v_mem": np.zeros(shape, dtype=F)}

    def step(x, s):
        i_syn = x                                    # alpha_syn is None
        syn = one_minus * i_syn if norm_input else i_syn
        v = alpha_mem * s["v_mem"] + syn
        out = v.copy()                               # no spike_fn: spikes = v_mem.clone(), before the clip
        if min_v_mem is not None:
            v = np.maximum(v - min_v_mem, F(0)) + min_v_mem   # relu(v - min_v_mem) + min_v_mem
        return out, {"v_mem": v}

    return init, step, {"alpha_mem": alpha_mem, "one_minus_alpha_mem": one_minus}


# --- snntorch --------------------------------------------------------------------------------

def snntorch_rsynaptic(p, rec):
    """_neurons/rsynaptic.py RSynaptic.forward, _base_state_function, _base_sub/_base_zero/_base_int.

    Called as in the class docstring: spk, syn, mem = layer(input, spk, syn, mem) with the states
    passed back explicitly (with reset_delay=False the forward needs them: it reads the argument spk).
    """
    alpha = np.clip(F(p["alpha"]), F(0), F(1))
    beta = np.clip(F(p["beta"]), F(0), F(1))
    thr = F(p["threshold"])
    mech = p["reset_mechanism"]

    def init(shape):
        return {"spk": np.zeros(shape, dtype=F), "syn": np.zeros(shape, dtype=F), "mem": np.zeros(shape, dtype=F)}

    def base(x, s):
        syn = (alpha * s["syn"] + x) + rec(s["spk"])
        mem = beta * s["mem"] + syn
        return syn, mem

    def step(x, s):
        spk_arg, mem_arg = s["spk"], s["mem"]
        reset = heaviside(s["mem"] - thr)            # mem_reset on the stored mem
        syn, mem = base(x, s)
        if mech == "subtract":
            mem = mem - reset * thr
        elif mech == "zero":
            syn2, mem2 = 0, base(x, s)[1]            # _base_state_reset_zero returns (0, mem)
            syn2 = syn2 * reset
            mem2 = mem2 * reset
            syn = syn - syn2
            mem = mem - mem2
        spk = heaviside(mem - thr) * F(1)            # fire(): graded_spikes_factor is 1
        if not p["reset_delay"]:
            # forward() writes this to the LOCAL mem argument, never to self.mem: no effect on the state.
            do_reset = spk_arg / F(1) - reset
            if mech == "subtract":
                mem_arg = mem_arg - do_reset * thr
            elif mech == "zero":
                mem_arg = mem_arg - do_reset * mem_arg
        return spk, {"spk": spk, "syn": syn, "mem": mem}

    return init, step, {"alpha_clamped": alpha, "beta_clamped": beta}


def linear_rec(weight, bias):
    w, b = np.array(weight, dtype=F), np.array(bias, dtype=F)
    return lambda spk: (spk @ w.T + b).astype(F)     # weights 1/32 and bias 1/64 multiples: exact


def one_to_one_rec(v):
    v = np.array(v, dtype=F)
    return lambda spk: spk * v


# --- output ----------------------------------------------------------------------------------

def num(v):
    return float(str(F(v))) + 0.0                    # shortest float32 decimal; -0.0 written as 0.0


def cube(a):
    return [[[num(v) for v in row] for row in mat] for mat in a]


def run(case, library, model, api, params, derived, factory, x, dt=None, weights=None, notes=""):
    batch, time, neurons = x.shape
    init, step, more = factory
    derived = {**derived, **{k: num(v) for k, v in more.items()}}
    state = init((batch, neurons))
    names = list(state)
    spikes = np.zeros_like(x)
    states = {n: np.zeros_like(x) for n in names}
    for t in range(time):
        out, state = step(x[:, t], state)
        assert all(s.dtype == F for s in state.values()) and out.dtype == F, case
        spikes[:, t] = out
        for n in names:
            states[n][:, t] = state[n]
    commit, describe = COMMITS[library]
    doc = {
        "schema": "snn-refcase/1",
        "case": case,
        "library": library,
        "library_commit": commit,
        "library_describe": describe,
        "source": "NumPy float32 transcription of the library source at library_commit "
                  "(tests/Snn.Server.Tests/Models/transcribed_reference.py); not a run of the library",
        "dtype": "float32",
        "model": model,
        "api": api,
        "params": params,
        "derived": derived,
        "dt": dt,
        "shape": {"batch": batch, "time": time, "neurons": neurons},
        "layout": "[batch][time][neuron]; states are the values after the step",
        "forward_calls": "one call per time step",
        "notes": notes,
    }
    if weights is not None:
        doc["weights"] = weights
    doc["input"] = cube(x)
    doc["spikes"] = cube(spikes)
    doc["states"] = {n: cube(states[n]) for n in names}
    doc["summary"] = {"nonzero_outputs": int(np.count_nonzero(spikes)), "max_output": num(spikes.max())}
    with open(os.path.join(OUT, case + ".json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(f"{case}: nonzero outputs {int(np.count_nonzero(spikes))} of {spikes.size}")


def main():
    os.makedirs(OUT, exist_ok=True)
    B, T, N = 2, 30, 10
    dt = 0.001

    lif_box_model = "norse.torch.LIFBoxCell -> norse.torch.functional.lif_box.lif_box_feed_forward_step"
    lif_box_api = "cell = norse.torch.LIFBoxCell(LIFBoxParameters(**params), dt=dt); state=None; for t: z, state = cell(input[:, t], state)"
    p = {"tau_mem_inv": 200.0, "v_leak": 0.1, "v_th": 0.8, "v_reset": -0.1, "method": "super", "alpha": 100.0}
    run("norse_lifbox_custom", "norse", lif_box_model, lif_box_api, p, {}, norse_lif_box(p, dt), inputs(5101, B, T, N, 1.5), dt=dt)
    p = {"tau_mem_inv": 100.0, "v_leak": 0.0, "v_th": 1.0, "v_reset": 0.0, "method": "super", "alpha": 100.0,
         "reset_method": "reset_subtract"}
    run("norse_lifbox_subtract", "norse", lif_box_model, lif_box_api.replace("**params", "**params, reset_method=reset_subtract"),
        p, {}, norse_lif_box(p, dt), inputs(5102, B, T, N, 3.0), dt=dt)

    p = {"tau_mem_inv": 150.0, "v_leak": 0.2}
    run("norse_libox_custom", "norse", "norse.torch.LIBoxCell -> norse.torch.functional.leaky_integrator_box.li_box_feed_forward_step",
        "cell = norse.torch.LIBoxCell(LIBoxParameters(**params), dt=dt); state=None; for t: v, state = cell(input[:, t], state)",
        p, {}, norse_li_box(p, dt), inputs(5201, B, T, N, 1.0), dt=dt, notes="spikes holds the cell's output, which is v")

    exp_api = "layer = sinabs.layers.ExpLeak(**params); out = layer(input)  (one forward over all steps)"
    p = {"tau_mem": 10.0, "min_v_mem": None, "norm_input": False}
    run("sinabs_expleak_default", "sinabs", "sinabs.layers.ExpLeak", exp_api, p, {}, sinabs_exp_leak(p), inputs(5301, B, T, N, 1.0),
        notes="spikes holds the layer's output, v_mem before the min_v_mem clip")
    p = {"tau_mem": 5.0, "min_v_mem": -0.3, "norm_input": True}
    run("sinabs_expleak_norm_clip", "sinabs", "sinabs.layers.ExpLeak", exp_api, p, {}, sinabs_exp_leak(p), inputs(5302, B, T, N, 4.0),
        notes="spikes holds the layer's output, v_mem before the min_v_mem clip")

    rs_api = "layer = snntorch.RSynaptic(**params); spk, syn, mem = layer.reset_mem(); for t: spk, syn, mem = layer(input[:, t], spk, syn, mem)"
    rng = np.random.RandomState(5401)
    w = (rng.randint(-16, 17, size=(N, N)) / 32.0).tolist()
    bias = (rng.randint(-6, 7, size=N) / 64.0).tolist()
    p = {"alpha": 0.8, "beta": 0.9, "all_to_all": True, "linear_features": N, "threshold": 1.0, "reset_mechanism": "subtract",
         "inhibition": False, "reset_delay": True}
    run("snntorch_rsynaptic_linear", "snntorch", "snntorch.RSynaptic", rs_api, p, {}, snntorch_rsynaptic(p, linear_rec(w, bias)),
        inputs(5402, B, T, N, 0.08),
        weights={"rec_weight": w, "rec_bias": bias,
                 "formula": "rec[b][o] = sum_i rec_weight[o][i]*spk_prev[b][i] + rec_bias[o] (bias added every step)"})
    v = (rng.randint(-16, 17, size=N) / 32.0).tolist()
    p = {"alpha": 0.7, "beta": 0.85, "all_to_all": False, "linear_features": None, "threshold": 0.9, "reset_mechanism": "zero",
         "inhibition": False, "reset_delay": False}
    run("snntorch_rsynaptic_onetoone_zero_nodelay", "snntorch", "snntorch.RSynaptic", rs_api, p, {},
        snntorch_rsynaptic(p, one_to_one_rec(v)), inputs(5403, B, T, N, 0.6),
        weights={"V": v, "formula": "rec[b][n] = spk_prev[b][n] * V[n]"},
        notes="reset_delay=False: forward() assigns the immediate reset to its local mem argument, so the state is the delayed-reset one")


if __name__ == "__main__":
    main()
