using System.Globalization;
using Snn.Server.Engine;

namespace Snn.Server.Backends.Gpu;

/// <summary>
/// Where each network steps: the decision at its first step (the device, or the CPU backend and why), its device copy made
/// at once or off the loop (<see cref="PlaceAsideFromSynapses"/>) and taken between two steps, edits that move it, and the
/// notes that say where it went (<see cref="Network.StepsOn"/>, the log, the device check).
/// </summary>
internal sealed partial class GpuBackend
{
    /// <summary>Networks being placed off the loop (see <see cref="PlaceAsideFromSynapses"/>), stepping on the CPU backend meanwhile.</summary>
    private readonly Dictionary<Network, Aside> _aside = new(ReferenceEqualityComparer.Instance);

    /// <summary>Placements off the loop of networks deleted or edited meanwhile: what they made is freed when they end.</summary>
    private readonly List<Task> _discarded = [];
    private readonly List<string> _placements = [];

    /// <summary>
    /// Where <paramref name="network"/> steps (<paramref name="placement"/>: also its <see cref="Network.StepsOn"/>), or
    /// a change in how it steps from then on (the driver refused to capture its chains into graphs, the device had no
    /// room for longer chains): kept with the placements and logged, once each.
    /// </summary>
    internal void Note(Network network, string what, bool placement = false)
    {
        if (placement)
        {
            network.StepsOn = what;
        }

        string line = $"{network.Name}: {what}";
        lock (_placements)
        {
            _placements.Add(line);
        }

        if (Logger is { } logger)
        {
            LogPlacement(logger, Name, line);
        }
    }

    /// <summary>Where each network stepped, one line per network in the order they first stepped (for the device check).</summary>
    public IReadOnlyList<string> Placements()
    {
        lock (_placements)
        {
            return [.. _placements];
        }
    }

    /// <summary>
    /// The device copy of <paramref name="network"/>, made at its first step; null when it steps on the CPU (also while
    /// its copy is made off the loop: <see cref="Settled"/> takes it once ready).
    /// </summary>
    internal DeviceNetwork? Find(Network network)
    {
        if (!_networks.TryGetValue(network, out var device))
        {
            string? cpu = CpuReason(network);
            if (cpu is null && network.Synapses >= PlaceAsideFromSynapses)
            {
                _networks[network] = null;
                PlaceAside(network);
                Note(network, $"on the CPU backend while its device copy is made ({network.Synapses:N0} synapses), then on the device", placement: true);
                return null;
            }

            string? noRoom = cpu is null ? Place(network, out device) : null;
            _networks[network] = device;
            Note(network, device is not null ? "on the device" : $"on the CPU backend, {cpu ?? noRoom}", placement: true);
        }

        return device;
    }

    /// <summary>Why <paramref name="network"/> steps on the CPU backend whatever the device's room, or null where it goes on the device.</summary>
    private string? CpuReason(Network network) =>
        network.Definition.Placement == NetworkPlacement.Cpu ? "as its spec.placement asks"
            : DeviceNetwork.Unsupported(network) is { } unsupported ? $"{unsupported} has no device kernel yet"
            : network.Definition.Placement == NetworkPlacement.Auto ? Small(network)
            : null;

    /// <summary>
    /// Why the CPU backend steps <paramref name="network"/> faster than the device, or null: its neurons and connections
    /// over all instances, each as a share of the size at which the device alone would be faster (<see cref="CpuBelowNeurons"/>,
    /// <see cref="CpuBelowConnections"/>), add up to less than 1.
    /// </summary>
    private string? Small(Network network)
    {
        if (CpuBelowNeurons <= 0 || CpuBelowConnections <= 0)
        {
            return null;
        }

        long neurons = network.Neurons * network.Instances.Length;
        long connections = network.Connections * network.Instances.Length;
        double share = (double)neurons / CpuBelowNeurons + (double)connections / CpuBelowConnections;
        return share < 1
            ? string.Create(CultureInfo.InvariantCulture, $"small enough to step faster there: {neurons:N0} neurons / {CpuBelowNeurons:N0} + ") +
                string.Create(CultureInfo.InvariantCulture, $"{connections:N0} connections / {CpuBelowConnections:N0} = {share:F2}, below 1 ") +
                "(Snn:Engine:CpuBelowNeurons, Snn:Engine:CpuBelowConnections; PLACEMENT_DEVICE puts it on the device)"
            : null;
    }

    /// <summary>
    /// Makes the device copy of <paramref name="network"/> with everything uploaded, or returns why the device has
    /// no room for it (nothing of it is left on the device then; its host arrays, never stepped on the device, are its state).
    /// </summary>
    private string? Place(Network network, out DeviceNetwork? device)
    {
        device = null;
        DeviceNetwork? made = null;
        try
        {
            made = new DeviceNetwork(this, network);
            made.Prepare();
            device = made;
            return null;
        }
        catch (Exception e)
        {
            made?.Dispose();
            if (e is not DeviceMemoryException)
            {
                throw;
            }

            return $"the device has no room for it: {e.Message}";
        }
    }

    /// <summary>Tests: the work of <paramref name="network"/>'s placement off the loop, until the loop takes it (null: none).</summary>
    internal Task? PlacementAside(Network network) => _aside.TryGetValue(network, out var aside) ? aside.Work : null;

    /// <summary>A placement off the loop: its thread's work, and how to call it off.</summary>
    private sealed class Aside(Task<DeviceNetwork> work, CancellationTokenSource cancel)
    {
        public Task<DeviceNetwork> Work { get; } = work;

        public CancellationTokenSource Cancel { get; } = cancel;
    }

    /// <summary>
    /// One placement off the loop at a time: each holds its network's host temporaries (a sparse projection's regrouped
    /// arrays) and regroups on every core, so several at once would only multiply the memory they hold.
    /// </summary>
    private readonly SemaphoreSlim _placingAside = new(1, 1);

    /// <summary>
    /// Starts placing <paramref name="network"/> on a thread of its own, after the placements off the loop begun before it:
    /// buffers made and parameters and weights uploaded on a stream of its own (<see cref="DeviceNetwork.UploadParametersAside"/>),
    /// while the loop steps the network on the CPU backend and every other network as before. <see cref="Settled"/> takes
    /// the copy between two steps; <see cref="Discard"/> calls it off.
    /// </summary>
    private void PlaceAside(Network network)
    {
        var cancel = new CancellationTokenSource();
        var token = cancel.Token;
        var work = Task.Factory.StartNew(() =>
        {
            _placingAside.Wait(token);
            try
            {
                var stream = Accelerator.CreateStream();
                DeviceNetwork? made = null;
                try
                {
                    made = new DeviceNetwork(this, network, stream);
                    token.ThrowIfCancellationRequested();
                    made.UploadParametersAside(token);
                    return made;
                }
                catch
                {
                    made?.Dispose();
                    throw;
                }
                finally
                {
                    stream.Dispose();
                }
            }
            finally
            {
                _placingAside.Release();
            }
        }, token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _aside[network] = new Aside(work, cancel);
    }

    /// <summary>
    /// Where <paramref name="network"/> steps, at a point between two steps before the next one's inputs are given (the
    /// loop's <see cref="BeginChain"/> and <see cref="KeepsHostInputsZero"/>, <see cref="OnDevice"/>): a placement off the
    /// loop that is ready (or, with <paramref name="wait"/>, once it is) is taken there.
    /// </summary>
    private DeviceNetwork? Settled(Network network, bool wait = false)
    {
        var device = Find(network);
        if (device is null && _aside.Count > 0 && _aside.TryGetValue(network, out var aside) && (wait || aside.Work.IsCompleted))
        {
            _aside.Remove(network);
            device = Take(network, aside);
        }

        return device;
    }

    /// <summary>
    /// Takes a finished placement off the loop: the state goes up as the CPU backend left it, and the host input rows the
    /// CPU backend accumulates into are cleared (a device backend keeps them zero, see <see cref="KeepsHostInputsZero"/>).
    /// </summary>
    private DeviceNetwork? Take(Network network, Aside aside)
    {
        DeviceNetwork? made = null;
        string? failed = null;
        aside.Cancel.Dispose();
        try
        {
            made = aside.Work.GetAwaiter().GetResult();
            made.Prepare();
        }
        catch (Exception e)
        {
            made?.Dispose();
            made = null;
            failed = e is DeviceMemoryException ? $"the device has no room for it: {e.Message}" : $"its device copy failed: {e.Message}";
            if (e is not DeviceMemoryException && Logger is { } logger)
            {
                LogPlacementFailed(logger, Name, network.Name, e);
            }
        }

        if (made is null)
        {
            Note(network, $"on the CPU backend, {failed}", placement: true);
            return null;
        }

        foreach (var p in network.Populations)
        {
            if (!p.SpikesAreInput)
            {
                p.Input.AsSpan().Clear();
                p.RecurrentInput.AsSpan().Clear();
                for (int i = 0; i < network.Instances.Length; i++)
                {
                    p.InputMarksIfAny?.Clear(i);
                }
            }
        }

        _networks[network] = made;
        Note(network, "on the device", placement: true);
        return made;
    }

    /// <summary>
    /// A placement off the loop that is no longer wanted: called off (one still waiting for its turn never starts, one
    /// under way stops between two projections' uploads or within a sparse regrouping), and what it made is freed when it ends.
    /// </summary>
    private void Discard(Aside aside)
    {
        aside.Cancel.Cancel();
        var freed = aside.Work.ContinueWith(t =>
        {
            aside.Cancel.Dispose();
            if (t.IsCompletedSuccessfully)
            {
                t.Result.Dispose();
            }
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        lock (_discarded)
        {
            _discarded.RemoveAll(d => d.IsCompleted);
            _discarded.Add(freed);
        }
    }

    public void HostEdited(Network network, HostEdit edit)
    {
        if (edit == HostEdit.Parameters && _aside.Remove(network, out var aside))
        {
            // Its copy may have read the old parameters and weights: called off, and begun again from the host's.
            Discard(aside);
            string? cpu = CpuReason(network);
            if (cpu is null)
            {
                PlaceAside(network);
            }
            else
            {
                Note(network, $"on the CPU backend since an edit, {cpu}", placement: true);
            }

            return;
        }

        if (!_networks.TryGetValue(network, out var device) || device is null)
        {
            return;
        }

        string? reason = CpuReason(network);
        if (reason is null && edit == HostEdit.Parameters && network.Synapses >= PlaceAsideFromSynapses)
        {
            // New weights go up off the loop too: the host arrays are current (refreshed before the edit), so the network
            // steps on the CPU backend until its new copy is ready.
            device.Dispose();
            _networks[network] = null;
            PlaceAside(network);
            Note(network, $"on the CPU backend while its device copy is made again after an edit ({network.Synapses:N0} synapses), then on the device", placement: true);
            return;
        }

        if (reason is null)
        {
            device.HostEdited(edit);
            try
            {
                device.Prepare(); // now, not at the next step: where new parameters need room the device lacks, the host is still current
                return;
            }
            catch (DeviceMemoryException e)
            {
                Note(network, $"on the CPU backend, the device has no room for it since an edit: {e.Message}", placement: true);
            }
        }
        else
        {
            Note(network, $"on the CPU backend since an edit, {reason}", placement: true);
        }

        // SetParameters chose something the device kernels lack (e.g. inhibition), or the device has no room
        // for what it needs now: the host arrays are current (refreshed before the edit), so the CPU takes over.
        device.Dispose();
        _networks[network] = null;
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Backend {Backend}: network {Placement}")]
    private static partial void LogPlacement(ILogger logger, string backend, string placement);

    [LoggerMessage(EventId = 201, Level = LogLevel.Error, Message = "Backend {Backend}: placing network {Network} on the device failed; it steps on the CPU backend")]
    private static partial void LogPlacementFailed(ILogger logger, string backend, string network, Exception exception);
}
