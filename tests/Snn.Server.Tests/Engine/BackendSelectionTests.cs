using Snn.Server.Backends;
using Snn.Server.Backends.Cpu;
using Snn.Server.Backends.Gpu;

namespace Snn.Server.Tests.Engine;

/// <summary><c>Snn:Engine:Backend</c> and <c>Snn:Engine:Device</c>: what each value makes, and the messages when it cannot.</summary>
public sealed class BackendSelectionTests
{
    [Fact]
    public void Cpu_is_the_default()
    {
        using var backend = (IDisposable)ComputeBackends.Create(new EngineOptions(), new CpuOptions { Threads = 1 });
        Assert.Equal("cpu", ((IComputeBackend)backend).Name);
        Assert.Null(((IComputeBackend)backend).DeviceInfo);
    }

    [Fact]
    public void An_unknown_backend_names_the_setting_and_the_choices()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ComputeBackends.Create(new EngineOptions { Backend = "tpu" }, new CpuOptions()));
        Assert.Contains("Snn:Engine:Backend", e.Message, StringComparison.Ordinal);
        Assert.Contains("cuda", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ilgpu_cpu_reports_its_device_and_takes_the_cpu_and_placement_thresholds()
    {
        using var backend = (GpuBackend)ComputeBackends.Create(new EngineOptions
        {
            Backend = "ilgpu-cpu", CpuBelowNeurons = 500, CpuBelowConnections = 600, PlaceAsideFromSynapses = 77,
        }, new CpuOptions());
        Assert.Equal("ilgpu-cpu", backend.Name);
        Assert.Equal(500, backend.CpuBelowNeurons);
        Assert.Equal(600, backend.CpuBelowConnections);
        Assert.Equal(77, backend.PlaceAsideFromSynapses);
        using (var defaults = (GpuBackend)ComputeBackends.Create(new EngineOptions { Backend = "ilgpu-cpu" }, new CpuOptions()))
        {
            Assert.Equal(16_384, defaults.CpuBelowNeurons);
            Assert.Equal(524_288, defaults.CpuBelowConnections);
        }

        var e = Assert.Throws<InvalidOperationException>(() => new EngineOptions { PlaceAsideFromSynapses = -1 }.Validate());
        Assert.Contains("Snn:Engine:PlaceAsideFromSynapses is -1; use 0 or more", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<InvalidOperationException>(() => new EngineOptions { CpuBelowConnections = -1 }.Validate());
        Assert.Contains("Snn:Engine:CpuBelowConnections is -1; use 0 or more", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<InvalidOperationException>(() => new EngineOptions { CpuBelowNeurons = -5 }.Validate());
        Assert.Contains("Snn:Engine:CpuBelowNeurons is -5; use 0 or more", e.Message, StringComparison.Ordinal);
        Assert.NotNull(backend.DeviceInfo);
        Assert.Equal(0, backend.DeviceInfo.Index);
        Assert.False(string.IsNullOrEmpty(backend.DeviceInfo.Name));
    }

    [Fact]
    public void A_device_index_out_of_range_names_the_setting()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ComputeBackends.Create(new EngineOptions { Backend = "ilgpu-cpu", Device = 7 }, new CpuOptions()));
        Assert.Contains("Snn:Engine:Device is 7", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cuda_without_a_gpu_stops_with_a_message_naming_the_setting()
    {
        // CI has no GPU: the start must stop and say why. Where a GPU is present the backend is made.
        try
        {
            using var backend = (GpuBackend)ComputeBackends.Create(new EngineOptions { Backend = "cuda" }, new CpuOptions());
            Assert.Equal("cuda", backend.Name);
        }
        catch (InvalidOperationException e)
        {
            Assert.Contains("Snn:Engine:Backend is 'cuda'", e.Message, StringComparison.Ordinal);
        }
    }
}
