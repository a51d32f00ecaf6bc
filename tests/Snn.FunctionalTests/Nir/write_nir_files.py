"""Writes the .nir files the NIR API tests send to a real server. Usage: write_nir_files.py OUT_DIR

The layout is nir.write's (NIR's nir/serialization.py), as in tests/Snn.Server.Tests/Nir/write_nir_files.py:
a root dataset 'version', a group 'node' holding the graph (a string dataset 'type' = "NIRGraph", a group
'nodes' with one group per node, each with a string dataset 'type' and one dataset per parameter, and
'edges', an (n, 2) array of variable-length strings). One well-formed network, and one malformed file per
fault the import must report by node and field (the C# tests name the node and field each must report).
"""
import os
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # the test turns this into a message naming the package
    print(f"missing module: {e.name}", file=sys.stderr)
    sys.exit(3)

out = sys.argv[1]


def put(group, key, value):
    if isinstance(value, str):
        group.create_dataset(key, data=value, dtype=h5py.string_dtype())
    elif isinstance(value, np.ndarray):
        group.create_dataset(key, data=value, dtype=value.dtype, compression="gzip")
    elif isinstance(value, dict):
        sub = group.create_group(key)
        for k, v in value.items():
            put(sub, k, v)
    else:
        group.create_dataset(key, data=value)


def write(name, nodes, edges):
    with h5py.File(os.path.join(out, name + ".nir"), "w") as f:
        f.create_dataset("version", data="1.0", dtype=h5py.string_dtype())
        root = f.create_group("node")
        put(root, "type", "NIRGraph")
        put(root, "nodes", nodes)
        put(root, "edges", [tuple(e) for e in edges])


def full(n, value):
    return np.full((n,), value, dtype=np.float32)


# Input(3) -> Affine fc (every weight 20: 60 per step from three input spikes) -> LIF lif (2) -> Output.
# tau 10 ms, r 1, threshold 1: any discretisation with dt = 1 ms crosses the threshold within a step or two.
lif2 = {"type": "LIF", "tau": full(2, 0.01), "r": full(2, 1.0), "v_leak": full(2, 0.0),
        "v_threshold": full(2, 1.0), "v_reset": full(2, 0.0)}
write("feedforward",
      {"input": {"type": "Input", "shape": np.array([3])},
       "fc": {"type": "Affine", "weight": np.full((2, 3), 20.0, dtype=np.float32), "bias": full(2, 0.0)},
       "lif": lif2,
       "output": {"type": "Output", "shape": np.array([2])}},
      [("input", "fc"), ("fc", "lif"), ("lif", "output")])

# The feed-forward file with a threshold of -1: it reads and imports, but snntorch.Leaky's threshold must be > 0.
write("negative_threshold",
      {"input": {"type": "Input", "shape": np.array([3])},
       "fc": {"type": "Affine", "weight": np.full((2, 3), 20.0, dtype=np.float32), "bias": full(2, 0.0)},
       "lif": {**lif2, "v_threshold": full(2, -1.0)},
       "output": {"type": "Output", "shape": np.array([2])}},
      [("input", "fc"), ("fc", "lif"), ("lif", "output")])

io = {"input": {"type": "Input", "shape": np.array([4])}, "output": {"type": "Output", "shape": np.array([4])}}
lif4 = {"type": "LIF", "tau": full(4, 0.01), "r": full(4, 1.0), "v_leak": full(4, 0.0), "v_threshold": full(4, 1.0)}
path = [("input", "lif"), ("lif", "output")]
# lif has no dataset tau.
write("missing_dataset", {**io, "lif": {k: v for k, v in lif4.items() if k != "tau"}}, path)
# lif's v_threshold has 3 values for 4 neurons.
write("wrong_shape", {**io, "lif": {**lif4, "v_threshold": full(3, 1.0)}}, path)
# An edge from lif to a node the graph lacks.
write("edge_to_missing_node", {**io, "lif": lif4}, path + [("lif", "ghost")])
# a -> b -> a with neither holding state: no step order exists.
write("stateless_cycle",
      {**io, "a": {"type": "Linear", "weight": np.eye(4, dtype=np.float32)}, "b": {"type": "Scale", "scale": full(4, 0.5)}},
      [("input", "a"), ("a", "b"), ("b", "a"), ("b", "output")])
