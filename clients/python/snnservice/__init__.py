"""Python client for SnnService: create spiking neural networks on a server, stream inputs in and
spikes and state out as NumPy arrays.

    from snnservice import Client

    with Client("http://127.0.0.1:50051") as client, client.temporary_network(spec) as net, \\
            client.run(net, record={"lif": ["mem"]}) as run:
        run.send("in", [0, 2])
        trace = run.collect(10)
        trace.spikes["lif"]        # (10, size) float32
"""
from snnservice.client import DEFAULT_URL, Client, State
from snnservice.errors import SnnError
from snnservice.nir import Conversion, ExportedNetwork, ImportedNetwork, format_report
from snnservice.specs import read_spec_file, to_parameter_value, to_spec
from snnservice.streams import RunSession, Step, Trace, WatchSession

__all__ = ["Client", "Conversion", "DEFAULT_URL", "ExportedNetwork", "ImportedNetwork", "RunSession", "SnnError",
           "State", "Step", "Trace", "WatchSession", "format_report", "read_spec_file", "to_parameter_value", "to_spec"]
