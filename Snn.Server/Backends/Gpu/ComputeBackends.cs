using Snn.Server.Backends.Cpu;

namespace Snn.Server.Backends.Gpu;

/// <summary>Creates the backend <see cref="EngineOptions"/> ask for; a missing device stops the start.</summary>
internal static class ComputeBackends
{
    public static IComputeBackend Create(EngineOptions engine, CpuOptions cpu)
    {
        string kind = (engine.Backend ?? "cpu").Trim().ToLowerInvariant();
        return kind switch
        {
            "cpu" or "" => new CpuBackend(cpu),
            "cuda" or "opencl" or "ilgpu-cpu" => Configured(GpuBackend.Create(kind, engine.Device, cpu), engine),
            _ => throw new InvalidOperationException(
                $"Snn:Engine:Backend is '{engine.Backend}'; it must be one of {string.Join(", ", EngineOptions.Backends)}"),
        };
    }

    private static GpuBackend Configured(GpuBackend backend, EngineOptions engine)
    {
        backend.CpuBelowNeurons = engine.CpuBelowNeurons;
        backend.CpuBelowConnections = engine.CpuBelowConnections;
        backend.PlaceAsideFromSynapses = engine.PlaceAsideFromSynapses;
        return backend;
    }
}
