#!/usr/bin/env python3
"""Imports a NIR graph (a .nir file written by snntorch, norse, sinabs or nir.write) into SnnService,
prints the server's report of every conversion, and runs the network for a few steps on random input
spikes, printing the spikes of the populations that the NIR Output nodes read.

    python3 import_nir.py mlp.nir [--flavor snntorch] [--dt 0.0001] [--steps 10] [--server URL] [--keep]

The network is named after the file (``mlp``) unless ``--name`` says otherwise, and is deleted at the
end unless ``--keep`` is given.
"""
import argparse
import os
import sys

import numpy as np

from snnservice import Client, format_report


def outputs_of(imported):
    """The populations that the NIR Output nodes read (as the report names them); every non-input
    population when the graph has no Output node."""
    named = list(dict.fromkeys(imported.outputs.values()))
    return named or [p.name for p in imported.network.spec.populations if p.model != "input"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("nir", help="the .nir file")
    ap.add_argument("--server", default="http://127.0.0.1:50051")
    ap.add_argument("--name", help="the network's name (default: the file's name without .nir)")
    ap.add_argument("--flavor", default="generic", choices=["generic", "snntorch", "norse", "sinabs"])
    ap.add_argument("--dt", type=float, default=0.0, help="seconds per step (default: the server's 0.001)")
    ap.add_argument("--strict", action="store_true", help="refuse the import when a conversion is lossy")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--rate", type=float, default=0.3, help="probability of an input spike per neuron and step")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="leave the network on the server")
    args = ap.parse_args(argv)
    name = args.name or os.path.splitext(os.path.basename(args.nir))[0].replace("_", "-")

    with Client(args.server) as client:
        imported = client.import_network(name, args.nir, flavor=args.flavor, dt=args.dt, strict=args.strict)
        try:
            print(format_report(imported.report))
            spec = imported.network.spec
            print("created network '%s': %d population(s), order %s"
                  % (spec.name, len(spec.populations), " -> ".join(imported.network.order)))

            rng = np.random.default_rng(args.seed)
            outputs = outputs_of(imported)
            with client.run(imported.network, spikes_from=outputs, reset=True) as run:
                for p in spec.populations:
                    if p.model == "input":
                        run.send(p.name, spikes=(rng.random((args.steps, p.size)) < args.rate).astype(np.float32))
                trace = run.collect(args.steps)
            for t in range(args.steps):
                print("step %d: %s" % (trace.steps[t], "; ".join(
                    "%s %s" % (p, np.flatnonzero(trace.spikes[p][t]).tolist()) for p in outputs)))
        finally:
            if not args.keep:
                client.delete_network(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
