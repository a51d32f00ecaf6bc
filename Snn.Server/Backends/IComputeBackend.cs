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

    /// <summary>Threads the backend can step networks on at once (1 = only the caller's).</summary>
    int Threads { get; }

    /// <summary>
    /// Runs the parts of <paramref name="work"/> on up to <see cref="Threads"/> threads, part 0 on the
    /// caller's, and returns when all are done. Used to step several small networks at once; while it
    /// runs, <see cref="Step"/> may be called from several threads for different networks and does
    /// not split kernel calls itself.
    /// </summary>
    void RunParallel(IPartitionedWork work, int parts);
}
