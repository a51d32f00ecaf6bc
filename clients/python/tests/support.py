"""What the tests share: the server to test against and small networks."""
import os
import uuid

SERVER_ENV = "SNN_SERVER"


def server_url():
    """The server under test, from $SNN_SERVER (the C# functional test starts one and sets it)."""
    url = os.environ.get(SERVER_ENV)
    if not url:
        raise RuntimeError("set %s to the URL of a running SnnService server, e.g. http://127.0.0.1:50051 "
                           "(tests/Snn.FunctionalTests starts one and sets it)" % SERVER_ENV)
    return url


def unique(prefix="pyt"):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


def iaf_spec(name=None, size=4, instances=1, clock=None):
    """in (input) -> one-to-one -> iaf (sinabs.IAF, threshold 1): an input spike of value >= 1 makes
    the target neuron spike at the same step."""
    spec = {
        "populations": [
            {"name": "in", "model": "input", "size": size},
            {"name": "iaf", "model": "sinabs.IAF", "size": size, "params": {"spike_threshold": {"scalar": 1.0}}},
        ],
        "projections": [{"name": "ff", "source": "in", "target": "iaf", "oneToOne": {}}],
        "instances": instances,
    }
    if name:
        spec["name"] = name
    if clock:
        spec["clock"] = clock
    return spec


def leaky_spec(name=None, size=3, beta=0.5):
    """A single snntorch.Leaky population driven by currents."""
    spec = {"populations": [{"name": "lif", "model": "snntorch.Leaky", "size": size,
                             "params": {"beta": {"scalar": beta}}}]}
    if name:
        spec["name"] = name
    return spec
