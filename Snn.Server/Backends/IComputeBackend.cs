using Snn.Server.Engine;

namespace Snn.Server.Backends;

/// <summary>
/// Where the arithmetic of a step runs. The step loop owns scheduling, inputs and outputs; a backend
/// advances the due instances of a network by one step: delivers projections into each population's
/// input and runs its neuron kernel, population by population in feed-forward order. The CPU backend
/// works on the populations' host arrays; a device backend (OpenCL) keeps them on the device and
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
    /// SCHED_FIFO priority (1..99) of the backend's helper threads, or 0 for ordinary threads; set by
    /// the step loop when it changes its own (see <see cref="RealtimeScheduling"/>).
    /// </summary>
    void SetRealtimePriority(int priority);
}
