using Snn.Server.Engine;

namespace Snn.Server.Backends;

/// <summary>
/// Where the arithmetic of a step runs. The step loop owns scheduling, inputs and outputs; a backend
/// advances the due instances of a network by one step: delivers projections into each population's
/// input and runs its neuron kernel, population by population in feed-forward order. The CPU backend
/// works on the populations' host arrays; a device backend (ILGPU: CUDA, OpenCL) keeps them on the device and
/// copies back what outputs need.
/// </summary>
internal interface IComputeBackend
{
    /// <summary>Short name, e.g. "cpu".</summary>
    string Name { get; }

    /// <summary>Human-readable device description.</summary>
    string Device { get; }

    /// <summary>
    /// Steps the instances listed in <paramref name="due"/> (ascending) by one step. External input
    /// for this step is already in each population's <see cref="Population.Input"/>.
    /// </summary>
    void Step(Network network, ReadOnlySpan<int> due);

    /// <summary>
    /// Readies a chain of up to <paramref name="steps"/> steps of <paramref name="network"/> that the
    /// loop queues with <see cref="Enqueue"/> (slots 0, 1, ...) and waits for once with
    /// <see cref="Complete"/>, reading each step's outputs after. Returns how many it may queue (at
    /// least 1). A backend that steps on the host returns 1: each step completes as it is queued.
    /// </summary>
    int BeginChain(Network network, int steps) => 1;

    /// <summary>
    /// Queues one step of the due instances whose outputs go to <paramref name="slot"/> of the chain
    /// (external input for this step is already in each population's <see cref="Population.Input"/>).
    /// </summary>
    void Enqueue(Network network, ReadOnlySpan<int> due, int slot) => Step(network, due);

    /// <summary>
    /// Whether the backend leaves the host input rows of <paramref name="network"/> zero after each step
    /// (a device backend takes the external input from them and clears what it took; its projections
    /// add into inputs on the device), so that the loop need not clear every population's rows before
    /// each step, only those that are also a spike row (input and passthrough populations, which
    /// <see cref="RefreshHost"/> may fill). False where the backend accumulates into the host rows (the CPU backend).
    /// The loop asks it, as it calls <see cref="BeginChain"/>, before the next step's inputs are given: a device backend
    /// may move the network onto the device there (a placement made off the loop, clearing the rows it then keeps zero).
    /// </summary>
    bool KeepsHostInputsZero(Network network) => false;

    /// <summary>
    /// Starts the chain's steps queued so far on the device without waiting, so that it runs them while
    /// the loop queues the rest. A backend that steps on the host has nothing to start.
    /// </summary>
    void Send(Network network)
    {
    }

    /// <summary>
    /// Waits until the chain's first <paramref name="steps"/> steps, already started by <see cref="Send"/>,
    /// are done and their outputs readable, without waiting for the rest. False where the backend can only
    /// make them readable with <see cref="Complete"/>.
    /// </summary>
    bool WaitFor(Network network, int steps) => false;

    /// <summary>Waits for the steps queued since <see cref="BeginChain"/>; their outputs are then readable.</summary>
    void Complete(Network network)
    {
    }

    /// <summary>
    /// The spikes of <paramref name="population"/> of <paramref name="instance"/> at the chain step
    /// <paramref name="slot"/>, when the backend keeps them as lists (a device backend); false when they
    /// are only in the population's host spike array (the CPU backend), which the loop then scans.
    /// </summary>
    bool TryGetSpikes(Network network, Population population, int instance, int slot, out SpikeList spikes)
    {
        spikes = default;
        return false;
    }

    /// <summary>
    /// Which populations' spikes the loop reads with <see cref="TryGetSpikes"/> from the steps it enqueues from now on
    /// (by population index; a stream's <c>spikes_from</c>), told before a chain's first step: a device backend then
    /// copies those alone to the host and keeps the rest on the device, where <see cref="RefreshHost"/> still finds them.
    /// Until told, every population's. A backend whose spikes are on the host anyway ignores it.
    /// </summary>
    void ReadSpikes(Network network, ReadOnlySpan<bool> populations)
    {
    }

    /// <summary>
    /// SCHED_FIFO priority (1..99) of the backend's helper threads, or 0 for ordinary threads; set by
    /// the step loop when it changes its own (see <see cref="RealtimeScheduling"/>).
    /// </summary>
    void SetRealtimePriority(int priority);

    /// <summary>
    /// The device, for GetServerInfo: name, memory and compute capability (null for the CPU backend,
    /// whose <see cref="Device"/> says it all).
    /// </summary>
    ComputeDeviceInfo? DeviceInfo => null;

    /// <summary>Device memory free now as the driver reports it, or null where it cannot tell (or there is no device). Any thread.</summary>
    long? DeviceFreeBytes => null;

    /// <summary>
    /// Makes the populations' host arrays (state, spikes, delay lines) current before the loop reads
    /// them (GetState, recorded states, snapshots, reset, SetParameters). A backend that keeps state on a device
    /// copies it back here; the CPU backend's host arrays are the state, so it does nothing.
    /// </summary>
    void RefreshHost(Network network)
    {
    }

    /// <summary>
    /// Makes some state variables of some instances current in the host arrays, for the states a step records (its
    /// other host arrays may stay behind): a device backend copies back those slices alone. See <see cref="RefreshHost"/>.
    /// </summary>
    void RefreshStates(Network network, ReadOnlySpan<StateSlice> slices)
    {
    }

    /// <summary>
    /// The loop reset instance <paramref name="instance"/> of <paramref name="network"/> in its host arrays (state,
    /// spikes, inputs, its delay lines), without making them current first (<see cref="RefreshHost"/>): a device
    /// backend resets that instance on the device alone, and reads nothing back.
    /// </summary>
    void InstanceReset(Network network, int instance)
    {
    }

    /// <summary>
    /// The loop changed the host arrays of <paramref name="network"/>, made current first (<see cref="HostEdit.State"/>:
    /// a snapshot restored), or its kernels, parameters or weights too (<see cref="HostEdit.Parameters"/>:
    /// SetParameters): a device backend uploads what changed before the next step.
    /// </summary>
    void HostEdited(Network network, HostEdit edit)
    {
    }

    /// <summary>The network was deleted: a device backend frees what it held for it.</summary>
    void Release(Network network)
    {
    }
}

/// <summary>What GetServerInfo reports of a device backend's device.</summary>
/// <param name="Index">The device index (<c>Snn:Engine:Device</c>).</param>
/// <param name="Name">The device's name as its driver reports it.</param>
/// <param name="MemoryBytes">Device memory in bytes.</param>
/// <param name="ComputeCapability">e.g. "9.0" for CUDA; empty where the notion does not apply.</param>
internal sealed record ComputeDeviceInfo(int Index, string Name, long MemoryBytes, string ComputeCapability);

/// <summary>One instance's spikes in one population at one step: ascending neuron indices and their values.</summary>
internal readonly ref struct SpikeList(ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
{
    public ReadOnlySpan<int> Indices { get; } = indices;

    public ReadOnlySpan<float> Values { get; } = values;
}

/// <summary>What the loop changed in a network's host arrays (see <see cref="IComputeBackend.HostEdited"/>).</summary>
internal enum HostEdit
{
    /// <summary>State variables, spikes and delay lines (a snapshot restored); kernels, parameters and weights are as they were.</summary>
    State,

    /// <summary>Kernels, parameters or weights as well (SetParameters).</summary>
    Parameters,
}

/// <summary>
/// Neurons [<paramref name="Start"/>, <paramref name="Start"/> + <paramref name="Count"/>) of one state variable of one
/// population, for one instance (see <see cref="IComputeBackend.RefreshStates"/>).
/// </summary>
internal readonly record struct StateSlice(int Population, int Variable, int Instance, int Start, int Count);
