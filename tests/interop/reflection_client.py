#!/usr/bin/python3
"""Lists and calls SnnService through gRPC server reflection only, as grpcurl does: no .proto files
of ours. Uses Debian's python3-grpcio and the reflection protocol's own definition from Debian's
grpc-proto package (/usr/share/grpc-proto/grpc/reflection/v1/reflection.proto).

    reflection_client.py --port N

Prints the services, then calls snn.v1.Snn/GetServerInfo with message classes built from the
descriptors the server sent, and prints PASS. Exits 1 with a message when anything does not hold.
"""
import argparse
import os
import subprocess
import sys
import tempfile

GRPC_PROTO = "/usr/share/grpc-proto"


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    args = ap.parse_args()

    out = tempfile.mkdtemp(prefix="snn-reflection-")
    # Generated under a package of its own, so that it does not shadow the grpc module.
    subprocess.run(["protoc", "--python_out=" + out, "-I", GRPC_PROTO, "grpc/reflection/v1/reflection.proto"], check=True)
    os.rename(os.path.join(out, "grpc"), os.path.join(out, "reflectionpb"))
    for d in ("reflectionpb", "reflectionpb/reflection", "reflectionpb/reflection/v1"):
        open(os.path.join(out, d, "__init__.py"), "a").close()
    sys.path.insert(0, out)

    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from reflectionpb.reflection.v1 import reflection_pb2 as rpb

    channel = grpc.insecure_channel("127.0.0.1:%d" % args.port)
    info = channel.stream_stream(
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        request_serializer=rpb.ServerReflectionRequest.SerializeToString,
        response_deserializer=rpb.ServerReflectionResponse.FromString)

    def ask(**kw):
        responses = list(info(iter([rpb.ServerReflectionRequest(**kw)]), timeout=30))
        if len(responses) != 1:
            fail("expected one reflection response, got %d" % len(responses))
        r = responses[0]
        if r.HasField("error_response"):
            fail("reflection error %d: %s" % (r.error_response.error_code, r.error_response.error_message))
        return r

    services = sorted(s.name for s in ask(list_services="").list_services_response.service)
    print("services:", ", ".join(services))
    for wanted in ("snn.v1.Snn", "grpc.health.v1.Health"):
        if wanted not in services:
            fail("%s is not listed" % wanted)

    # Every file the service needs, its imports included, from the server alone.
    files = {}
    pending = [("symbol", "snn.v1.Snn")]
    while pending:
        kind, name = pending.pop()
        r = ask(file_containing_symbol=name) if kind == "symbol" else ask(file_by_filename=name)
        for blob in r.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto.FromString(blob)
            if fd.name not in files:
                files[fd.name] = fd
                pending.extend(("file", dep) for dep in fd.dependency if dep not in files)
    pool = descriptor_pool.DescriptorPool()
    added = set()

    def add(name):
        if name in added:
            return
        for dep in files[name].dependency:
            add(dep)
        pool.Add(files[name])
        added.add(name)

    for name in files:
        add(name)
    service = pool.FindServiceByName("snn.v1.Snn")
    methods = [m.name for m in service.methods]
    print("snn.v1.Snn methods:", ", ".join(methods))
    for wanted in ("GetServerInfo", "CreateNetwork", "Run", "Watch"):
        if wanted not in methods:
            fail("method %s is missing" % wanted)

    method = service.methods_by_name["GetServerInfo"]
    factory = message_factory.MessageFactory(pool)  # python3-protobuf 4.21 (Debian 12) has no GetMessageClass yet
    request_class = factory.GetPrototype(method.input_type)
    response_class = factory.GetPrototype(method.output_type)
    call = channel.unary_unary("/snn.v1.Snn/GetServerInfo",
                               request_serializer=request_class.SerializeToString,
                               response_deserializer=response_class.FromString)
    reply = call(request_class(), timeout=30)
    if not reply.version or len(reply.models) < 10:
        fail("GetServerInfo through reflected types answered %r" % reply)
    print("GetServerInfo: version %s, backend %s, %d models" % (reply.version, reply.backend, len(reply.models)))
    print("PASS reflection")


if __name__ == "__main__":
    main()
