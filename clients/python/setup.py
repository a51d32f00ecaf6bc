"""Builds the snnservice package. The message classes (snnservice/_proto) are generated while the
package builds, by protoc from the service's own contract in Snn.Protos/snn/v1; nothing generated is
kept in the repository.

Where the .proto files are: $SNN_PROTOS (the folder holding snn/v1/), else ../../Snn.Protos next to
this file (a clone of the repository). protoc is Debian's protobuf-compiler, or grpc_tools.protoc
when that module is installed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
# snn.proto's google.api.http options only serve the server's HTTP/JSON transcoding. A client needs
# none of them, so they are left out rather than making google/api/*.proto a build dependency.
_HTTP_IMPORT = re.compile(r'^\s*import\s+"google/api/[^"]+";\s*$', re.M)
_HTTP_OPTION = re.compile(r'\{\s*option\s*\(google\.api\.http\)\s*=\s*\{(?:[^{}"]|"[^"]*")*\}\s*;\s*\}', re.S)


def _protos_dir():
    candidates = [os.environ.get("SNN_PROTOS"), os.path.join(HERE, "..", "..", "Snn.Protos")]
    for c in candidates:
        if c and os.path.isdir(os.path.join(c, "snn", "v1")):
            return os.path.abspath(c)
    raise SystemExit("snnservice: cannot find the .proto files (snn/v1/*.proto). Build from a clone of "
                     "SnnService (clients/python next to Snn.Protos) or set SNN_PROTOS to the folder "
                     "that holds snn/v1/. Tried: %s" % ", ".join(c for c in candidates if c))


def _protoc_command():
    protoc = shutil.which("protoc")
    if protoc:
        return [protoc]
    try:
        import grpc_tools.protoc  # noqa: F401
        return [sys.executable, "-m", "grpc_tools.protoc"]
    except ImportError:
        raise SystemExit("snnservice: protoc is missing. Install it: apt-get install protobuf-compiler "
                         "(or pip install grpcio-tools)")


def generate(out_dir):
    """Writes snnservice/_proto/snn/v1/*_pb2.py under out_dir."""
    src = os.path.join(_protos_dir(), "snn", "v1")
    with tempfile.TemporaryDirectory(prefix="snnservice-protos-") as staging:
        os.makedirs(os.path.join(staging, "snn", "v1"))
        names = sorted(f for f in os.listdir(src) if f.endswith(".proto"))
        for name in names:
            with open(os.path.join(src, name), encoding="utf-8") as f:
                text = f.read()
            text = _HTTP_OPTION.sub(";", _HTTP_IMPORT.sub("", text))
            with open(os.path.join(staging, "snn", "v1", name), "w", encoding="utf-8") as f:
                f.write(text)
        target = os.path.abspath(os.path.join(out_dir, "snnservice", "_proto"))
        os.makedirs(target, exist_ok=True)
        subprocess.run(_protoc_command() + ["-I", staging, "--python_out=" + target]
                       + [os.path.join("snn", "v1", n) for n in names], check=True, cwd=staging)
    # The generated modules import each other as top-level `snn.v1`; inside this package they are
    # snnservice._proto.snn.v1 (the descriptors keep their names, so the wire format is unchanged).
    gen = os.path.join(target, "snn", "v1")
    for name in os.listdir(gen):
        if name.endswith("_pb2.py"):
            path = os.path.join(gen, name)
            with open(path, encoding="utf-8") as f:
                code = f.read()
            with open(path, "w", encoding="utf-8") as f:
                f.write(re.sub(r"^from snn\.v1 import", "from snnservice._proto.snn.v1 import", code, flags=re.M))
    for pkg in (target, os.path.join(target, "snn"), gen):
        open(os.path.join(pkg, "__init__.py"), "a").close()


class BuildWithProtos(build_py):
    def run(self):
        super().run()
        generate(self.build_lib)


setup(cmdclass={"build_py": BuildWithProtos})
