namespace Snn.Server.Backends.Gpu;

/// <summary>Which backend steps the networks (configuration section <c>Snn:Engine</c>).</summary>
public sealed class EngineOptions
{
    /// <summary>
    /// <c>cpu</c> (the SIMD kernels), <c>cuda</c> (an NVIDIA GPU through its driver), <c>opencl</c> or
    /// <c>ilgpu-cpu</c> (the GPU kernels on ILGPU's CPU accelerator: slow, for tests). Defaults to <c>cpu</c>.
    /// </summary>
    public string Backend { get; set; } = "cpu";

    /// <summary>Index of the device among those of the backend's kind. Defaults to 0.</summary>
    public int Device { get; set; }

    /// <summary>
    /// With a device backend: how many neurons (population sizes × instances) a network needs, with no projections,
    /// before the device steps it faster than the CPU backend. A step on the device costs a launch and a wait whatever
    /// the network's size, a step on the CPU time in proportion to it; on an H200 with 16 cores the two were even at
    /// about 16,384 neurons. A network whose spec.placement is PLACEMENT_AUTO steps on the CPU backend when
    /// neurons / <see cref="CpuBelowNeurons"/> + connections / <see cref="CpuBelowConnections"/> is below 1 (see
    /// <see cref="Engine.Projection.Connections"/>). Defaults to 16,384; 0 in either turns the rule off, so that
    /// every network with device kernels steps on the device.
    /// </summary>
    public long CpuBelowNeurons { get; set; } = DefaultCpuBelowNeurons;

    /// <summary>
    /// With a device backend: how many synaptic connections (over all instances) a network needs, with few neurons,
    /// before the device steps it faster than the CPU backend; see <see cref="CpuBelowNeurons"/>. On the H200 machine
    /// (the device check's dense crossover, Leaky N → dense N×N → Leaky N with every source spiking), the CPU backend
    /// stepped 262,144 connections 1.7× faster than the device and 1,048,576 2.2× slower: they are even near 450,000.
    /// Delivery is event-driven (with a tenth of the sources spiking the CPU backend was still faster at 1,048,576); the
    /// rule counts every connection, so that a burst cannot make a network on the CPU slower than the device. Defaults
    /// to 524,288; 0 turns the rule off.
    /// </summary>
    public long CpuBelowConnections { get; set; } = DefaultCpuBelowConnections;

    /// <summary>The default of <see cref="CpuBelowNeurons"/>.</summary>
    public const long DefaultCpuBelowNeurons = 1 << 14;

    /// <summary>The default of <see cref="CpuBelowConnections"/>.</summary>
    public const long DefaultCpuBelowConnections = 1 << 19;

    /// <summary>
    /// With a device backend: a network with at least this many synapses is placed on the device off the step loop. A
    /// thread of its own makes its buffers and uploads its parameters and weights (for 100M sparse synapses, seconds of
    /// regrouping on the host) while the network steps on the CPU backend, bit for bit the same, and every other network
    /// steps as before; between two steps, once the copy is ready, the loop uploads the state as it is then and the network
    /// steps on the device from there. A SetParameters of such a network on the device has it step on the CPU backend again
    /// until a new copy is made the same way. A smaller network is placed at its first step, which holds the loop that long.
    /// Defaults to 1,048,576; 0 places every network off the loop.
    /// </summary>
    public long PlaceAsideFromSynapses { get; set; } = DefaultPlaceAsideFromSynapses;

    /// <summary>The default of <see cref="PlaceAsideFromSynapses"/>.</summary>
    public const long DefaultPlaceAsideFromSynapses = 1 << 20;

    /// <summary>
    /// With a device backend: the longest a LOCKSTEP request's steps may be queued as one chain (one
    /// wait for all of them, at the network's last step time) before the loop turns to REALTIME ticks
    /// and commands again. Defaults to 2 ms; 0 steps every LOCKSTEP step on its own.
    /// </summary>
    public double ChainMilliseconds { get; set; } = 2;

    public void Validate()
    {
        foreach (var (name, value) in new[] { ("CpuBelowNeurons", CpuBelowNeurons), ("CpuBelowConnections", CpuBelowConnections) })
        {
            if (value < 0)
            {
                throw new InvalidOperationException($"Snn:Engine:{name} is {value}; use 0 or more (0 in it or in the other of " +
                    "Snn:Engine:CpuBelowNeurons and CpuBelowConnections: every network with device kernels steps on the device)");
            }
        }

        if (PlaceAsideFromSynapses < 0)
        {
            throw new InvalidOperationException($"Snn:Engine:PlaceAsideFromSynapses is {PlaceAsideFromSynapses}; use 0 or more (0: every network is placed on the device off the step loop)");
        }

        if (ChainMilliseconds is < 0 or > 1000 || double.IsNaN(ChainMilliseconds))
        {
            throw new InvalidOperationException($"Snn:Engine:ChainMilliseconds is {ChainMilliseconds}; use 0..1000 (0: no chains of LOCKSTEP steps)");
        }
    }

    public static readonly string[] Backends = ["cpu", "cuda", "opencl", "ilgpu-cpu"];
}
