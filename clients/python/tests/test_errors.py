"""Failures arrive as SnnError carrying the gRPC status code and the server's message; the server
and the client go on."""
import unittest

import grpc
import numpy as np

from snnservice import Client, SnnError

import support


class ErrorTests(unittest.TestCase):
    def setUp(self):
        self.client = Client(support.server_url())
        self.addCleanup(self.client.close)

    def network(self, spec):
        cm = self.client.temporary_network(spec)
        network = cm.__enter__()
        self.addCleanup(cm.__exit__, None, None, None)
        return network

    def assertStatus(self, code, call, *args, **kwargs):
        with self.assertRaises(SnnError) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.code, code, str(caught.exception))
        self.assertEqual(caught.exception.code_name, code.name)
        self.assertTrue(caught.exception.details)
        return caught.exception

    def test_already_exists(self):
        net = self.network(support.iaf_spec(support.unique()))
        e = self.assertStatus(grpc.StatusCode.ALREADY_EXISTS, self.client.create_network, support.iaf_spec(net.spec.name))
        self.assertIn(net.spec.name, e.details)
        self.assertEqual(e.method, "CreateNetwork")
        self.assertIn("ALREADY_EXISTS", str(e))

    def test_invalid_argument_names_the_field(self):
        spec = support.iaf_spec(support.unique())
        spec["populations"][1]["size"] = 0
        e = self.assertStatus(grpc.StatusCode.INVALID_ARGUMENT, self.client.create_network, spec)
        self.assertIn("size", e.details)

    def test_not_found(self):
        missing = support.unique("missing")
        self.assertStatus(grpc.StatusCode.NOT_FOUND, self.client.get_network, missing)
        self.assertStatus(grpc.StatusCode.NOT_FOUND, self.client.delete_network, missing)
        self.assertStatus(grpc.StatusCode.NOT_FOUND, self.client.run, missing)
        self.assertStatus(grpc.StatusCode.NOT_FOUND, self.client.watch, missing)
        net = self.network(support.iaf_spec())
        self.assertStatus(grpc.StatusCode.NOT_FOUND, self.client.get_state, net, "nope")
        self.assertStatus(grpc.StatusCode.NOT_FOUND, self.client.run, net, 7)
        self.assertStatus(grpc.StatusCode.NOT_FOUND, self.client.watch, net, 7)
        self.assertStatus(grpc.StatusCode.NOT_FOUND, self.client.set_parameters, net, {"nope": {"beta": 1.0}})

    def test_a_second_driver_is_refused(self):
        net = self.network(support.iaf_spec())
        with self.client.run(net):
            e = self.assertStatus(grpc.StatusCode.ALREADY_EXISTS, self.client.run, net)
            self.assertEqual(e.method, "Run")

    def test_a_bad_input_ends_the_stream_with_its_status_and_the_server_goes_on(self):
        net = self.network(support.iaf_spec(size=4))
        with self.client.run(net) as run:
            run.send("in", [9])
            run.advance(1)
            e = self.assertStatus(grpc.StatusCode.INVALID_ARGUMENT, run.read, 1)
            self.assertIn("9", e.details)
        with self.client.run(net) as run:
            run.send("in", [3])
            self.assertEqual(run.collect(1).spikes["iaf"].tolist(), [[0, 0, 0, 1]])

    def test_deleting_the_network_aborts_its_streams(self):
        net = self.network(support.iaf_spec())
        with self.client.run(net) as run, self.client.watch(net) as watch:
            run.collect(1)
            self.client.delete_network(net)
            self.assertStatus(grpc.StatusCode.ABORTED, run.collect, 1)
            with self.assertRaises(SnnError) as caught:
                watch.read(2)
            self.assertEqual(caught.exception.code, grpc.StatusCode.ABORTED)

    def test_an_invalid_parameter_changes_nothing(self):
        net = self.network(support.leaky_spec(size=2))
        self.assertStatus(grpc.StatusCode.INVALID_ARGUMENT, self.client.set_parameters, net,
                          {"lif": {"beta": np.float32([0.1, 0.2, 0.3])}})
        got = self.client.get_network(net, include_weights=True).spec.populations[0].params["beta"]
        self.assertAlmostEqual(got.scalar, 0.5)

    def test_an_unreachable_server_is_unavailable(self):
        with Client("http://127.0.0.1:1", timeout=5) as client:
            self.assertStatus(grpc.StatusCode.UNAVAILABLE, client.server_info)


if __name__ == "__main__":
    unittest.main()
