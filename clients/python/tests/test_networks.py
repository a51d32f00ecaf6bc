"""Client(url), server_info and the network calls: create (dict, YAML, JSON, NumPy weights), get,
list, delete."""
import json
import os
import tempfile
import unittest

import grpc
import numpy as np

from snnservice import Client, SnnError, pb, to_spec

import support


class NetworkTests(unittest.TestCase):
    def setUp(self):
        self.client = Client(support.server_url())
        self.addCleanup(self.client.close)
        self.names = []
        self.addCleanup(self._delete_created)

    def _delete_created(self):
        for name in self.names:
            try:
                self.client.delete_network(name)
            except SnnError:
                pass

    def create(self, spec):
        network = self.client.create_network(spec)
        self.names.append(network.spec.name)
        return network

    def test_server_info_lists_the_models(self):
        info = self.client.server_info()
        models = {m.name for m in info.models}
        self.assertIn("snntorch.Leaky", models)
        self.assertIn("sinabs.IAF", models)
        self.assertGreater(info.limits.max_message_bytes, 0)

    def test_create_from_dict_then_get_list_delete(self):
        name = support.unique()
        network = self.create(support.iaf_spec(name, size=5))
        self.assertEqual(network.spec.name, name)
        self.assertEqual(list(network.order), ["in", "iaf"])
        self.assertEqual(network.neurons, 10)

        got = self.client.get_network(name)
        self.assertEqual([p.size for p in got.spec.populations], [5, 5])
        self.assertEqual(got.instances[0].step, 0)
        self.assertIn(name, [n.spec.name for n in self.client.list_networks()])

        self.client.delete_network(name)
        self.assertNotIn(name, [n.spec.name for n in self.client.list_networks()])
        with self.assertRaises(SnnError) as caught:
            self.client.get_network(name)
        self.assertEqual(caught.exception.code, grpc.StatusCode.NOT_FOUND)

    def test_create_from_a_yaml_file(self):
        name = support.unique()
        yaml_text = """
name: %s
dt: 0.002
populations:
  - {name: in, model: input, size: 3}
  - name: lif
    model: snntorch.Leaky
    size: 2
    params:
      beta: {scalar: 0.8}
      threshold: {perNeuron: {values: [0.5, 1.5]}}
projections:
  - name: fc
    source: in
    target: lif
    dense: {weights: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]}
""" % name
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "net.yaml")
            with open(path, "w") as f:
                f.write(yaml_text)
            self.create(path)
        got = self.client.get_network(name, include_weights=True)
        self.assertAlmostEqual(got.spec.dt, 0.002)
        self.assertEqual(list(got.spec.projections[0].dense.weights),
                         np.float32([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]).tolist())
        self.assertEqual(list(got.spec.populations[1].params["threshold"].per_neuron.values), [0.5, 1.5])

    def test_create_from_a_json_file(self):
        name = support.unique()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "net.json")
            with open(path, "w") as f:
                json.dump(support.iaf_spec(name, size=2, instances=3), f)
            network = self.create(path)
        self.assertEqual(len(network.instances), 3)

    def test_numpy_weights_reach_the_server_bit_for_bit(self):
        name = support.unique()
        weights = np.random.default_rng(1).normal(size=(3, 4)).astype(np.float32)  # [target][source]
        spec = {"name": name,
                "populations": [{"name": "in", "model": "input", "size": 4},
                                {"name": "lif", "model": "snntorch.Leaky", "size": 3,
                                 "params": {"beta": {"scalar": np.float32(0.7)}}}],
                "projections": [{"name": "fc", "source": "in", "target": "lif",
                                 "dense": {"weights": weights, "bias": np.ones(3, np.float32)}}]}
        self.create(spec)
        got = self.client.get_network(name, include_weights=True).spec.projections[0].dense
        self.assertTrue(np.array_equal(np.asarray(got.weights, np.float32), weights.ravel()))
        self.assertEqual(list(got.bias), [1.0, 1.0, 1.0])
        without = self.client.get_network(name).spec.projections[0].dense
        self.assertEqual(len(without.weights), 0)

    def test_a_pb_network_or_its_name_selects_a_network(self):
        network = self.create(support.iaf_spec(support.unique()))
        self.assertEqual(self.client.get_network(network).spec.name, network.spec.name)
        self.client.delete_network(network)
        with self.assertRaises(SnnError):
            self.client.get_network(network.spec.name)

    def test_spec_mistakes_are_reported_before_sending(self):
        with self.assertRaises(ValueError) as caught:
            to_spec({"populations": [{"name": "x", "sise": 3}]})
        self.assertIn("sise", str(caught.exception))
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.yaml")
            with open(path, "w") as f:
                f.write("- just\n- a list\n")
            with self.assertRaises(ValueError) as caught:
                to_spec(path)
            self.assertIn(path, str(caught.exception))
        with self.assertRaises(TypeError):
            to_spec(42)

    def test_spec_messages_pass_through(self):
        spec = pb.NetworkSpec(name=support.unique())
        spec.populations.add(name="in", model="input", size=2)
        self.assertEqual(self.create(spec).spec.name, spec.name)

    def test_urls(self):
        from snnservice.client import _target
        self.assertEqual(_target("http://127.0.0.1:5001"), ("127.0.0.1:5001", False))
        self.assertEqual(_target("https://snn.example"), ("snn.example:443", True))
        self.assertEqual(_target("http://[::1]:5001"), ("[::1]:5001", False))
        self.assertEqual(_target("localhost:5001"), ("localhost:5001", False))
        with self.assertRaises(ValueError):
            Client("ftp://host:1")


if __name__ == "__main__":
    unittest.main()
