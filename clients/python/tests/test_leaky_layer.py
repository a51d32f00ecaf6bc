"""The snntorch Leaky example (examples/leaky_layer.py) against its NumPy reimplementation, and the
client against snntorch's own recorded outputs (tests/data/refcases/snntorch_leaky_*.json)."""
import glob
import importlib.util
import io
import json
import os
import unittest
from contextlib import redirect_stdout

import numpy as np
from google.protobuf import json_format

from snnservice import Client, to_parameter_value

import support

HERE = os.path.dirname(os.path.abspath(__file__))
REFCASES = os.environ.get("SNN_REFCASES", os.path.join(HERE, "..", "..", "..", "tests", "data", "refcases"))


def load_example():
    path = os.path.join(HERE, "..", "examples", "leaky_layer.py")
    spec = importlib.util.spec_from_file_location("leaky_layer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


class LeakyLayerExampleTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.example = load_example()

    def setUp(self):
        self.client = Client(support.server_url())
        self.addCleanup(self.client.close)

    def check(self, weights, beta, threshold, inputs, bias=None):
        before = {n.spec.name for n in self.client.list_networks()}
        spikes, mem = self.example.run_leaky_layer(self.client, weights, beta, threshold, inputs, bias)
        ref_spikes, ref_mem = self.example.numpy_leaky_layer(weights, beta, threshold, inputs, bias)
        self.assertEqual(spikes.shape, (len(inputs), weights.shape[0]))
        self.assertTrue(np.array_equal(spikes, ref_spikes), "spikes differ at %s" % np.argwhere(spikes != ref_spikes)[:5])
        self.assertTrue(np.array_equal(bits(mem), bits(ref_mem)), "mem differs at %s" % np.argwhere(bits(mem) != bits(ref_mem))[:5])
        self.assertEqual({n.spec.name for n in self.client.list_networks()}, before, "the example left a network behind")
        return spikes

    def test_random_layer_bit_exact(self):
        rng = np.random.default_rng(11)
        weights = rng.normal(0, 0.6, size=(16, 40)).astype(np.float32)
        inputs = (rng.random((80, 40)) < 0.25).astype(np.float32)
        spikes = self.check(weights, 0.9, 1.0, inputs)
        self.assertGreater(spikes.sum(), 20)  # the layer does spike, and not always
        self.assertLess(spikes.sum(), spikes.size / 2)

    def test_graded_inputs_bias_and_clamped_beta(self):
        rng = np.random.default_rng(12)
        weights = rng.normal(0, 0.4, size=(7, 9)).astype(np.float32)
        inputs = np.where(rng.random((50, 9)) < 0.3, rng.uniform(0.5, 2.0, (50, 9)), 0).astype(np.float32)
        bias = rng.normal(0, 0.05, 7).astype(np.float32)
        self.assertGreater(self.check(weights, 1.3, 0.75, inputs, bias).sum(), 0)

    def test_the_example_script(self):
        out = io.StringIO()
        with redirect_stdout(out):
            code = self.example.main(["--server", support.server_url(), "--steps", "40"])
        self.assertEqual(code, 0, out.getvalue())
        self.assertIn("bit for bit: True", out.getvalue())


class SnntorchReferenceCaseTests(unittest.TestCase):
    """Each case's input currents, one instance per batch row, through a snntorch.Leaky population:
    spikes and mem must equal what snntorch produced, bit for bit."""

    def test_snntorch_leaky_cases(self):
        paths = sorted(glob.glob(os.path.join(REFCASES, "snntorch_leaky_*.json")))
        self.assertGreaterEqual(len(paths), 5, "no snntorch_leaky_*.json reference cases under %s" % REFCASES)
        with Client(support.server_url()) as client:
            catalogue = {m.name: {p.name for p in m.parameters} for m in client.server_info().models}
            for path in paths:
                with self.subTest(case=os.path.basename(path)):
                    self.replay(client, catalogue["snntorch.Leaky"], path)

    def replay(self, client, known, path):
        with open(path) as f:
            case = json.load(f)
        batch, steps, neurons = (case["shape"][k] for k in ("batch", "time", "neurons"))
        params = {k: json_format.MessageToDict(to_parameter_value(v)) for k, v in case["params"].items() if k in known}
        spec = {"populations": [{"name": "lif", "model": "snntorch.Leaky", "size": neurons, "params": params}],
                "instances": batch}
        inputs = np.asarray(case["input"], dtype=np.float32)
        with client.temporary_network(spec) as net:
            for b in range(batch):
                with client.run(net, b, record={"lif": ["mem"]}) as run:
                    run.send("lif", current=inputs[b])
                    trace = run.collect(steps)
                expected_spikes = np.asarray(case["spikes"][b], dtype=np.float32)
                expected_mem = np.asarray(case["states"]["mem"][b], dtype=np.float32)
                self.assertTrue(np.array_equal(trace.spikes["lif"], expected_spikes),
                                "batch %d: spikes differ at %s" % (b, np.argwhere(trace.spikes["lif"] != expected_spikes)[:5]))
                self.assertTrue(np.array_equal(bits(trace.states["lif"]["mem"]), bits(expected_mem)),
                                "batch %d: mem differs at %s" % (b, np.argwhere(trace.states["lif"]["mem"] != expected_mem)[:5]))


if __name__ == "__main__":
    unittest.main()
