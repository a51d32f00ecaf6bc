"""The snn.v1 message classes and enums in one namespace (as C#'s Snn.Protos.V1), generated from
Snn.Protos/snn/v1/*.proto when the package was built: ``pb.NetworkSpec``, ``pb.RunRequest``, ...
Every generated module is taken, so a .proto file added to the contract needs no change here.
"""
import importlib
import pkgutil

import snnservice._proto.snn.v1 as _v1

_MODULES = tuple(importlib.import_module(_v1.__name__ + "." + _info.name)
                 for _info in sorted(pkgutil.iter_modules(_v1.__path__), key=lambda m: m.name)
                 if _info.name.endswith("_pb2"))

for _module in _MODULES:
    for _name in _module.DESCRIPTOR.message_types_by_name:
        globals()[_name] = getattr(_module, _name)
    for _name in _module.DESCRIPTOR.enum_types_by_name:
        globals()[_name] = getattr(_module, _name)
        for _value in _module.DESCRIPTOR.enum_types_by_name[_name].values:
            globals()[_value.name] = _value.number

#: The service's descriptor: its methods with their request and response types.
SERVICE = importlib.import_module(_v1.__name__ + ".snn_pb2").DESCRIPTOR.services_by_name["Snn"]

del _module, _name
