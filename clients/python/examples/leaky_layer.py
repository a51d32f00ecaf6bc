#!/usr/bin/env python3
"""A snntorch-style layer, ``nn.Linear(n_in, n_out, bias=False)`` followed by ``snn.Leaky(beta,
threshold)``, run through SnnService, and checked bit for bit against a NumPy float32
reimplementation of snntorch.Leaky's equations.

    python3 leaky_layer.py [--server http://127.0.0.1:50051] [--steps 50]

With a trained snntorch model, pass its parameters instead of the random ones below:
``weights = fc.weight.detach().numpy()``, ``beta = float(lif.beta)``, ``threshold = float(lif.threshold)``.
"""
import argparse
import sys

import numpy as np

from snnservice import Client


def leaky_layer_spec(weights, beta, threshold=1.0, bias=None):
    """A network "in" (input spikes) -> dense weights -> "lif" (snntorch.Leaky, subtract reset, delayed
    reset as snntorch's default). ``weights`` has torch.nn.Linear's layout, [n_out][n_in]."""
    weights = np.asarray(weights, dtype=np.float32)
    n_out, n_in = weights.shape
    dense = {"weights": weights}
    if bias is not None:
        dense["bias"] = np.asarray(bias, dtype=np.float32)
    return {
        "populations": [
            {"name": "in", "model": "input", "size": n_in},
            {"name": "lif", "model": "snntorch.Leaky", "size": n_out,
             "params": {"beta": {"scalar": float(beta)}, "threshold": {"scalar": float(threshold)}}},
        ],
        "projections": [{"name": "fc", "source": "in", "target": "lif", "dense": dense}],
    }


def run_leaky_layer(client, weights, beta, threshold, input_spikes, bias=None):
    """Runs the layer on ``input_spikes`` (steps x n_in, 0/1 or graded values) on the server, in a
    network that exists only for this call. Returns (spikes, mem), each steps x n_out float32."""
    input_spikes = np.asarray(input_spikes, dtype=np.float32)
    with client.temporary_network(leaky_layer_spec(weights, beta, threshold, bias)) as network, \
            client.run(network, record={"lif": ["mem"]}) as run:
        run.send("in", spikes=input_spikes)  # row t goes to step t
        trace = run.collect(len(input_spikes))
    return trace.spikes["lif"], trace.states["lif"]["mem"]


def numpy_leaky_layer(weights, beta, threshold, input_spikes, bias=None):
    """snntorch.Leaky (reset_mechanism="subtract", reset_delay=True, graded_spikes_factor=1) after a
    Linear layer, in float32:

        cur   = W @ x[t] + bias
        reset = (mem - threshold > 0)              # from the previous step's mem
        mem   = (beta * mem + cur) - reset * threshold
        spk   = (mem - threshold > 0)

    The matrix product is summed in the server's order (over the spiking inputs in ascending index,
    each product rounded to float32, then the bias), so the comparison can be exact; torch's matmul
    may order the additions differently and then differs in the last bit.
    """
    w = np.asarray(weights, dtype=np.float32)
    beta = np.float32(min(max(beta, 0.0), 1.0))  # snntorch clamps beta to [0, 1]
    thr = np.float32(threshold)
    x = np.asarray(input_spikes, dtype=np.float32)
    mem = np.zeros(w.shape[0], dtype=np.float32)
    spikes, mems = [], []
    for row in x:
        cur = np.zeros(w.shape[0], dtype=np.float32)
        for j in np.flatnonzero(row):
            cur += row[j] * w[:, j]
        if bias is not None:
            cur += np.asarray(bias, dtype=np.float32)
        reset = (mem - thr > 0).astype(np.float32)
        mem = (beta * mem + cur) - reset * thr
        spk = (mem - thr > 0).astype(np.float32)
        spikes.append(spk)
        mems.append(mem)
    return np.array(spikes, dtype=np.float32), np.array(mems, dtype=np.float32)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", default="http://127.0.0.1:50051")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    n_in, n_out = 20, 8
    weights = rng.normal(0.0, 0.5, size=(n_out, n_in)).astype(np.float32)  # fc.weight
    beta, threshold = 0.9, 1.0
    inputs = (rng.random((args.steps, n_in)) < 0.2).astype(np.float32)     # spike raster

    with Client(args.server) as client:
        spikes, mem = run_leaky_layer(client, weights, beta, threshold, inputs)
    ref_spikes, ref_mem = numpy_leaky_layer(weights, beta, threshold, inputs)

    same = np.array_equal(spikes, ref_spikes) and np.array_equal(mem.view(np.uint32), ref_mem.view(np.uint32))
    print("steps %d, output spikes %d (per neuron %s)" % (args.steps, int(spikes.sum()), spikes.sum(axis=0).astype(int).tolist()))
    print("server == NumPy reference, bit for bit: %s" % same)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
