"""Reads a NIR file the way nir.read does (nir/serialization.py's read_node) and prints it as JSON.

The NIR writer's tests run this on files our writer wrote: h5py must open them, every node's type must be
one read_node dispatches on, every field read_node reads must be there (optional ones: input_shape,
input_type, v_reset), and edges must decode as nir.read decodes them (bytes -> utf-8). Each dataset is
printed with its dtype, shape and values (floats with full precision), so the test compares them to the
graph it wrote. Usage: read_nir_file.py FILE. Exit 3 when h5py is missing, 1 on a layout fault.
"""
import json
import sys

try:
    import h5py
    import numpy as np
except ImportError as e:  # the test turns this into a message naming the package
    print(f"missing module: {e.name}", file=sys.stderr)
    sys.exit(3)

# The fields nir.read's read_node reads for each type (beyond 'type'); optional ones it tests for first.
REQUIRED = {
    "Affine": ["weight", "bias"], "Linear": ["weight"], "Scale": ["scale"],
    "Conv1d": ["weight", "stride", "padding", "dilation", "groups", "bias"],
    "Conv2d": ["weight", "stride", "padding", "dilation", "groups", "bias"],
    "SumPool2d": ["kernel_size", "stride", "padding"], "AvgPool2d": ["kernel_size", "stride", "padding"],
    "Delay": ["delay"], "Flatten": ["start_dim", "end_dim"], "I": ["r"], "IF": ["r", "v_threshold"],
    "Input": ["shape"], "Output": ["shape"], "LI": ["tau", "r", "v_leak"],
    "LIF": ["tau", "r", "v_leak", "v_threshold"], "CubaLI": ["tau_mem", "tau_syn", "r", "v_leak", "w_in"],
    "CubaLIF": ["tau_mem", "tau_syn", "r", "v_leak", "v_threshold", "w_in"], "Threshold": ["threshold"],
}
OPTIONAL = {"Conv1d": ["input_shape"], "Conv2d": ["input_shape"], "Flatten": ["input_type"], "IF": ["v_reset"],
            "LIF": ["v_reset"], "CubaLIF": ["v_reset"]}


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def dataset(value):
    """A dataset's dtype, shape and values as read_node gets them from node[key][()]."""
    if isinstance(value, bytes):
        return {"dtype": "string", "value": value.decode("utf8")}
    array = np.asarray(value)
    return {"dtype": str(array.dtype), "shape": list(array.shape),
            "values": [float(x) if array.dtype.kind == "f" else int(x) for x in array.ravel()]}


def check_string(ds, path):
    """nir.write stores Python strings with h5py.string_dtype(): variable-length UTF-8."""
    info = h5py.check_string_dtype(ds.dtype)
    if info is None or info.length is not None or info.encoding != "utf-8":
        fail(f"{path}: stored as {ds.dtype} ({info}), nir.write stores variable-length UTF-8 strings")


def read_node(group, path):
    if "type" not in group:
        fail(f"{path}: no 'type'")
    check_string(group["type"], path + "/type")
    kind = group["type"][()]
    if not isinstance(kind, bytes):
        fail(f"{path}: 'type' reads as {type(kind).__name__}, read_node compares it with bytes")
    kind = kind.decode("utf8")
    if kind == "NIRGraph":
        nodes = {k: read_node(n, f"{path}/{k}") for k, n in group["nodes"].items()}
        if group["edges"].size:
            check_string(group["edges"], path + "/edges")
        raw = group["edges"][()]
        edges = [[a.decode("utf8"), b.decode("utf8")] for a, b in raw] if raw.size else []
        return {"type": kind, "nodes": nodes, "edges": edges}
    if kind not in REQUIRED:
        fail(f"{path}: read_node has no case for type '{kind}'")
    fields = {}
    for key in REQUIRED[kind]:
        if key not in group:
            fail(f"{path}: read_node needs '{key}' for a {kind}")
        if group[key].dtype.kind == "O":
            check_string(group[key], f"{path}/{key}")
        elif group[key].ndim > 0 and group[key].compression != "gzip":
            fail(f"{path}/{key}: stored {group[key].compression}, nir.write gzips arrays")
        fields[key] = dataset(group[key][()])
    for key in OPTIONAL.get(kind, []):
        if key in group:
            fields[key] = dataset(group[key][()])
    extra = set(group.keys()) - set(REQUIRED[kind]) - set(OPTIONAL.get(kind, [])) - {"type", "metadata"}
    if extra:
        fail(f"{path}: fields nir does not write for a {kind}: {sorted(extra)}")
    return {"type": kind, "fields": fields}


with h5py.File(sys.argv[1], "r") as f:
    check_string(f["version"], "version")
    version = f["version"][()].decode("utf8")  # as nir.read_version does
    print(json.dumps({"version": version, "graph": read_node(f["node"], "")}))
