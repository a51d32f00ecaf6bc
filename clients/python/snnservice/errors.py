"""Failures of calls to the server, as exceptions carrying the gRPC status."""
import grpc


class SnnError(Exception):
    """A call failed. ``code`` is the gRPC status (a ``grpc.StatusCode``, e.g. NOT_FOUND), ``details``
    the server's message, which names what to fix."""

    def __init__(self, code, details, method=None):
        self.code = code
        self.details = details or ""
        self.method = method
        where = " (%s)" % method if method else ""
        super().__init__("%s: %s%s" % (code.name if code is not None else "UNKNOWN", self.details, where))

    @property
    def code_name(self):
        """The status name, e.g. ``"INVALID_ARGUMENT"``."""
        return self.code.name if self.code is not None else "UNKNOWN"


def from_rpc_error(error, method=None):
    """The SnnError for a grpc.RpcError (which, for a failed call, is also a grpc.Call)."""
    code = error.code() if isinstance(error, grpc.Call) else None
    details = error.details() if isinstance(error, grpc.Call) else str(error)
    return SnnError(code, details, method)
