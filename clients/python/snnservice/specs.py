"""Network specs from dicts, YAML or JSON files, and parameter values from plain Python values.

A spec has the shape of the server's JSON API (proto3's JSON mapping of snn.v1.NetworkSpec, field
names lowerCamelCase or as in the .proto), e.g.::

    {"name": "demo",
     "populations": [{"name": "in", "model": "input", "size": 4},
                     {"name": "lif", "model": "snntorch.Leaky", "size": 4, "params": {"beta": {"scalar": 0.9}}}],
     "projections": [{"name": "ff", "source": "in", "target": "lif", "oneToOne": {}}]}

Wherever the mapping takes a list of numbers, a NumPy array works too (it is flattened in row-major
order, the layout the proto documents: dense weights[target][source], conv2d weights[o][i][ky][kx]).

In a YAML or JSON file, such a list may be ``{"npy": "w1.npy"}`` instead: the values of a NumPy
``.npy`` file, its path relative to the spec file, flattened in row-major order. The C# client and
``snn create --file`` read the same form, so one spec file works in both.
"""
import json
import os

import numpy as np
from google.protobuf import json_format

from snnservice import pb


def _plain(value):
    """NumPy arrays and scalars as lists and Python numbers, for json_format."""
    if isinstance(value, np.ndarray):
        return value.ravel().tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


NPY_KEY = "npy"


def read_spec_file(path):
    """The dict in a YAML (.yaml, .yml) or JSON file, with every ``{"npy": FILE}`` replaced by the
    array in that file (relative to the spec file's folder)."""
    with open(path, encoding="utf-8") as f:
        if path.lower().endswith((".yaml", ".yml")):
            import yaml
            data = yaml.safe_load(f)
        else:
            data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError("%s: a network spec must be a mapping at the top level, not %s" % (path, type(data).__name__))
    return _load_npy(data, os.path.dirname(os.path.abspath(path)), path, "")


def _load_npy(value, base, source, where):
    """value with each one-key mapping {"npy": FILE} replaced by np.load(FILE), found relative to base."""
    if isinstance(value, dict):
        # Only {"npy": "FILE"}: a parameter that happens to be named npy keeps its mapping.
        if len(value) == 1 and isinstance(value.get(NPY_KEY), str):
            name = value[NPY_KEY]
            try:
                array = np.load(os.path.join(base, name), allow_pickle=False)
            except (OSError, ValueError) as e:
                raise ValueError("%s: %s: %s: %s" % (source, where, name, e)) from None
            if array.dtype.kind not in "fiu":
                raise ValueError("%s: %s: %s holds %s; a list of numbers needs float or integer values"
                                 % (source, where, name, array.dtype))
            return array
        return {k: _load_npy(v, base, source, "%s.%s" % (where, k) if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_load_npy(v, base, source, "%s[%d]" % (where, i)) for i, v in enumerate(value)]
    return value


def to_spec(spec):
    """A pb.NetworkSpec from a NetworkSpec, a dict, or the path of a YAML or JSON file."""
    if isinstance(spec, pb.NetworkSpec):
        return spec
    source = None
    if isinstance(spec, (str, os.PathLike)):
        source = os.fspath(spec)
        spec = read_spec_file(source)
    if not isinstance(spec, dict):
        raise TypeError("a network spec is a dict, a pb.NetworkSpec or a file path, not %s" % type(spec).__name__)
    try:
        return json_format.ParseDict(_plain(spec), pb.NetworkSpec())
    except json_format.ParseError as e:
        raise ValueError("%sinvalid network spec: %s" % (source + ": " if source else "", e)) from None


def to_parameter_value(value):
    """A pb.ParameterValue from a number (scalar), a sequence or array (one value per neuron), a
    string (a choice) or a bool (a flag); a ParameterValue or its JSON dict pass through."""
    if isinstance(value, pb.ParameterValue):
        return value
    if isinstance(value, dict):
        return json_format.ParseDict(_plain(value), pb.ParameterValue())
    if isinstance(value, (bool, np.bool_)):
        return pb.ParameterValue(flag=bool(value))
    if isinstance(value, str):
        return pb.ParameterValue(text=value)
    if isinstance(value, (int, float, np.number)):
        return pb.ParameterValue(scalar=float(value))
    values = np.asarray(value, dtype=np.float32).ravel()
    return pb.ParameterValue(per_neuron=pb.FloatList(values=values.tolist()))
