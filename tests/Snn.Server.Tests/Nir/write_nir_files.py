"""Writes the NIR files the NIR reader's tests read, and manifest.json saying what each should read as.

The layout follows the NIR project's nir/serialization.py (nir.write): a root dataset 'version', a group
'node' holding the graph (a string dataset 'type' = "NIRGraph", a group 'nodes' with one group per node,
each with a string dataset 'type' and one dataset per parameter, and 'edges', an (n, 2) array of
variable-length strings). Arrays are gzip-compressed as nir.write does by default; Python scalars are
stored uncompressed. Usage: write_nir_files.py OUT_DIR
"""
import json
import os
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # the test turns this into a message naming the package
    print(f"missing module: {e.name}", file=sys.stderr)
    sys.exit(3)

out = sys.argv[1]
manifest = {}


def arr(shape, start=0.5, step=0.25, dtype=np.float32):
    n = int(np.prod(shape)) if len(shape) else 1
    return (start + step * np.arange(n)).reshape(shape).astype(dtype)


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


def write(name, nodes, edges, expect):
    with h5py.File(os.path.join(out, name + ".nir"), "w") as f:
        f.create_dataset("version", data="1.0", dtype=h5py.string_dtype())
        root = f.create_group("node")
        put(root, "type", "NIRGraph")
        put(root, "nodes", nodes)
        put(root, "edges", [tuple(e) for e in edges] if edges else np.array([]))
    manifest[name] = expect


def describe(node):
    """What the reader must return for a node: float fields as float32 values (and the doubles where float64),
    integer fields, strings; a nested graph as its nodes and edges."""
    if node.get("type") == "NIRGraph":
        return {"type": "NIRGraph", "nodes": {k: describe(v) for k, v in node["nodes"].items()},
                "edges": [list(e) for e in node["edges"]]}
    fields, ints, strings = {}, {}, {}
    for k, v in node.items():
        if k == "type":
            continue
        if isinstance(v, str):
            strings[k] = v
        elif isinstance(v, np.ndarray) and v.dtype.kind == "f":
            fields[k] = {"shape": list(v.shape), "values": [float(x) for x in v.astype(np.float32).ravel()],
                         "float64": v.dtype == np.float64}
            if v.dtype == np.float64:  # the doubles as stored (JSON keeps a double exactly)
                fields[k]["doubles"] = [float(x) for x in v.ravel()]
        elif isinstance(v, float):
            fields[k] = {"shape": [], "values": [float(np.float32(v))], "float64": True, "doubles": [v]}
        else:
            ints[k] = [int(x) for x in np.atleast_1d(v)]
    return {"type": node["type"], "fields": fields, "ints": ints, "strings": strings}


def chain(name, node, n_in, n_out):
    """Input -> x -> Output, one file per node type."""
    nodes = {"input": {"type": "Input", "shape": np.array([n_in])}, "x": node,
             "output": {"type": "Output", "shape": np.array([n_out])}}
    write(name, nodes, [("input", "x"), ("x", "output")],
          {"ok": True, "nodes": {k: describe(v) for k, v in nodes.items()},
           "edges": [["input", "x"], ["x", "output"]]})


def bad(name, nodes, edges, node, field):
    write(name, nodes, edges, {"ok": False, "node": node, "field": field})


# One file per node type (Input and Output are in every one).
chain("affine", {"type": "Affine", "weight": arr((3, 4)), "bias": arr((3,), -1.0)}, 4, 3)
chain("linear", {"type": "Linear", "weight": arr((2, 5), -0.75)}, 5, 2)
chain("scale", {"type": "Scale", "scale": arr((4,), 2.0, -0.5)}, 4, 4)
chain("conv1d", {"type": "Conv1d", "weight": arr((4, 2, 3)), "bias": arr((4,)), "stride": 2, "padding": "same",
                 "dilation": 1, "groups": 1, "input_shape": 16}, 32, 32)
chain("conv2d", {"type": "Conv2d", "weight": arr((6, 1, 3, 3)), "bias": arr((6,), 0.1), "stride": np.array([1, 2]),
                 "padding": np.array([1, 0]), "dilation": 1, "groups": 2, "input_shape": np.array([8, 8])}, 128, 144)
chain("sumpool2d", {"type": "SumPool2d", "kernel_size": np.array([2, 2]), "stride": np.array([2, 2]),
                    "padding": np.array([0, 1])}, 64, 20)
chain("avgpool2d", {"type": "AvgPool2d", "kernel_size": np.array([3, 3]), "stride": np.array([1, 1]),
                    "padding": np.array([1, 1])}, 64, 64)
chain("flatten", {"type": "Flatten", "start_dim": 0, "end_dim": -1, "input_type": np.array([2, 3, 4])}, 24, 24)
chain("delay", {"type": "Delay", "delay": arr((3,), 0.001, 0.002)}, 3, 3)
chain("threshold", {"type": "Threshold", "threshold": arr((3,), 1.0)}, 3, 3)
chain("i", {"type": "I", "r": arr((3,), 1.5)}, 3, 3)
chain("li", {"type": "LI", "tau": arr((3,), 0.01, 0.005), "r": arr((3,), 1.0, 0.0), "v_leak": arr((3,), 0.0, 0.1)}, 3, 3)
chain("if", {"type": "IF", "r": arr((2,), 1.0), "v_threshold": arr((2,), 1.0, 0.5), "v_reset": arr((2,), -0.5, 0.0)}, 2, 2)
# float64 parameters as NIR's own examples often have them: the reader rounds to float32 and says so.
chain("lif", {"type": "LIF", "tau": arr((4,), 0.02, 0.01, np.float64) + 1e-12, "r": arr((4,), 1.0, 0.0, np.float64),
              "v_leak": arr((4,), 0.1, 0.1, np.float64), "v_threshold": arr((4,), 1.0, 0.1, np.float64),
              "v_reset": arr((4,), 0.0, 0.0, np.float64)}, 4, 4)
chain("cubali", {"type": "CubaLI", "tau_syn": arr((3,), 0.005), "tau_mem": arr((3,), 0.02), "r": arr((3,), 1.0, 0.0),
                 "v_leak": arr((3,), 0.0, 0.0), "w_in": 1.0}, 3, 3)
chain("cubalif", {"type": "CubaLIF", "tau_syn": arr((2,), 0.005), "tau_mem": arr((2,), 0.02), "r": arr((2,), 2.0),
                  "v_leak": arr((2,), 0.0, 0.0), "v_threshold": arr((2,), 1.0), "v_reset": arr((2,), 0.0, 0.0),
                  "w_in": arr((2,), 0.5)}, 2, 2)

# A recurrent graph whose cycle passes through a stateful node reads; v_reset left out reads as zeros.
rec_nodes = {"input": {"type": "Input", "shape": np.array([2])},
             "in_proj": {"type": "Affine", "weight": arr((3, 2)), "bias": arr((3,))},
             "lif": {"type": "LIF", "tau": arr((3,), 0.01), "r": arr((3,), 1.0, 0.0), "v_leak": arr((3,), 0.0, 0.0),
                     "v_threshold": arr((3,), 1.0, 0.0)},
             "rec": {"type": "Linear", "weight": arr((3, 3), -0.5, 0.125)},
             "output": {"type": "Output", "shape": np.array([3])}}
rec_edges = [("input", "in_proj"), ("in_proj", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")]
expected = {k: describe(v) for k, v in rec_nodes.items()}
expected["lif"]["fields"]["v_reset"] = {"shape": [3], "values": [0.0, 0.0, 0.0], "float64": False}
write("recurrent", rec_nodes, rec_edges, {"ok": True, "nodes": expected, "edges": [list(e) for e in rec_edges]})

# A recurrent layer nested as a NIRGraph node, as snnTorch writes it; the outer edges name the subgraph.
inner = {"type": "NIRGraph",
         "nodes": {"input": {"type": "Input", "shape": np.array([3])},
                   "lif": {"type": "CubaLIF", "tau_syn": arr((3,), 0.005, 0.0, np.float64),
                           "tau_mem": arr((3,), 0.02, 0.0, np.float64) / 3, "r": arr((3,), 1.0, 0.0, np.float64),
                           "v_leak": arr((3,), 0.0, 0.0, np.float64), "v_threshold": arr((3,), 1.0, 0.0, np.float64),
                           "w_in": arr((3,), 1.0, 0.0, np.float64)},
                   "w_rec": {"type": "Linear", "weight": arr((3, 3), -0.5, 0.125)},
                   "output": {"type": "Output", "shape": np.array([3])}},
         "edges": [("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")]}
sub_nodes = {"input": {"type": "Input", "shape": np.array([2])},
             "fc": {"type": "Linear", "weight": arr((3, 2))},
             "rnn": inner,
             "output": {"type": "Output", "shape": np.array([3])}}
sub_edges = [("input", "fc"), ("fc", "rnn"), ("rnn", "output")]
expected = {k: describe(v) for k, v in sub_nodes.items()}
expected["rnn"]["nodes"]["lif"]["fields"]["v_reset"] = {"shape": [3], "values": [0.0] * 3, "float64": True,
                                                         "doubles": [0.0] * 3}
write("subgraph", sub_nodes, sub_edges, {"ok": True, "nodes": expected, "edges": [list(e) for e in sub_edges]})

# Malformed files: each must fail naming this node and field.
io = {"input": {"type": "Input", "shape": np.array([4])}, "output": {"type": "Output", "shape": np.array([4])}}
lif4 = {"type": "LIF", "tau": arr((4,), 0.01), "r": arr((4,)), "v_leak": arr((4,)), "v_threshold": arr((4,))}
path = [("input", "lif"), ("lif", "output")]
bad("missing_tau", {**io, "lif": {k: v for k, v in lif4.items() if k != "tau"}}, path, "lif", "tau")
bad("lif_threshold_shape", {**io, "lif": {**lif4, "v_threshold": arr((3,))}}, path, "lif", "v_threshold")
bad("lif_negative_tau", {**io, "lif": {**lif4, "tau": arr((4,), -0.01, 0.0)}}, path, "lif", "tau")
bad("affine_bias_shape", {**io, "fc": {"type": "Affine", "weight": arr((4, 4)), "bias": arr((3,))}},
    [("input", "fc"), ("fc", "output")], "fc", "bias")
bad("affine_weight_rank", {**io, "fc": {"type": "Affine", "weight": arr((16,)), "bias": arr((4,))}},
    [("input", "fc"), ("fc", "output")], "fc", "weight")
bad("edge_to_missing_node", {**io, "lif": lif4}, path + [("lif", "ghost")], "ghost", "edges")
bad("unknown_type", {**io, "x": {"type": "Sigmoid", "weight": arr((4,))}}, [("input", "x"), ("x", "output")], "x", "type")
bad("missing_type", {**io, "x": {"weight": arr((4, 4))}}, [("input", "x"), ("x", "output")], "x", "type")
bad("stateless_cycle", {**io, "a": {"type": "Linear", "weight": arr((4, 4))}, "b": {"type": "Scale", "scale": arr((4,))}},
    [("input", "a"), ("a", "b"), ("b", "a"), ("b", "output")], "a", "edges")
bad("conv_groups", {**io, "conv": {"type": "Conv2d", "weight": arr((3, 1, 2, 2)), "bias": arr((3,)), "stride": 1,
                                   "padding": 0, "dilation": 1, "groups": 2}},
    [("input", "conv"), ("conv", "output")], "conv", "groups")
bad("flatten_start_dim", {**io, "flat": {"type": "Flatten", "start_dim": 3, "end_dim": -1, "input_type": np.array([2, 3, 4])}},
    [("input", "flat"), ("flat", "output")], "flat", "start_dim")
bad("flatten_end_before_start", {**io, "flat": {"type": "Flatten", "start_dim": 2, "end_dim": -2, "input_type": np.array([2, 3, 4])}},
    [("input", "flat"), ("flat", "output")], "flat", "end_dim")
bad("no_output", {"input": io["input"], "lif": lif4}, [("input", "lif")], "", "nodes")
# Faults inside a nested graph name the path to the node.
bad("subgraph_bad_weight", {**io, "sub": {**inner, "nodes": {**inner["nodes"], "w_rec": {"type": "Linear", "weight": arr((9,))}}}},
    [("input", "sub"), ("sub", "output")], "sub/w_rec", "weight")
bad("subgraph_stateless_cycle", {**io, "sub": {"type": "NIRGraph", "nodes": {
    "input": {"type": "Input", "shape": np.array([4])}, "a": {"type": "Linear", "weight": arr((4, 4))},
    "b": {"type": "Scale", "scale": arr((4,))}, "output": {"type": "Output", "shape": np.array([4])}},
    "edges": [("input", "a"), ("a", "b"), ("b", "a"), ("b", "output")]}}, [("input", "sub"), ("sub", "output")], "sub/a", "edges")

# A dangling edge in a subgraph that is not snnTorch's recurrent layer shape is not repaired.
bad("subgraph_dangling_edge", {**io, "sub": {"type": "NIRGraph", "nodes": {
    "input": {"type": "Input", "shape": np.array([4])}, "a": {"type": "Linear", "weight": arr((4, 4))},
    "output": {"type": "Output", "shape": np.array([4])}},
    "edges": [("input", "a"), ("a", "ghost"), ("a", "output")]}}, [("input", "sub"), ("sub", "output")], "sub/ghost", "edges")


def nest(depth):
    """A graph nested depth levels deep, each level Input -> inner -> Output."""
    node = {"type": "NIRGraph", "nodes": {**io, "lif": lif4}, "edges": path}
    for _ in range(depth - 1):
        node = {"type": "NIRGraph", "nodes": {**io, "g": node}, "edges": [("input", "g"), ("g", "output")]}
    return node


bad("nested_too_deep", {**io, "g": nest(9)}, [("input", "g"), ("g", "output")], "g/" * 8 + "g", "type")

# A dataset that claims 2^27 elements but stores none (chunks never written): the reader refuses it before
# allocating, as a gzip-compressed dataset can claim far more than the file's size.
with h5py.File(os.path.join(out, "huge_dataset.nir"), "w") as f:
    f.create_dataset("version", data="1.0", dtype=h5py.string_dtype())
    root = f.create_group("node")
    put(root, "type", "NIRGraph")
    put(root, "nodes", {**io, "lif": lif4})
    del root["nodes/lif/tau"]
    root["nodes/lif"].create_dataset("tau", shape=(1 << 27,), dtype="f4", chunks=True, compression="gzip",
                                       fillvalue=0.01)
    put(root, "edges", path)
manifest["huge_dataset"] = {"ok": False, "node": "lif", "field": "tau", "message": "more than 67108864 elements"}
with h5py.File(os.path.join(out, "no_graph.nir"), "w") as f:
    f.create_dataset("version", data="1.0", dtype=h5py.string_dtype())
manifest["no_graph"] = {"ok": False, "node": "", "field": "node"}
with open(os.path.join(out, "not_hdf5.nir"), "w") as f:
    f.write("this is not an HDF5 file\n")
manifest["not_hdf5"] = {"ok": False, "node": "", "field": "file"}

with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
