using System.Collections.Concurrent;
using Snn.Server.Engine;
using Snn.Server.Storage;

namespace Snn.Server.Security;

/// <summary>
/// Holds each tenant to <see cref="QuotaOptions"/>: networks, neurons and synapses when a network is created,
/// open streams when a Run or Watch opens. Every count is the tenant's own (its own lock, its own counter):
/// one tenant at its quota never waits on, or slows, another.
/// </summary>
internal sealed class TenantQuotas(QuotaOptions options, StepLoop loop, Durability durability)
{
    private readonly ConcurrentDictionary<string, TenantState> _tenants = new(StringComparer.Ordinal);

    public QuotaOptions Options => options;

    /// <summary>
    /// Creates <paramref name="definition"/> (already qualified with <paramref name="tenant"/>) if the tenant's
    /// networks stay within the quotas. A tenant's creates run one at a time, so two cannot both fit the last room.
    /// Neurons and synapses are counted from the built network, once the engine has checked the definition.
    /// </summary>
    public async Task<Network> CreateAsync(string tenant, NetworkDefinition definition, CancellationToken cancellationToken)
    {
        var state = State(tenant);
        await state.Creating.WaitAsync(cancellationToken);
        try
        {
            int networks = 0;
            long neurons = 0;
            long synapses = 0;
            foreach (var held in loop.Networks)
            {
                if (TenantScope.Owns(tenant, held.Name))
                {
                    networks++;
                    neurons += held.Neurons * held.Instances.Length;
                    synapses += held.Synapses;
                }
            }

            if (networks >= options.MaxNetworks)
            {
                throw Exhausted("MaxNetworks", $"{Who(tenant)} holds {networks} networks and may hold {options.MaxNetworks}; delete one first");
            }

            return await durability.CreateAsync(definition, cancellationToken, admit: network =>
            {
                long asked = network.Neurons * network.Instances.Length;
                if (neurons + asked > options.MaxNeurons)
                {
                    throw Exhausted("MaxNeurons",
                        $"this network has {asked} neurons (instances counted), {Who(tenant)} holds {neurons}, and the quota is {options.MaxNeurons}");
                }

                if (synapses + network.Synapses > options.MaxSynapses)
                {
                    throw Exhausted("MaxSynapses",
                        $"this network has {network.Synapses} synapses, {Who(tenant)} holds {synapses}, and the quota is {options.MaxSynapses}");
                }
            });
        }
        finally
        {
            state.Creating.Release();
        }
    }

    /// <summary>Counts a Run or Watch stream of <paramref name="tenant"/> until the lease is disposed; refuses one over the quota.</summary>
    public StreamLease OpenStream(string tenant)
    {
        var state = State(tenant);
        int open = Interlocked.Increment(ref state.Streams);
        if (open > options.MaxOpenStreams)
        {
            Interlocked.Decrement(ref state.Streams);
            throw Exhausted("MaxOpenStreams", $"{Who(tenant)} has {open - 1} Run and Watch streams open and may have {options.MaxOpenStreams}; close one first");
        }

        return new StreamLease(state);
    }

    /// <summary>Streams <paramref name="tenant"/> has open.</summary>
    public int OpenStreams(string tenant) => _tenants.TryGetValue(tenant, out var state) ? Volatile.Read(ref state.Streams) : 0;

    /// <summary>A refusal naming the quota (its configuration key) and the numbers.</summary>
    public static EngineException Exhausted(string quota, string detail) =>
        new(EngineError.ResourceExhausted, $"quota Snn:Quotas:{quota} exceeded: {detail}");

    public static string Who(string tenant) => tenant.Length == 0 ? "the server's (anonymous) tenant" : $"tenant '{tenant}'";

    private TenantState State(string tenant) => _tenants.GetOrAdd(tenant, static _ => new TenantState());

    internal sealed class TenantState
    {
        public readonly SemaphoreSlim Creating = new(1, 1);

        public int Streams;
    }

    /// <summary>One open stream of a tenant; disposing it closes the count.</summary>
    internal sealed class StreamLease(TenantState state) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref state.Streams);
            }
        }
    }
}
