"""Spec files with .npy sidecars, and the repository's examples/ (the same files the C# client and
`snn create --file` read) created on the server."""
import os
import shutil
import tempfile
import unittest

import numpy as np

from snnservice import Client, SnnError, to_spec

import support

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples")


class SpecFileTests(unittest.TestCase):
    def setUp(self):
        self.client = Client(support.server_url())
        self.addCleanup(self.client.close)
        self.dir = tempfile.mkdtemp(prefix="snn-py-specs-")
        self.addCleanup(shutil.rmtree, self.dir)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_npy_sidecars_give_weights_and_indices_relative_to_the_spec_file(self):
        os.mkdir(os.path.join(self.dir, "w"))
        dense = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5]], dtype=np.float32)
        np.save(os.path.join(self.dir, "w", "dense.npy"), dense)
        np.save(os.path.join(self.dir, "pre.npy"), np.array([0, 2], dtype=np.int64))
        np.save(os.path.join(self.dir, "post.npy"), np.array([1, 0], dtype=np.int32))
        path = self.write("net.yaml", """
name: %s
populations:
  - {name: in, model: input, size: 3}
  - {name: out, model: snntorch.Leaky, size: 2, params: {beta: {scalar: 0.5}}}
projections:
  - {name: fc, source: in, target: out, dense: {weights: {npy: w/dense.npy}}}
  - {name: sp, source: in, target: out, sparse: {pre: {npy: pre.npy}, post: {npy: post.npy}, weights: [0.25, 4]}}
""" % support.unique())

        spec = to_spec(path)
        np.testing.assert_array_equal(np.array(spec.projections[0].dense.weights, dtype=np.float32), dense.ravel())
        self.assertEqual(list(spec.projections[1].sparse.pre), [0, 2])
        self.assertEqual(list(spec.projections[1].sparse.post), [1, 0])

        with self.client.temporary_network(path) as net:
            got = self.client.get_network(net, include_weights=True)
            np.testing.assert_array_equal(np.array(got.spec.projections[0].dense.weights, dtype=np.float32), dense.ravel())
            self.assertEqual(got.synapses, 6 + 2)

    def test_a_missing_npy_file_names_the_spec_the_field_and_the_file(self):
        path = self.write("bad.json", '{"name": "x", "projections": [{"name": "fc", "dense": {"weights": {"npy": "nowhere.npy"}}}]}')
        with self.assertRaises(ValueError) as caught:
            to_spec(path)
        message = str(caught.exception)
        self.assertIn("bad.json: projections[0].dense.weights: nowhere.npy:", message)

    def test_every_example_is_created_and_spikes(self):
        files = sorted(f for f in os.listdir(EXAMPLES) if f.endswith((".json", ".yaml", ".yml")))
        self.assertGreaterEqual(len(files), 3)
        for name in files:
            with self.subTest(example=name):
                spec = to_spec(os.path.join(EXAMPLES, name))
                spec.name = support.unique("py-example")
                inputs = [p for p in spec.populations if p.model == "input"]
                with self.client.temporary_network(spec) as net:
                    last = net.order[-1]
                    with self.client.run(net, spikes_from=[last]) as run:
                        for p in inputs:
                            run.send(p.name, spikes=np.full((10, p.size), 2.0, dtype=np.float32))
                        trace = run.collect(10)
                    self.assertGreater(int(np.count_nonzero(trace.spikes[last])), 0, name)


if __name__ == "__main__":
    unittest.main()
