"""import_network and export_network: a graph snntorch exported, imported with snntorch's flavour,
steps as snntorch's own importer ran it (tests/data/nir/flavors, bit for bit); a malformed file; strict;
export to a .nir file and back; the import_nir.py example."""
import importlib.util
import io
import json
import os
import pathlib
import shutil
import tempfile
import unittest
from contextlib import redirect_stdout

import grpc
import numpy as np

from snnservice import Client, SnnError, format_report

import support

HERE = os.path.dirname(os.path.abspath(__file__))
FLAVORS = os.environ.get("SNN_NIR_FLAVORS", os.path.join(HERE, "..", "..", "..", "tests", "data", "nir", "flavors"))
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def case(name):
    """(path of the .nir file, the JSON case: dt, steps, input, outputs as snntorch/norse/sinabs ran it)."""
    with open(os.path.join(FLAVORS, name + ".json"), encoding="utf-8") as f:
        return os.path.join(FLAVORS, name + ".nir"), json.load(f)


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


class NirTests(unittest.TestCase):
    def setUp(self):
        self.client = Client(support.server_url())
        self.addCleanup(self.client.close)

    def imported(self, nir, **kwargs):
        """import_network under a unique name, deleted after the test."""
        name = support.unique("nir")
        result = self.client.import_network(name, nir, **kwargs)
        self.addCleanup(self.delete, name)
        return result

    def delete(self, name):
        try:
            self.client.delete_network(name)
        except SnnError as e:
            if e.code != grpc.StatusCode.NOT_FOUND:
                raise

    def test_snntorch_export_imports_with_its_flavour_and_steps_as_snntorch_ran_it(self):
        path, expected = case("snntorch_lif_cubalif")
        imported = self.imported(pathlib.Path(path), flavor="snntorch", dt=1e-4)

        report = {c.node: c for c in imported.report}
        self.assertEqual(report["cuba"].becomes, "population cuba (snntorch.Synaptic)", format_report(imported.report))
        self.assertEqual(report["lif1"].becomes, "population lif1 (snntorch.Leaky)")
        self.assertEqual(imported.lossy, [], format_report(imported.report))
        self.assertEqual(imported.outputs, {"output": "cuba"})
        self.assertEqual(imported.population("input"), "input")
        self.assertEqual([p.name for p in imported.network.spec.populations if p.model == "input"], ["input"])

        steps = expected["steps"]
        inputs = np.asarray(expected["input"]["values"], dtype=np.float32)
        want = np.asarray(expected["outputs"]["output"]["values"], dtype=np.float32)
        self.assertEqual(inputs.shape[0], steps)
        out = imported.outputs["output"]
        with self.client.run(imported.network, spikes_from=[out], reset=True) as run:
            run.send(expected["input"]["node"], spikes=inputs)
            trace = run.collect(steps)
        np.testing.assert_array_equal(trace.steps, np.arange(steps))
        self.assertGreater(np.count_nonzero(want), 0)
        np.testing.assert_array_equal(bits(trace.spikes[out]), bits(want))

    def test_bytes_that_are_not_hdf5_are_refused_with_invalid_argument_and_nothing_is_created(self):
        name = support.unique("nir")
        with self.assertRaises(SnnError) as caught:
            self.client.import_network(name, b"not hdf5")
        self.addCleanup(self.delete, name)
        self.assertEqual(caught.exception.code, grpc.StatusCode.INVALID_ARGUMENT, caught.exception)
        self.assertEqual(caught.exception.method, "ImportNetwork")
        self.assertIn("HDF5", caught.exception.details)
        with self.assertRaises(SnnError) as missing:
            self.client.get_network(name)
        self.assertEqual(missing.exception.code, grpc.StatusCode.NOT_FOUND)

    def test_strict_refuses_a_lossy_conversion_that_a_plain_import_flags(self):
        path, _ = case("snntorch_if")
        with open(path, "rb") as f:
            data = f.read()
        name = support.unique("nir")
        self.addCleanup(self.delete, name)
        with self.assertRaises(SnnError) as caught:
            self.client.import_network(name, data, flavor="snntorch", dt=1e-4, strict=True)
        self.assertEqual(caught.exception.code, grpc.StatusCode.FAILED_PRECONDITION, caught.exception)
        self.assertIn("if1", caught.exception.details)

        imported = self.imported(data, flavor="snntorch", dt=1e-4)
        self.assertEqual([c.node for c in imported.lossy], ["if1"], format_report(imported.report))

    def test_instances_reach_the_created_network(self):
        path, _ = case("snntorch_lif_cubalif")
        imported = self.imported(path, flavor="snntorch", dt=1e-4, instances=3)
        self.assertEqual(len(imported.network.instances), 3)
        self.assertEqual(len(self.client.get_network(imported.name).instances), 3)

    def test_export_writes_an_hdf5_nir_file_that_imports_back(self):
        path, _ = case("snntorch_lif_cubalif")
        original = self.imported(path, flavor="snntorch", dt=1e-4)
        out_dir = tempfile.mkdtemp(prefix="snn-py-nir-")
        self.addCleanup(shutil.rmtree, out_dir)
        target = os.path.join(out_dir, "exported.nir")

        exported = self.client.export_network(original.network, target)
        self.assertEqual(exported.path, target)
        with open(target, "rb") as f:
            written = f.read()
        self.assertEqual(written[:len(HDF5_SIGNATURE)], HDF5_SIGNATURE)
        self.assertEqual(written, exported.nir)
        self.assertEqual(bytes(exported), exported.nir)
        becomes = {c.node: c.becomes for c in exported.report if c.becomes != "Output"}
        self.assertEqual(becomes, {"input": "Input", "lif1": "LIF", "cuba": "CubaLIF", "fc1": "Affine", "fc2": "Affine"},
                         format_report(exported.report))

        back = self.imported(target, flavor="generic")
        self.assertEqual({p.name: (p.model, p.size) for p in back.network.spec.populations},
                         {"input": ("input", 4), "lif1": ("nir.LIF", 6), "cuba": ("nir.CubaLIF", 3)})
        self.assertEqual(back.outputs, {"output": "cuba"})
        self.assertEqual(self.client.export_network(back.name).nir[:len(HDF5_SIGNATURE)], HDF5_SIGNATURE)

    def test_exporting_a_network_that_does_not_exist_is_not_found(self):
        with self.assertRaises(SnnError) as caught:
            self.client.export_network(support.unique("nir"))
        self.assertEqual(caught.exception.code, grpc.StatusCode.NOT_FOUND, caught.exception)

    def test_nir_that_is_neither_a_path_nor_bytes_is_a_type_error(self):
        with self.assertRaises(TypeError):
            self.client.import_network(support.unique("nir"), 42)


class ImportNirExampleTests(unittest.TestCase):
    def test_the_example_imports_prints_the_report_runs_and_deletes_the_network(self):
        path = os.path.join(HERE, "..", "examples", "import_nir.py")
        spec = importlib.util.spec_from_file_location("import_nir", path)
        example = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(example)

        nir, _ = case("snntorch_lif_cubalif")
        name = support.unique("nir")
        out = io.StringIO()
        with redirect_stdout(out):
            code = example.main([nir, "--server", support.server_url(), "--name", name, "--flavor", "snntorch",
                                 "--dt", "1e-4", "--steps", "4"])
        text = out.getvalue()
        self.assertEqual(code, 0)
        self.assertIn("cuba -> population cuba (snntorch.Synaptic)", text)
        self.assertIn("7 conversion(s), 0 lossy", text)
        self.assertEqual([line.split(":")[0] for line in text.splitlines() if line.startswith("step ")],
                         ["step 0", "step 1", "step 2", "step 3"], text)
        with Client(support.server_url()) as client, self.assertRaises(SnnError) as caught:
            client.get_network(name)
        self.assertEqual(caught.exception.code, grpc.StatusCode.NOT_FOUND)


if __name__ == "__main__":
    unittest.main()
