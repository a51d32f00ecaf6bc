"""The SnnService client: networks, Run and Watch sessions, state, over grpcio."""
import contextlib
import urllib.parse
import uuid

import grpc
import numpy as np

from snnservice import pb
from snnservice.errors import SnnError, from_rpc_error
from snnservice.nir import ExportedNetwork, ImportedNetwork, read_nir, write_nir
from snnservice.specs import to_parameter_value, to_spec
from snnservice.streams import RunSession, WatchSession, record_specs

DEFAULT_URL = "http://127.0.0.1:50051"
# The server's default Snn:MaxMessageBytes; grpcio's own send limit is unbounded.
DEFAULT_MAX_MESSAGE_BYTES = 4 << 20


class State:
    """State variables read with Client.get_state: ``step`` is the instance's next step (the values
    are those after step - 1); ``variables`` maps each variable to a float32 array, also reachable
    as ``state["mem"]``."""

    def __init__(self, response):
        self.step = response.step
        self.variables = {v.variable: np.asarray(v.values, dtype=np.float32) for v in response.variables}

    def __getitem__(self, variable):
        return self.variables[variable]

    def __repr__(self):
        return "State(step=%d, variables=%s)" % (self.step, sorted(self.variables))


def _target(url):
    """(host:port, secure) from http://host:port, https://host:port or host:port."""
    if "://" not in url:
        return url, False
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ValueError("server URL %r: use http://host:port (h2c) or https://host:port (TLS)" % url)
    host = "[%s]" % u.hostname if ":" in u.hostname else u.hostname
    return "%s:%d" % (host, u.port or (443 if u.scheme == "https" else 80)), u.scheme == "https"


def _name(network):
    return network.spec.name if isinstance(network, pb.Network) else network


class Client:
    """A connection to an SnnService server.

    ``url``: ``http://host:port`` (cleartext HTTP/2) or ``https://host:port`` (TLS; ``credentials``
    overrides grpc.ssl_channel_credentials()). ``api_key`` is sent as ``authorization: Bearer KEY``
    with every call, ``metadata`` (pairs) too. ``timeout``: seconds each unary call may take.
    A context manager: leaving it deletes the networks made with ``temporary_network`` that are
    still there, ends the sessions it opened and closes the channel.
    """

    def __init__(self, url=DEFAULT_URL, api_key=None, *, timeout=30.0, metadata=(), credentials=None,
                 max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES, options=()):
        target, secure = _target(url)
        opts = [("grpc.max_send_message_length", max_message_bytes),
                ("grpc.max_receive_message_length", max_message_bytes)] + list(options)
        if secure:
            self.channel = grpc.secure_channel(target, credentials or grpc.ssl_channel_credentials(), opts)
        else:
            self.channel = grpc.insecure_channel(target, opts)
        self.url = url
        self.timeout = timeout
        self._metadata = tuple(metadata) + ((("authorization", "Bearer " + api_key),) if api_key else ())
        self._temporary = []
        self._sessions = []
        self._stubs = {}
        for method in pb.SERVICE.methods:
            kind = ("stream_" if method.client_streaming else "unary_") + ("stream" if method.server_streaming else "unary")
            request, response = getattr(pb, method.input_type.name), getattr(pb, method.output_type.name)
            self._stubs[method.name] = getattr(self.channel, kind)(
                "/%s/%s" % (pb.SERVICE.full_name, method.name),
                request_serializer=request.SerializeToString, response_deserializer=response.FromString)

    # -- unary calls -------------------------------------------------------------------------------

    def _call(self, method, request, timeout=None):
        try:
            return self._stubs[method](request, timeout=timeout or self.timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise from_rpc_error(e, method) from None

    def server_info(self):
        """pb.ServerInfo: version, backend, limits, the model catalogue, usage."""
        return self._call("GetServerInfo", pb.GetServerInfoRequest())

    def create_network(self, spec):
        """Creates a network from a dict (the JSON API's shape), a YAML or JSON file path, or a
        pb.NetworkSpec. Returns the pb.Network as the server holds it."""
        return self._call("CreateNetwork", pb.CreateNetworkRequest(spec=to_spec(spec)))

    @contextlib.contextmanager
    def temporary_network(self, spec):
        """Creates a network for the ``with`` block and deletes it after. A spec without a name gets
        a unique one (``py-`` and 12 hex digits). Yields the pb.Network."""
        spec = to_spec(spec)
        if not spec.name:
            spec = pb.NetworkSpec.FromString(spec.SerializeToString())
            spec.name = "py-" + uuid.uuid4().hex[:12]
        network = self.create_network(spec)
        self._temporary.append(spec.name)
        try:
            yield network
        finally:
            self._delete_temporary(spec.name)

    def _delete_temporary(self, name):
        if name in self._temporary:
            self._temporary.remove(name)
            try:
                self.delete_network(name)
            except SnnError as e:
                if e.code != grpc.StatusCode.NOT_FOUND:
                    raise

    def get_network(self, name, include_weights=False):
        """pb.Network: spec (weights only with include_weights), feed-forward order, instances."""
        return self._call("GetNetwork", pb.GetNetworkRequest(name=_name(name), include_weights=include_weights))

    def list_networks(self):
        """Every network on the server, as a list of pb.Network (specs without weights)."""
        return list(self._call("ListNetworks", pb.ListNetworksRequest()).networks)

    def delete_network(self, name):
        """Deletes a network; its open Run and Watch streams end with ABORTED."""
        self._call("DeleteNetwork", pb.DeleteNetworkRequest(name=_name(name)))

    def import_network(self, name, nir, *, flavor="generic", dt=0.0, strict=False, instances=0):
        """Creates the network ``name`` from a NIR graph: ``nir`` is the path of a .nir file (str or
        os.PathLike) or its bytes. ``flavor``: whose discretisation the continuous-time nodes get,
        "generic" (NIR's equations integrated exactly), "snntorch", "norse" or "sinabs" (step as that
        library's importer builds the module). ``dt``: seconds per step (0 = the server's 0.001).
        ``strict``: refuse (FAILED_PRECONDITION) instead of importing with lossy conversions flagged.
        ``instances``: as in a spec (0 = 1). Returns an ImportedNetwork: ``network`` and ``report``."""
        request = pb.ImportNetworkRequest(name=name, nir=read_nir(nir), flavor=flavor, dt=dt, strict=strict,
                                          instances=instances)
        return ImportedNetwork(self._call("ImportNetwork", request))

    def export_network(self, name, path=None):
        """Writes a network as a NIR graph. Returns an ExportedNetwork: ``nir`` (the .nir file's bytes)
        and ``report``; with ``path`` the file is also written there."""
        exported = ExportedNetwork(self._call("ExportNetwork", pb.ExportNetworkRequest(name=_name(name))), path)
        if path is not None:
            write_nir(path, exported.nir)
        return exported

    def set_parameters(self, network, populations=None, projections=None):
        """Changes parameters and weights from the next step, all or nothing.

        ``populations``: ``{population: {parameter: value}}`` (a number, an array per neuron, a choice
        string or a bool). ``projections``: ``{projection: weights}`` or ``{projection: {"weights":
        array, "bias": array}}`` (dense weights as weights[target][source]). Returns the step of
        instance 0 from which the change applies.
        """
        request = pb.SetParametersRequest(network=_name(network))
        for population, params in (populations or {}).items():
            item = request.populations.add(population=population)
            for key, value in params.items():
                item.params[key].CopyFrom(to_parameter_value(value))
        for projection, value in (projections or {}).items():
            item = request.projections.add(projection=projection)
            weights, bias = (value.get("weights"), value.get("bias")) if isinstance(value, dict) else (value, None)
            if weights is not None:
                item.weights.extend(np.asarray(weights, dtype=np.float32).ravel().tolist())
            if bias is not None:
                item.bias.extend(np.asarray(bias, dtype=np.float32).ravel().tolist())
        return self._call("SetParameters", request).effective_step

    def reset_state(self, network, instance=None):
        """Resets one instance, or every instance when ``instance`` is None, to step 0."""
        request = pb.ResetStateRequest(network=_name(network))
        if instance is not None:
            request.instance = instance
        self._call("ResetState", request)

    def get_state(self, network, population, instance=0, variables=None, neurons=None):
        """Reads state variables (all of the model's by default) of all or the given neurons. Returns
        a State: ``state.step`` and ``state["mem"]`` as float32 arrays."""
        request = pb.GetStateRequest(network=_name(network), instance=instance, population=population,
                                     variables=[variables] if isinstance(variables, str) else (variables or []),
                                     neurons=[] if neurons is None else np.asarray(neurons).ravel().tolist())
        return State(self._call("GetState", request))

    # -- streams -----------------------------------------------------------------------------------

    def _sizes(self, network):
        return {p.name: p.size for p in self.get_network(network).spec.populations}

    def run(self, network, instance=0, *, spikes_from=None, record=None, reset=False, status_interval_ms=0,
            timeout=None):
        """Opens a Run stream as the instance's driver and returns the RunSession (a context manager).

        ``spikes_from``: populations whose spikes come back (default: every non-input population).
        ``record``: state to record, ``{"lif": ["mem"]}`` or a list of dicts (population, variables,
        neurons, every). ``reset``: start the instance from step 0. ``timeout``: seconds the whole
        stream may last (none by default).
        """
        name = _name(network)
        sizes = self._sizes(name)
        open_request = pb.RunOpen(network=name, instance=instance, spikes_from=list(spikes_from or []),
                                  record=record_specs(record), reset=reset, status_interval_ms=status_interval_ms)
        session = RunSession(self, self._stubs["Run"], open_request, sizes, timeout)
        self._track(session)
        return session

    def watch(self, network, instance=0, *, spikes_from=None, record=None, lossy=False, queue=0,
              status_interval_ms=0, timeout=None):
        """Follows an instance's outputs without driving it; returns the WatchSession (a context
        manager). ``lossy``: drop the oldest outputs when more than ``queue`` steps (default 256)
        wait, instead of being cut off with RESOURCE_EXHAUSTED."""
        name = _name(network)
        sizes = self._sizes(name)
        request = pb.WatchRequest(network=name, instance=instance, spikes_from=list(spikes_from or []),
                                  record=record_specs(record), lossy=lossy, queue=queue,
                                  status_interval_ms=status_interval_ms)
        session = WatchSession(self, self._stubs["Watch"], request, sizes, timeout)
        self._track(session)
        return session

    def _track(self, session):
        self._sessions = [s for s in self._sessions if not s.closed] + [session]

    # -- lifetime ----------------------------------------------------------------------------------

    def close(self):
        """Ends the sessions this client opened, deletes its temporary networks, closes the channel."""
        try:
            for session in self._sessions:
                session.close()
            self._sessions = []
            for name in list(self._temporary):
                self._delete_temporary(name)
        finally:
            self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
