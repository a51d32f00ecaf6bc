"""Run sessions (inputs as index lists and NumPy arrays, advance, reading and iterating outputs,
records), Watch, get_state, set_parameters and reset_state."""
import unittest

import numpy as np

from snnservice import Client, Step, Trace

import support


class StreamTests(unittest.TestCase):
    def setUp(self):
        self.client = Client(support.server_url())
        self.addCleanup(self.client.close)

    def network(self, spec):
        cm = self.client.temporary_network(spec)
        network = cm.__enter__()
        self.addCleanup(cm.__exit__, None, None, None)
        return network

    def test_index_lists_in_spikes_out(self):
        net = self.network(support.iaf_spec(size=4))
        with self.client.run(net) as run:
            self.assertEqual(run.opened.step, 0)
            self.assertEqual(run.spike_populations, ["iaf"])
            run.send("in", [0, 2])
            run.advance(1)
            (step,) = run.read(1)
            self.assertIsInstance(step, Step)
            self.assertEqual(step.step, 0)
            self.assertEqual(step.spikes["iaf"].dtype, np.float32)
            self.assertEqual(step.spikes["iaf"].tolist(), [1, 0, 1, 0])
            self.assertEqual(step.spike_indices("iaf").tolist(), [0, 2])

            run.send("in", [3], offset=2)
            trace = run.collect(3)
            self.assertIsInstance(trace, Trace)
            self.assertEqual(trace.steps.tolist(), [1, 2, 3])
            self.assertEqual(trace.spikes["iaf"].shape, (3, 4))
            # offset 2 from step 1, the first step of this advance: step 3, the third row.
            self.assertEqual(np.argwhere(trace.spikes["iaf"]).tolist(), [[2, 3]])

    def test_absolute_steps(self):
        net = self.network(support.iaf_spec(size=2))
        with self.client.run(net) as run:
            run.send("in", [1], step=2)
            trace = run.collect(4)
        self.assertEqual(np.argwhere(trace.spikes["iaf"]).tolist(), [[2, 1]])

    def test_a_numpy_raster_fills_consecutive_steps(self):
        net = self.network(support.iaf_spec(size=6))
        raster = (np.random.default_rng(3).random((12, 6)) < 0.3).astype(np.float32)
        with self.client.run(net) as run:
            run.send("in", spikes=raster)
            trace = run.collect(12)
        # IAF with threshold 1 and subtract reset: every input spike of 1 is an output spike.
        self.assertTrue(np.array_equal(trace.spikes["iaf"], raster))

    def test_a_numpy_array_of_the_wrong_size_is_refused_here(self):
        net = self.network(support.iaf_spec(size=4))
        with self.client.run(net) as run:
            with self.assertRaises(ValueError) as caught:
                run.send("in", spikes=np.ones(5))
            self.assertIn("4 neurons", str(caught.exception))
            with self.assertRaises(ValueError):
                run.send("in", [1], current=np.ones(4))

    def test_currents_graded_spikes_and_recorded_state(self):
        spec = support.leaky_spec(size=3, beta=0.5)
        spec["populations"][0]["params"]["graded_spikes_factor"] = {"scalar": 2.0}
        net = self.network(spec)
        with self.client.run(net, record={"lif": ["mem"]}) as run:
            run.send("lif", current=np.float32([0.25, 0.5, 3.0]))
            trace = run.collect(2)
        mem = trace.states["lif"]["mem"]
        self.assertEqual(mem.dtype, np.float32)
        self.assertEqual(mem.tolist(), [[0.25, 0.5, 3.0], [0.125, 0.25, 0.5]])
        self.assertEqual(trace.state_steps["lif"].tolist(), [0, 1])
        # Neuron 2 crosses the threshold at step 0 and emits the graded value.
        self.assertEqual(trace.spikes["lif"].tolist(), [[0, 0, 2.0], [0, 0, 0]])

    def test_event_values_and_record_selection(self):
        net = self.network(support.leaky_spec(size=4, beta=1.0))
        with self.client.run(net, record=[{"population": "lif", "variables": ["mem"], "neurons": [3, 0]}]) as run:
            self.assertEqual(list(run.records[0].indices.values), [3, 0])
            run.send("lif", [0, 1, 2, 3], values=[0.125, 0.25, 0.375, 0.5])
            trace = run.collect(2)
        self.assertEqual(trace.state_steps["lif"].tolist(), [0, 1])
        self.assertEqual(trace.states["lif"]["mem"].tolist(), [[0.5, 0.125], [0.5, 0.125]])

        record = [{"population": "lif", "variables": "mem", "neurons": range(1, 3), "every": 2}]
        with self.client.run(net, record=record) as run:
            self.assertEqual((run.records[0].range.start, run.records[0].range.end), (1, 3))
            trace = run.collect(4)
        self.assertEqual(trace.steps.tolist(), [2, 3, 4, 5])
        self.assertEqual(trace.state_steps["lif"].tolist(), [2, 4])
        self.assertEqual(trace.states["lif"]["mem"].tolist(), [[0.25, 0.375], [0.25, 0.375]])

        with self.assertRaises(ValueError):
            self.client.run(net, record=[{"population": "lif"}, {"population": "lif", "neurons": [0]}])
        with self.assertRaises(ValueError):
            self.client.run(net, record=[{"population": "lif", "neurons": range(0, 4, 2)}])

    def test_iterating_yields_steps_as_they_arrive(self):
        net = self.network(support.iaf_spec(size=2))
        with self.client.run(net) as run:
            run.send("in", [1], offset=1)
            run.advance(3)
            seen = []
            for step in run:
                seen.append((step.step, step.spike_indices("iaf").tolist()))
                if step.step == 2:
                    break
        self.assertEqual(seen, [(0, []), (1, [1]), (2, [])])

    def test_flush_sends_inputs_without_stepping(self):
        net = self.network(support.iaf_spec(size=2))
        with self.client.run(net) as run:
            run.send("in", [0])
            run.flush()
            trace = run.collect(1)
        self.assertEqual(trace.spikes["iaf"].tolist(), [[1, 0]])

    def test_watch_sees_the_steps_a_driver_runs(self):
        net = self.network(support.iaf_spec(size=3))
        with self.client.watch(net, record={"iaf": ["v_mem"]}) as watch, self.client.run(net) as run:
            self.assertEqual(watch.spike_populations, ["iaf"])
            run.send("in", [2], values=[0.5])
            run.send("in", [0], offset=1)
            driven = run.collect(2)
            watched = watch.read_trace(2)
        self.assertEqual(watched.steps.tolist(), driven.steps.tolist())
        self.assertTrue(np.array_equal(watched.spikes["iaf"], driven.spikes["iaf"]))
        self.assertEqual(watched.states["iaf"]["v_mem"].tolist(), [[0, 0, 0.5], [0, 0, 0.5]])

    def test_get_state_set_parameters_and_reset(self):
        net = self.network(support.leaky_spec(size=3, beta=0.5))
        with self.client.run(net) as run:
            run.send("lif", current=np.float32([1.0, 0.5, 0.25]))
            run.collect(1)
            state = self.client.get_state(net, "lif")
            self.assertEqual(state.step, 1)
            self.assertEqual(state["mem"].dtype, np.float32)
            self.assertEqual(state["mem"].tolist(), [1.0, 0.5, 0.25])
            self.assertEqual(self.client.get_state(net, "lif", variables="mem", neurons=[2, 0])["mem"].tolist(),
                             [0.25, 1.0])

            effective = self.client.set_parameters(net, {"lif": {"beta": 1.0}})
            self.assertEqual(effective, 1)
            run.collect(2)
            self.assertEqual(self.client.get_state(net, "lif")["mem"].tolist(), [1.0, 0.5, 0.25])

            self.client.set_parameters(net, {"lif": {"beta": np.float32([0.5, 0.5, 0.0])}})
            run.collect(1)
            self.assertEqual(self.client.get_state(net, "lif")["mem"].tolist(), [0.5, 0.25, 0.0])

        self.client.reset_state(net)
        state = self.client.get_state(net, "lif")
        self.assertEqual(state.step, 0)
        self.assertEqual(state["mem"].tolist(), [0, 0, 0])

    def test_set_projection_weights(self):
        net = self.network(support.iaf_spec(size=2))
        self.client.set_parameters(net, projections={"ff": np.float32([0.5, 1.0])})
        with self.client.run(net) as run:
            run.send("in", spikes=np.float32([[1, 1], [1, 0]]))
            trace = run.collect(2)
        self.assertEqual(trace.spikes["iaf"].tolist(), [[0, 1], [1, 0]])
        spec = self.client.get_network(net, include_weights=True).spec
        self.assertEqual(list(spec.projections[0].one_to_one.weights), [0.5, 1.0])

    def test_reset_one_instance_and_open_with_reset(self):
        net = self.network(support.iaf_spec(size=2, instances=2))
        for instance in (0, 1):
            with self.client.run(net, instance) as run:
                run.collect(3)
        self.client.reset_state(net, instance=1)
        self.assertEqual([i.step for i in self.client.get_network(net).instances], [3, 0])
        with self.client.run(net, 0, reset=True) as run:
            self.assertEqual(run.opened.step, 0)
            self.assertEqual(run.collect(1).steps.tolist(), [0])

    def test_realtime_inputs_are_sent_without_advancing(self):
        # The clock steps the instance (5 ms a step); the input goes out with flush(), and its one
        # spike comes back within the next 400 steps (2 s, a generous bound for a loaded machine).
        spec = support.iaf_spec(size=2, clock="CLOCK_MODE_REALTIME")
        spec["dt"] = 0.005
        net = self.network(spec)
        with self.client.run(net) as run:
            run.send("in", [1], offset=5)
            run.flush()
            trace = run.read_trace(400)
            self.assertEqual(run.dropped, 0)
        self.assertEqual(np.argwhere(trace.spikes["iaf"])[:, 1].tolist(), [1])
        self.assertEqual(trace.steps.tolist(), list(range(trace.steps[0], trace.steps[0] + 400)))

    def test_status_messages(self):
        net = self.network(support.iaf_spec(size=2))
        with self.client.run(net, status_interval_ms=1) as run:
            for _ in range(50):
                run.collect(1)
                if run.status is not None:
                    break
            self.assertIsNotNone(run.status, "no RunStatus in 50 steps with status_interval_ms=1")
            self.assertEqual(run.dropped, 0)


if __name__ == "__main__":
    unittest.main()
