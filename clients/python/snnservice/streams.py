"""Run and Watch sessions: the outputs of an instance's steps as NumPy arrays."""
import collections
import queue
import threading

import grpc
import numpy as np

from snnservice import pb
from snnservice.errors import SnnError, from_rpc_error

# How long close() waits for the server to end a Run stream it has half-closed before cancelling it.
_CLOSE_WAIT_S = 10.0


class Step:
    """The outputs of one executed step.

    ``step``: the step number. ``spikes[population]``: float32 array of the population's size, the
    spike value of each neuron (0 where none; 1, or the graded value or spike count). ``states[population][variable]``:
    float32 array of the recorded neurons' values after the step (only at steps the record covers).
    ``message``: the pb.StepOutput as received.
    """

    __slots__ = ("step", "spikes", "states", "message")

    def __init__(self, message, spike_populations, records, sizes):
        self.message = message
        self.step = message.step
        self.spikes = {name: np.zeros(sizes[name], dtype=np.float32) for name in spike_populations}
        for s in message.spikes:
            dense = self.spikes[spike_populations[s.population]]
            if len(s.values):
                dense[np.asarray(s.indices, dtype=np.intp)] = np.asarray(s.values, dtype=np.float32)
            else:
                dense[np.asarray(s.indices, dtype=np.intp)] = 1.0
        self.states = {}
        for t in message.states:
            population = records[t.record].population
            self.states.setdefault(population, {})[t.variable] = np.asarray(t.values, dtype=np.float32)

    def spike_indices(self, population):
        """Indices of the neurons of ``population`` that spiked, ascending."""
        return np.flatnonzero(self.spikes[population])

    def __repr__(self):
        counts = ", ".join("%s: %d" % (p, np.count_nonzero(a)) for p, a in self.spikes.items())
        return "Step(%d, spikes {%s})" % (self.step, counts)


class Trace:
    """Consecutive steps stacked: ``steps`` (int64, one per step), ``spikes[population]`` of shape
    (steps, population size), ``states[population][variable]`` of shape (recorded steps, recorded
    neurons) with ``state_steps[population]`` the step numbers those rows belong to."""

    def __init__(self, steps, spike_populations, sizes):
        self.steps = np.array([s.step for s in steps], dtype=np.int64)
        self.spikes = {p: (np.stack([s.spikes[p] for s in steps]) if steps else np.zeros((0, sizes[p]), np.float32))
                       for p in spike_populations}
        rows = collections.defaultdict(lambda: collections.defaultdict(list))
        state_steps = collections.defaultdict(list)
        for s in steps:
            for population, variables in s.states.items():
                state_steps[population].append(s.step)
                for variable, values in variables.items():
                    rows[population][variable].append(values)
        self.states = {p: {v: np.stack(r) for v, r in vs.items()} for p, vs in rows.items()}
        self.state_steps = {p: np.array(st, dtype=np.int64) for p, st in state_steps.items()}


def record_specs(record):
    """pb.RecordSpec list from ``{"population": [variables]}``, or a list of dicts with the keys
    population, variables, neurons (a list, array or range) and every, or of pb.RecordSpec."""
    if record is None:
        return []
    if isinstance(record, dict):
        record = [{"population": p, "variables": v} for p, v in record.items()]
    specs = []
    for r in record:
        population = r.population if isinstance(r, pb.RecordSpec) else r["population"]
        if any(s.population == population for s in specs):
            raise ValueError("record: population '%s' is named twice; record it once, with all its variables"
                             % population)
        if isinstance(r, pb.RecordSpec):
            specs.append(r)
            continue
        variables = r.get("variables", ["*"])
        spec = pb.RecordSpec(population=r["population"],
                             variables=[variables] if isinstance(variables, str) else list(variables),
                             every=int(r.get("every", 0)))
        neurons = r.get("neurons")
        if isinstance(neurons, range):
            if neurons.step != 1:
                raise ValueError("record neurons: a range must have step 1; give a list for other selections")
            spec.range.start, spec.range.end = neurons.start, neurons.stop
        elif neurons is not None:
            spec.indices.values.extend(int(i) for i in np.asarray(neurons).ravel())
        specs.append(spec)
    return specs


class _OutputStream:
    """What Run and Watch share: the response stream, split into steps."""

    def __init__(self, call, method, sizes):
        self._call = call
        self._method = method
        self._sizes = sizes
        self._pending = collections.deque()
        self._ended = False
        self.status = None
        self.dropped = 0
        first = self._receive()
        if first is None or not first.HasField("opened"):
            self._call.cancel()
            raise SnnError(grpc.StatusCode.INTERNAL, "the server's first response was not `opened`", method)
        self.opened = first.opened
        self.spike_populations = list(first.opened.spike_populations)
        self.records = list(first.opened.records)

    def _receive(self):
        """The next response, or None at the end of the stream."""
        try:
            response = next(self._call)
        except StopIteration:
            self._ended = True
            return None
        except grpc.RpcError as e:
            self._ended = True
            raise from_rpc_error(e, self._method) from None
        if response.HasField("status"):
            self.status = response.status
        self.dropped += response.dropped_before
        self._pending.extend(response.steps)
        return response

    def next_step(self):
        """The next step's outputs, waiting for them; None when the stream has ended."""
        while not self._pending:
            if self._ended or self._receive() is None:
                return None
        return Step(self._pending.popleft(), self.spike_populations, self.records, self._sizes)

    def read(self, n):
        """The outputs of the next ``n`` steps, waiting for them."""
        steps = []
        for _ in range(n):
            s = self.next_step()
            if s is None:
                raise SnnError(grpc.StatusCode.UNAVAILABLE,
                               "the stream ended after %d of %d steps" % (len(steps), n), self._method)
            steps.append(s)
        return steps

    def read_trace(self, n):
        """The next ``n`` steps stacked into a Trace."""
        return Trace(self.read(n), self.spike_populations, self._sizes)

    def __iter__(self):
        while True:
            s = self.next_step()
            if s is None:
                return
            yield s

    @property
    def closed(self):
        """Whether close() was called."""
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class RunSession(_OutputStream):
    """Drives one instance (the Run stream). Queue inputs with ``send``; ``advance(n)`` sends them
    and executes n steps (LOCKSTEP); read the outputs with ``read``, ``collect`` or by iterating.
    A context manager: leaving it ends the stream; the instance keeps its state."""

    def __init__(self, client, stub, open_request, sizes, timeout):
        self._requests = queue.Queue()
        self._queued = []
        self._closed = False
        call = stub(iter(self._requests.get, None), timeout=timeout, metadata=client._metadata)
        self._requests.put(pb.RunRequest(open=open_request))
        try:
            super().__init__(call, "Run", sizes)
        except BaseException:
            self._requests.put(None)  # ends grpc's request thread
            raise

    def send(self, population, indices=None, values=None, *, spikes=None, current=None, offset=0, step=None):
        """Queues input for ``population``, sent with the next ``advance`` (or ``flush``).

        One of: ``indices`` (neuron indices, with optional ``values``, 1 each by default); ``spikes``, a
        NumPy array of the population's size whose nonzero entries are events (their values kept), or
        of shape (steps, size) for consecutive steps; ``current``, a dense float array of the
        population's size added to every neuron, or (steps, size). ``offset`` is the step relative to
        the next one the following advance executes (``step`` an absolute step instead); 2-D arrays
        fill ``offset``, ``offset + 1``, ...
        """
        given = [x is not None for x in (indices, spikes, current)]
        if sum(given) != 1:
            raise ValueError("send() takes exactly one of indices, spikes or current")
        if indices is not None:
            self._queue(population, offset, step, indices=np.asarray(indices, dtype=np.int64).ravel(),
                        values=None if values is None else np.asarray(values, dtype=np.float32).ravel())
            return
        dense = np.asarray(spikes if spikes is not None else current, dtype=np.float32)
        size = self._sizes.get(population)
        rows = dense.reshape(1, -1) if dense.ndim == 1 else dense.reshape(dense.shape[0], -1)
        if size is not None and rows.shape[1] != size:
            raise ValueError("%s for population '%s' has %d values per step; the population has %d neurons"
                             % ("spikes" if spikes is not None else "current", population, rows.shape[1], size))
        for t, row in enumerate(rows):
            at = (offset + t, None) if step is None else (0, step + t)
            if current is not None:
                self._queue(population, *at, current=row)
                continue
            idx = np.flatnonzero(row)
            if idx.size:
                v = row[idx]
                self._queue(population, *at, indices=idx, values=None if np.all(v == 1.0) else v)

    def _queue(self, population, offset, step, indices=None, values=None, current=None):
        item = pb.Input(population=population, offset=int(offset))
        if step is not None:
            item.step = int(step)
        if indices is not None:
            item.indices.extend(indices.tolist())
        if values is not None:
            item.values.extend(values.tolist())
        if current is not None:
            item.current.extend(current.tolist())
        self._queued.append(item)

    def advance(self, n=1):
        """Sends the queued inputs and asks for ``n`` steps (LOCKSTEP; 0 only sends the inputs, as
        REALTIME networks need)."""
        if self._closed:
            raise ValueError("the run session is closed")
        self._requests.put(pb.RunRequest(inputs=self._queued, advance=int(n)))
        self._queued = []

    def flush(self):
        """Sends the queued inputs without advancing."""
        self.advance(0)

    def collect(self, n):
        """Advances ``n`` steps and returns their outputs as a Trace."""
        self.advance(n)
        return self.read_trace(n)

    def close(self):
        """Ends the stream: half-closes it and waits (up to 10 s) for the server to end it, so the
        instance is free for another driver when this returns; cancels it after that."""
        if self._closed:
            return
        self._closed = True
        self._requests.put(None)
        if not self._ended:
            drain = threading.Thread(target=self._drain, daemon=True)
            drain.start()
            drain.join(_CLOSE_WAIT_S)
        self._call.cancel()

    def _drain(self):
        try:
            for _ in self._call:
                pass
        except grpc.RpcError:
            pass


class WatchSession(_OutputStream):
    """Follows an instance's outputs without driving it (the Watch stream). Iterate it or ``read(n)``;
    a context manager that cancels the stream when left."""

    def __init__(self, client, stub, request, sizes, timeout):
        self._closed = False
        super().__init__(stub(request, timeout=timeout, metadata=client._metadata), "Watch", sizes)

    def close(self):
        """Cancels the stream."""
        self._closed = True
        self._call.cancel()
