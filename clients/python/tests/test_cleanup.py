"""Context managers clean up: temporary networks are deleted, sessions end and free their instance,
the client closes what it opened. Also the api key header."""
import threading
import time
import unittest
from concurrent import futures

import grpc

from snnservice import Client, SnnError, pb

import support


def eventually(predicate, seconds=10.0):
    """Whether predicate() holds within a generous bound (the server applies a cancel asynchronously)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class CleanupTests(unittest.TestCase):
    def setUp(self):
        self.client = Client(support.server_url())
        self.addCleanup(self.client.close)

    def names(self):
        return {n.spec.name for n in self.client.list_networks()}

    def test_a_temporary_network_is_deleted_after_its_block(self):
        with self.client.temporary_network(support.iaf_spec()) as net:
            name = net.spec.name
            self.assertRegex(name, r"^py-[0-9a-f]{12}$")
            self.assertIn(name, self.names())
        self.assertNotIn(name, self.names())

    def test_also_when_the_block_raises(self):
        name = support.unique()
        with self.assertRaises(RuntimeError):
            with self.client.temporary_network(support.iaf_spec(name)):
                raise RuntimeError("boom")
        self.assertNotIn(name, self.names())

    def test_a_temporary_network_deleted_inside_its_block_is_fine(self):
        with self.client.temporary_network(support.iaf_spec()) as net:
            self.client.delete_network(net)
        self.assertNotIn(net.spec.name, self.names())

    def test_closing_the_client_deletes_its_temporary_networks_and_ends_its_sessions(self):
        client = Client(support.server_url())
        block = client.temporary_network(support.iaf_spec())
        net = block.__enter__()  # never left
        run = client.run(net)
        watch = client.watch(net)
        run.collect(1)
        client.close()
        self.assertNotIn(net.spec.name, self.names())
        with self.assertRaises(ValueError):
            run.advance(1)
        with self.assertRaises(SnnError) as caught:
            watch.read(1)
        self.assertEqual(caught.exception.code, grpc.StatusCode.CANCELLED)
        del block

    def test_leaving_a_run_frees_the_instance(self):
        with self.client.temporary_network(support.iaf_spec()) as net:
            for _ in range(3):
                with self.client.run(net) as run:
                    run.collect(2)
                self.assertFalse(self.client.get_network(net).instances[0].driven)
            self.assertEqual(self.client.get_network(net).instances[0].step, 6)

    def test_a_run_left_with_unread_steps_still_frees_the_instance(self):
        with self.client.temporary_network(support.iaf_spec()) as net:
            with self.client.run(net) as run:
                run.advance(100)
            self.assertFalse(self.client.get_network(net).instances[0].driven)
            with self.client.run(net) as run:
                self.assertEqual(run.opened.step, 100)

    def test_leaving_a_watch_ends_it(self):
        with self.client.temporary_network(support.iaf_spec()) as net:
            with self.client.watch(net):
                self.assertEqual(self.client.get_network(net).instances[0].watchers, 1)
            self.assertTrue(eventually(lambda: self.client.get_network(net).instances[0].watchers == 0),
                            "the watcher is still registered 10 s after the session was left")


class ApiKeyTests(unittest.TestCase):
    """The key travels as `authorization: Bearer KEY` on unary calls and streams (checked against a
    local grpcio server that records what it receives)."""

    def setUp(self):
        self.seen = []
        seen = self.seen

        def info(request, context):
            seen.append(dict(context.invocation_metadata()))
            return pb.ServerInfo(version="recorder")

        def watch(request, context):
            seen.append(dict(context.invocation_metadata()))
            yield pb.RunResponse(opened=pb.RunOpened(network=request.network))

        def get_network(request, context):
            network = pb.Network()
            network.spec.name = request.name
            network.spec.populations.add(name="in", model="input", size=1)
            return network

        handlers = {
            "GetServerInfo": grpc.unary_unary_rpc_method_handler(
                info, request_deserializer=pb.GetServerInfoRequest.FromString,
                response_serializer=pb.ServerInfo.SerializeToString),
            "GetNetwork": grpc.unary_unary_rpc_method_handler(
                get_network, request_deserializer=pb.GetNetworkRequest.FromString,
                response_serializer=pb.Network.SerializeToString),
            "Watch": grpc.unary_stream_rpc_method_handler(
                watch, request_deserializer=pb.WatchRequest.FromString,
                response_serializer=pb.RunResponse.SerializeToString),
        }
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self.server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("snn.v1.Snn", handlers)])
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        self.addCleanup(self.server.stop, None)

    def test_the_key_is_sent_as_a_bearer_token(self):
        with Client("http://127.0.0.1:%d" % self.port, api_key="s3cret", metadata=[("x-lab", "7")]) as client:
            self.assertEqual(client.server_info().version, "recorder")
            with client.watch("net") as watch:
                self.assertEqual(watch.opened.network, "net")
        self.assertEqual([m.get("authorization") for m in self.seen], ["Bearer s3cret"] * 2)
        self.assertEqual(self.seen[0].get("x-lab"), "7")

    def test_without_a_key_no_authorization_is_sent(self):
        with Client("http://127.0.0.1:%d" % self.port) as client:
            client.server_info()
        self.assertNotIn("authorization", self.seen[0])


if __name__ == "__main__":
    unittest.main()
