"""The snn.v1 message classes and enums in one namespace (as C#'s Snn.Protos.V1), generated from
Snn.Protos/snn/v1/*.proto when the package was built: ``pb.NetworkSpec``, ``pb.RunRequest``, ...
"""
from snnservice._proto.snn.v1 import control_pb2, info_pb2, network_pb2, run_pb2, snn_pb2

_MODULES = (network_pb2, run_pb2, info_pb2, control_pb2)

for _module in _MODULES:
    for _name in _module.DESCRIPTOR.message_types_by_name:
        globals()[_name] = getattr(_module, _name)
    for _name in _module.DESCRIPTOR.enum_types_by_name:
        globals()[_name] = getattr(_module, _name)
        for _value in _module.DESCRIPTOR.enum_types_by_name[_name].values:
            globals()[_value.name] = _value.number

#: The service's descriptor: its methods with their request and response types.
SERVICE = snn_pb2.DESCRIPTOR.services_by_name["Snn"]

del _module, _name
