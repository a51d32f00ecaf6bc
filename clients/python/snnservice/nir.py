"""What ImportNetwork and ExportNetwork return: the network or the .nir bytes, and the report of every
conversion the server made between NIR nodes and populations or projections."""
import collections
import os

#: One line of the report. ``node``: the NIR node ("" for the graph as a whole); ``becomes``: what it
#: became ("population lif1 (snntorch.Leaky)", "projection fc1", "output of population cuba", or on
#: export the NIR node type); ``detail``: the rule with its values; ``lossy``: whether information was
#: lost or a choice was made that the file does not fix.
Conversion = collections.namedtuple("Conversion", "node becomes detail lossy")

_OUTPUT_OF = "output of population "


def report_of(conversions):
    """The report as a list of Conversion, from the response's repeated pb.NirConversion."""
    return [Conversion(c.node, c.becomes, c.detail, c.lossy) for c in conversions]


def format_report(report):
    """The report as text, one line per conversion: ``node -> becomes [lossy]: detail``."""
    lines = ["%s -> %s%s: %s" % (c.node or "(graph)", c.becomes, " [lossy]" if c.lossy else "", c.detail)
             for c in report]
    lines.append("%d conversion(s), %d lossy" % (len(report), sum(1 for c in report if c.lossy)))
    return "\n".join(lines)


class ImportedNetwork:
    """The result of Client.import_network: ``network`` (the pb.Network created, as CreateNetwork
    returns it) and ``report`` (a list of Conversion, in graph order)."""

    def __init__(self, response):
        self.network = response.network
        self.report = report_of(response.report)

    @property
    def name(self):
        return self.network.spec.name

    @property
    def lossy(self):
        """The conversions flagged lossy (empty when the import kept everything)."""
        return [c for c in self.report if c.lossy]

    @property
    def outputs(self):
        """``{Output node: population}``: the population whose spikes each NIR Output node reads (pass
        them as ``spikes_from``), in the report's order."""
        return {c.node: c.becomes[len(_OUTPUT_OF):] for c in self.report if c.becomes.startswith(_OUTPUT_OF)}

    def population(self, node):
        """The population a NIR node became: for an Output node the population whose spikes are the
        output (read it with ``spikes_from``), for a neuron or Input node the population of that
        name. KeyError when the report has no population for the node."""
        if node in self.outputs:
            return self.outputs[node]
        for c in self.report:
            if c.node == node and c.becomes.startswith("population "):
                return c.becomes.split(" ")[1]
        raise KeyError("the import report has no population for NIR node '%s'" % node)

    def __repr__(self):
        return "ImportedNetwork(%r, %d conversion(s), %d lossy)" % (self.name, len(self.report), len(self.lossy))


class ExportedNetwork:
    """The result of Client.export_network: ``nir`` (the .nir file's bytes, HDF5), ``report`` (a list
    of Conversion) and ``path`` (where the file was written, or None)."""

    def __init__(self, response, path=None):
        self.nir = response.nir
        self.report = report_of(response.report)
        self.path = path

    def __bytes__(self):
        return self.nir

    def __repr__(self):
        return "ExportedNetwork(%d bytes, %d conversion(s)%s)" % (
            len(self.nir), len(self.report), ", written to %s" % self.path if self.path else "")


def read_nir(nir):
    """The bytes of a .nir file given as a path (str or os.PathLike) or as bytes."""
    if isinstance(nir, (bytes, bytearray, memoryview)):
        return bytes(nir)
    if isinstance(nir, (str, os.PathLike)):
        with open(nir, "rb") as f:
            return f.read()
    raise TypeError("nir: give the path of a .nir file or its bytes, not %s" % type(nir).__name__)


def write_nir(path, data):
    """Writes the .nir bytes to ``path`` (str or os.PathLike)."""
    with open(path, "wb") as f:
        f.write(data)
