#!/usr/bin/python3
"""Runs each library's own NIR importer on the <case>.nir files and compares its outputs with <case>.json.

Needs torch (Debian: python3-torch 1.13) and the library sources on PYTHONPATH (nir, nirtorch, snntorch,
norse, sinabs: pure Python, e.g. `git archive HEAD <pkg>` of each repository at the commits in
README.md). sinabs imports `pbr.version` and `pylab`, which only need to exist. Exit status 1 on any
difference.

  PYTHONPATH=<shims>:<sources> /usr/bin/python3 run_libraries.py [case ...]
"""
import glob
import json
import os
import sys

import numpy as np
import torch

import nir

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)


def _norse_superspike_for_torch1():
    """norse's SuperSpike uses the torch-2 autograd style (forward without ctx + setup_context).
    On torch 1.13 wrap it into the old style; the forward value is unchanged."""
    import norse.torch.functional.superspike as ss
    cls = ss.SuperSpike
    fwd = cls.forward
    try:
        import inspect
        params = list(inspect.signature(fwd).parameters)
    except (TypeError, ValueError):
        return
    if params and params[0] == "ctx":
        return

    class SuperSpikeTorch1(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            out = fwd(*args)
            if hasattr(cls, "setup_context"):
                cls.setup_context(ctx, args, out)
            return out

        @staticmethod
        def backward(ctx, *grads):
            return cls.backward(ctx, *grads)

    ss.SuperSpike = SuperSpikeTorch1


def run_snntorch(graph, x):
    from snntorch.import_nir import import_from_nir
    net = import_from_nir(graph)
    outs = []
    state = None
    for t in range(x.shape[0]):
        xt = torch.from_numpy(x[t:t + 1])
        out, state = net(xt) if state is None else net(xt, state)
        if isinstance(out, tuple):  # an IF (Leaky with init_hidden=False) feeding Output: (spk, mem)
            out = out[0]
        outs.append(out.detach().numpy().reshape(-1))
    return np.stack(outs)


def run_norse(graph, x, dt):
    _norse_superspike_for_torch1()
    from norse.torch.utils.import_nir import from_nir
    net = from_nir(graph, dt=dt)
    outs = []
    state = None
    for t in range(x.shape[0]):
        xt = torch.from_numpy(x[t:t + 1])
        out, state = net(xt) if state is None else net(xt, state)
        outs.append(out.detach().numpy().reshape(-1))
    return np.stack(outs)


def run_sinabs(graph, x, shape):
    from sinabs.nir import from_nir
    T = x.shape[0]
    net = from_nir(graph, batch_size=1)
    out, _ = net(torch.from_numpy(x.reshape(T, *shape)))  # (batch*time, ...): one call, whole sequence
    return out.detach().numpy().reshape(T, -1)


def main():
    names = sys.argv[1:] or [os.path.basename(p)[:-5] for p in sorted(glob.glob(os.path.join(HERE, "*.json")))]
    bad = 0
    for name in names:
        with open(os.path.join(HERE, name + ".json")) as f:
            doc = json.load(f)
        graph = nir.read(os.path.join(HERE, name + ".nir"))
        x = np.array(doc["input"]["values"], dtype=np.float32)
        try:
            if doc["flavor"] == "snntorch":
                got = run_snntorch(graph, x)
            elif doc["flavor"] == "norse":
                got = run_norse(graph, x, doc["dt"])
            else:
                got = run_sinabs(graph, x, doc["input"]["shape"])
        except Exception as e:  # report and go on with the other cases
            print(f"FAIL {name}: {type(e).__name__}: {e}")
            bad += 1
            continue
        (out_name, out), = doc["outputs"].items()
        want = np.array(out["values"], dtype=np.float32)
        same = got.shape == want.shape and np.array_equal(got.astype(np.float32), want)
        detail = ""
        if not same and got.shape == want.shape:
            diff = np.argwhere(got.astype(np.float32) != want)
            detail = f" first (t, n) {diff[0].tolist()} got {got[tuple(diff[0])]!r} want {want[tuple(diff[0])]!r}; {len(diff)} values differ"
        elif not same:
            detail = f" shape {got.shape} vs {want.shape}"
        print(("ok   " if same else "DIFF ") + name + detail)
        bad += 0 if same else 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
