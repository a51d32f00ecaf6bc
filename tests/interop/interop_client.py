#!/usr/bin/python3
"""gRPC interop test client (grpc/doc/interop-test-descriptions.md) on Debian's python3-grpcio,
an implementation independent of ours, for checking our Grpc.AspNetCore setup (tests/Snn.InteropServer) against the spec.

    interop_client.py --server_port N [--server_host 127.0.0.1] --test_case NAME

Message classes are generated at run time by protoc from /usr/share/grpc-proto (Debian
grpc-proto); methods are called by path with channel.unary_unary & co, so grpc_tools is not
needed. Exits 0 when the case passes; 1 with "FAIL: ..." on stderr when it does not; 3 when
a prerequisite is missing.
"""
import argparse
import importlib.util
import os
import queue
import subprocess
import sys
import tempfile

PROTO_ROOT = "/usr/share/grpc-proto"
INSTALL_HINT = "run: apt-get install python3-grpcio python3-protobuf protobuf-compiler grpc-proto"

try:
    import grpc
except ImportError as e:  # pragma: no cover - checked by the xunit test
    print("MISSING: python3-grpcio is not importable by %s (%s); %s" % (sys.executable, e, INSTALL_HINT), file=sys.stderr)
    sys.exit(3)


class TestFailure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise TestFailure(message)


def load_messages():
    """Generates grpc/testing/{empty,messages,test}_pb2.py and loads the two message modules by
    file path (a package named grpc.testing would collide with grpcio's own grpc package)."""
    for name in ("empty", "messages", "test"):
        if not os.path.exists(os.path.join(PROTO_ROOT, "grpc", "testing", name + ".proto")):
            print("MISSING: %s/grpc/testing/%s.proto; %s" % (PROTO_ROOT, name, INSTALL_HINT), file=sys.stderr)
            sys.exit(3)
    out = tempfile.mkdtemp(prefix="snn-interop-pb2-")
    try:
        subprocess.run(["protoc", "--python_out=" + out, "-I", PROTO_ROOT,
                        "grpc/testing/empty.proto", "grpc/testing/messages.proto", "grpc/testing/test.proto"],
                       check=True)
    except (OSError, subprocess.CalledProcessError) as e:
        print("MISSING: protoc failed (%s); %s" % (e, INSTALL_HINT), file=sys.stderr)
        sys.exit(3)
    modules = []
    for name in ("empty_pb2", "messages_pb2"):
        spec = importlib.util.spec_from_file_location("interop_" + name, os.path.join(out, "grpc", "testing", name + ".py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


class Pipe:
    """A request iterator fed from the test: add() a request, close() to half-close."""

    def __init__(self):
        self._queue = queue.Queue()

    def add(self, item):
        self._queue.put(item)

    def close(self):
        self._queue.put(None)

    def __iter__(self):
        return self

    def __next__(self):
        item = self._queue.get()
        if item is None:
            raise StopIteration()
        return item

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()


class Stub:
    def __init__(self, channel, empty_pb2, messages_pb2):
        e, m = empty_pb2, messages_pb2
        svc = "/grpc.testing.TestService/"

        def uu(method, req, resp, service=svc):
            return channel.unary_unary(service + method, request_serializer=req.SerializeToString,
                                       response_deserializer=resp.FromString)

        self.EmptyCall = uu("EmptyCall", e.Empty, e.Empty)
        self.UnaryCall = uu("UnaryCall", m.SimpleRequest, m.SimpleResponse)
        self.UnimplementedCall = uu("UnimplementedCall", e.Empty, e.Empty)
        self.UnimplementedServiceCall = uu("UnimplementedCall", e.Empty, e.Empty, "/grpc.testing.UnimplementedService/")
        self.StreamingOutputCall = channel.unary_stream(svc + "StreamingOutputCall",
                                                        request_serializer=m.StreamingOutputCallRequest.SerializeToString,
                                                        response_deserializer=m.StreamingOutputCallResponse.FromString)
        self.StreamingInputCall = channel.stream_unary(svc + "StreamingInputCall",
                                                       request_serializer=m.StreamingInputCallRequest.SerializeToString,
                                                       response_deserializer=m.StreamingInputCallResponse.FromString)
        self.FullDuplexCall = channel.stream_stream(svc + "FullDuplexCall",
                                                    request_serializer=m.StreamingOutputCallRequest.SerializeToString,
                                                    response_deserializer=m.StreamingOutputCallResponse.FromString)
        # The health service answers raw bytes: HealthCheckResponse{status: SERVING} is 08 01.
        self.HealthCheck = channel.unary_unary("/grpc.health.v1.Health/Check",
                                               request_serializer=lambda b: b, response_deserializer=lambda b: b)


def zeros(n):
    return b"\x00" * n


def expect_code(error, code, what):
    expect(error.code() == code, "%s: expected status %s, got %s (details %r)" % (what, code, error.code(), error.details()))


def run_case(case, stub, m, e):
    def payload(n):
        return m.Payload(type=m.COMPRESSABLE, body=zeros(n))

    if case == "empty_unary":
        response = stub.EmptyCall(e.Empty(), timeout=30)
        expect(isinstance(response, e.Empty), "response is not grpc.testing.Empty")
        expect(len(response.SerializeToString()) == 0, "response is not the empty message")

    elif case == "large_unary":
        response = stub.UnaryCall(m.SimpleRequest(response_type=m.COMPRESSABLE, response_size=314159, payload=payload(271828)), timeout=30)
        expect(response.payload.type == m.COMPRESSABLE, "payload type is not COMPRESSABLE")
        expect(len(response.payload.body) == 314159, "payload body is %d bytes, expected 314159" % len(response.payload.body))
        expect(response.payload.body == zeros(314159), "payload body is not all zeros")

    elif case == "client_streaming":
        sizes = (27182, 8, 1828, 45904)
        response = stub.StreamingInputCall(iter([m.StreamingInputCallRequest(payload=payload(s)) for s in sizes]), timeout=30)
        expect(response.aggregated_payload_size == 74922, "aggregated_payload_size is %d, expected 74922" % response.aggregated_payload_size)

    elif case == "server_streaming":
        sizes = (31415, 9, 2653, 58979)
        request = m.StreamingOutputCallRequest(response_type=m.COMPRESSABLE,
                                               response_parameters=[m.ResponseParameters(size=s) for s in sizes])
        got = [len(r.payload.body) for r in stub.StreamingOutputCall(request, timeout=30)]
        expect(got == list(sizes), "response sizes %s, expected %s" % (got, list(sizes)))

    elif case == "ping_pong":
        request_sizes = (27182, 8, 1828, 45904)
        response_sizes = (31415, 9, 2653, 58979)
        with Pipe() as pipe:
            responses = stub.FullDuplexCall(pipe, timeout=30)
            for request_size, response_size in zip(request_sizes, response_sizes):
                pipe.add(m.StreamingOutputCallRequest(response_type=m.COMPRESSABLE,
                                                      response_parameters=[m.ResponseParameters(size=response_size)],
                                                      payload=payload(request_size)))
                response = next(responses)
                expect(len(response.payload.body) == response_size,
                       "response is %d bytes, expected %d" % (len(response.payload.body), response_size))
            pipe.close()
            rest = list(responses)
            expect(rest == [], "%d responses after the fourth, expected none" % len(rest))
            expect(responses.code() == grpc.StatusCode.OK, "status %s, expected OK" % responses.code())

    elif case == "empty_stream":
        responses = stub.FullDuplexCall(iter([]), timeout=30)
        got = list(responses)
        expect(got == [], "%d responses, expected none" % len(got))
        expect(responses.code() == grpc.StatusCode.OK, "status %s, expected OK" % responses.code())

    elif case == "cancel_after_begin":
        with Pipe() as pipe:
            future = stub.StreamingInputCall.future(pipe, timeout=30)
            future.cancel()
            expect(future.cancelled(), "the future does not report cancelled")
            expect(future.code() == grpc.StatusCode.CANCELLED, "status %s, expected CANCELLED" % future.code())
        # The server must have survived the cancelled call.
        stub.EmptyCall(e.Empty(), timeout=30)

    elif case == "cancel_after_first_response":
        with Pipe() as pipe:
            responses = stub.FullDuplexCall(pipe, timeout=30)
            pipe.add(m.StreamingOutputCallRequest(response_type=m.COMPRESSABLE,
                                                  response_parameters=[m.ResponseParameters(size=31415)],
                                                  payload=payload(27182)))
            response = next(responses)
            expect(len(response.payload.body) == 31415, "first response is %d bytes, expected 31415" % len(response.payload.body))
            responses.cancel()
            try:
                next(responses)
            except grpc.RpcError as error:
                expect_code(error, grpc.StatusCode.CANCELLED, "after cancel")
            else:
                raise TestFailure("a response arrived after the call was cancelled")
        stub.EmptyCall(e.Empty(), timeout=30)

    elif case == "timeout_on_sleeping_server":
        with Pipe() as pipe:
            responses = stub.FullDuplexCall(pipe, timeout=0.001)
            pipe.add(m.StreamingOutputCallRequest(response_type=m.COMPRESSABLE, payload=payload(27182)))
            try:
                next(responses)
            except grpc.RpcError as error:
                expect_code(error, grpc.StatusCode.DEADLINE_EXCEEDED, "FullDuplexCall with a 1 ms timeout")
            else:
                raise TestFailure("expected DEADLINE_EXCEEDED, got a response")
        # Also with a deadline the server itself must enforce: a sleeping server-stream.
        request = m.StreamingOutputCallRequest(response_parameters=[m.ResponseParameters(size=1, interval_us=60_000_000)])
        try:
            list(stub.StreamingOutputCall(request, timeout=0.5))
        except grpc.RpcError as error:
            expect_code(error, grpc.StatusCode.DEADLINE_EXCEEDED, "StreamingOutputCall sleeping 60 s with a 0.5 s timeout")
        else:
            raise TestFailure("expected DEADLINE_EXCEEDED from the sleeping StreamingOutputCall")

    elif case in ("status_code_and_message", "special_status_message"):
        text = "test status message" if case == "status_code_and_message" else \
            "\t\ntest with whitespace\r\nand Unicode BMP \u263a and non-BMP \U0001F608\t\n"
        status = m.EchoStatus(code=2, message=text)
        try:
            stub.UnaryCall(m.SimpleRequest(response_type=m.COMPRESSABLE, response_size=1, payload=payload(1), response_status=status), timeout=30)
        except grpc.RpcError as error:
            expect_code(error, grpc.StatusCode.UNKNOWN, "UnaryCall")
            expect(error.details() == text, "UnaryCall details %r, expected %r" % (error.details(), text))
        else:
            raise TestFailure("UnaryCall succeeded; expected status 2")
        if case == "status_code_and_message":
            with Pipe() as pipe:
                responses = stub.FullDuplexCall(pipe, timeout=30)
                pipe.add(m.StreamingOutputCallRequest(response_type=m.COMPRESSABLE,
                                                      response_parameters=[m.ResponseParameters(size=1)],
                                                      payload=payload(1), response_status=status))
                pipe.close()
                try:
                    list(responses)
                except grpc.RpcError as error:
                    expect_code(error, grpc.StatusCode.UNKNOWN, "FullDuplexCall")
                    expect(error.details() == text, "FullDuplexCall details %r, expected %r" % (error.details(), text))
                else:
                    raise TestFailure("FullDuplexCall succeeded; expected status 2")

    elif case in ("unimplemented_method", "unimplemented_service"):
        call = stub.UnimplementedCall if case == "unimplemented_method" else stub.UnimplementedServiceCall
        try:
            call(e.Empty(), timeout=30)
        except grpc.RpcError as error:
            expect_code(error, grpc.StatusCode.UNIMPLEMENTED, case)
        else:
            raise TestFailure("the call succeeded; expected UNIMPLEMENTED")

    elif case == "custom_metadata":
        initial = ("x-grpc-test-echo-initial", "test_initial_metadata_value")
        trailing = ("x-grpc-test-echo-trailing-bin", b"\xab\xab\xab")
        metadata = (initial, trailing)

        def check(call, what):
            expect(initial in list(call.initial_metadata()), "%s: initial metadata %r lacks %r" % (what, call.initial_metadata(), initial))
            expect(trailing in list(call.trailing_metadata()), "%s: trailing metadata %r lacks %r" % (what, call.trailing_metadata(), trailing))

        response, call = stub.UnaryCall.with_call(
            m.SimpleRequest(response_type=m.COMPRESSABLE, response_size=314159, payload=payload(271828)),
            metadata=metadata, timeout=30)
        expect(len(response.payload.body) == 314159, "UnaryCall response is %d bytes" % len(response.payload.body))
        check(call, "UnaryCall")

        with Pipe() as pipe:
            responses = stub.FullDuplexCall(pipe, metadata=metadata, timeout=30)
            pipe.add(m.StreamingOutputCallRequest(response_type=m.COMPRESSABLE,
                                                  response_parameters=[m.ResponseParameters(size=314159)],
                                                  payload=payload(271828)))
            pipe.close()
            got = [len(r.payload.body) for r in responses]
            expect(got == [314159], "FullDuplexCall response sizes %s, expected [314159]" % got)
            check(responses, "FullDuplexCall")

    elif case == "health_check":
        expect(stub.HealthCheck(b"", timeout=30) == b"\x08\x01", "Health/Check('') is not SERVING")
        service = b"\x0a\x18grpc.testing.TestService"
        expect(stub.HealthCheck(service, timeout=30) == b"\x08\x01", "Health/Check('grpc.testing.TestService') is not SERVING")
        try:
            stub.HealthCheck(b"\x0a\x07nothing", timeout=30)
        except grpc.RpcError as error:
            expect_code(error, grpc.StatusCode.NOT_FOUND, "Health/Check('nothing')")
        else:
            raise TestFailure("Health/Check of an unknown service succeeded; expected NOT_FOUND")

    else:
        print("unknown test case %r" % case, file=sys.stderr)
        sys.exit(2)


CASES = ["empty_unary", "large_unary", "client_streaming", "server_streaming", "ping_pong", "empty_stream",
         "cancel_after_begin", "cancel_after_first_response", "timeout_on_sleeping_server",
         "status_code_and_message", "special_status_message", "unimplemented_method", "unimplemented_service",
         "custom_metadata", "health_check"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server_host", default="127.0.0.1")
    parser.add_argument("--server_port", type=int, required=True)
    parser.add_argument("--test_case", required=True, help="one of: all, " + ", ".join(CASES))
    args = parser.parse_args()

    empty_pb2, messages_pb2 = load_messages()
    cases = CASES if args.test_case == "all" else [args.test_case]
    with grpc.insecure_channel("%s:%d" % (args.server_host, args.server_port)) as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
        stub = Stub(channel, empty_pb2, messages_pb2)
        for case in cases:
            try:
                run_case(case, stub, messages_pb2, empty_pb2)
            except TestFailure as failure:
                print("FAIL: %s: %s" % (case, failure), file=sys.stderr)
                return 1
            except grpc.RpcError as error:
                print("FAIL: %s: unexpected RPC error %s: %r" % (case, error.code(), error.details()), file=sys.stderr)
                return 1
            print("PASS: %s" % case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
