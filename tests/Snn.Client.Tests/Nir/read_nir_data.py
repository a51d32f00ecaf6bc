"""Reads a NIR data file the way nir.read_data does (nir/serialization.py) and prints it as JSON.

It follows read_data's steps: the root's __type__ attribute must be "NIRGraphData"; each node group's
__type__ is "NIRNodeData" (or a nested "NIRGraphData"); each observable's __type__ picks TimeGriddedData
(dataset 'data', attribute 'dt') or EventData / ValuedEventData (datasets 'idx', 'time' and 'value',
attributes 'n_neurons' and 't_max'), with the checks the data IR's constructors make (data of rank 3,
idx and time of one shape). Each dataset is printed with its dtype, shape and values.
Usage: read_nir_data.py FILE. Exit 3 when h5py is missing, 1 on a layout fault.
"""
import json
import math
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # the test turns this into a message naming the package
    print(f"missing module: {e.name}", file=sys.stderr)
    sys.exit(3)


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def array(ds):
    a = ds[()]
    values = [float(x) if a.dtype.kind == "f" else int(x) for x in a.ravel()]
    # JSON has no infinity; read_data pads missing events with inf, so say it in words.
    values = ["inf" if isinstance(x, float) and math.isinf(x) else x for x in values]
    return {"dtype": str(a.dtype), "shape": list(a.shape), "values": values}


def observable(g, path):
    kind = g.attrs["__type__"]
    if not isinstance(kind, str):
        fail(f"{path}: __type__ reads as {type(kind).__name__}, read_data compares it with str")
    if kind == "TimeGriddedData":
        data = array(g["data"])
        if len(data["shape"]) != 3:
            fail(f"{path}: data has rank {len(data['shape'])}; TimeGriddedData needs (samples, steps, neurons)")
        return {"type": kind, "data": data, "dt": float(g.attrs["dt"])}
    if kind in ("EventData", "ValuedEventData"):
        out = {"type": kind, "idx": array(g["idx"]), "time": array(g["time"]),
               "n_neurons": int(g.attrs["n_neurons"]), "t_max": float(g.attrs["t_max"])}
        if out["idx"]["shape"] != out["time"]["shape"]:
            fail(f"{path}: idx {out['idx']['shape']} and time {out['time']['shape']} differ in shape")
        if kind == "ValuedEventData":
            out["value"] = array(g["value"])
        return out
    fail(f"{path}: unknown observable type {kind}")


def graph(g, path):
    nodes = {}
    for name, node in g["nodes"].items():
        kind = node.attrs["__type__"]
        if kind == "NIRNodeData":
            nodes[name] = {k: observable(o, f"{path}{name}/{k}") for k, o in node["observables"].items()}
        elif kind == "NIRGraphData":
            nodes[name] = graph(node, f"{path}{name}/")
        else:
            fail(f"{path}{name}: unknown node type {kind}")
    return nodes


with h5py.File(sys.argv[1], "r") as f:
    if f.attrs.get("__type__") != "NIRGraphData":
        fail("the root is not NIRGraphData")
    print(json.dumps(graph(f, "")))
