using System.Reflection;
using Grpc.Core;
using Snn.Protos.V1;
using Snn.Server.Engine;
using Snn.Server.Models;
using Snn.Server.Security;
using Snn.Server.Storage;

namespace Snn.Server.Services;

/// <summary>
/// The unary handlers of <c>snn.v1.Snn</c> (overrides of the generated base): validate, map the request
/// to engine types, hand it to the step loop, map the answer back. Refusals are thrown as
/// <see cref="EngineException"/>; Rpc/ErrorInterceptor turns them into statuses. Run and Watch are in
/// <see cref="RunHandler"/> and <see cref="WatchHandler"/> (Rpc/StreamingMethods binds them); snapshots in
/// SnnService.Snapshots.cs; NIR import and export in SnnService.Nir.cs. Changes to networks are made durable (<see cref="Durability"/>) before they are answered.
/// Every network name in or out passes <see cref="TenantScope"/>: a caller sees only its tenant's networks.
/// </summary>
internal sealed partial class SnnService(StepLoop loop, TenantQuotas quotas, Durability durability, Recovery recovery,
    ILogger<SnnService> logger)
    : Protos.V1.Snn.SnnBase
{
    private static readonly string s_version =
        typeof(SnnService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    public override Task<ServerInfo> GetServerInfo(GetServerInfoRequest request, ServerCallContext context)
    {
        var limits = loop.Limits;
        var info = new ServerInfo
        {
            Version = s_version,
            Backend = loop.Backend.Name,
            Device = loop.Backend.Device,
            Limits = new Limits
            {
                MaxMessageBytes = (ulong)MaxMessageBytes,
                MaxNeuronsPerPopulation = (uint)limits.MaxNeuronsPerPopulation,
                MaxNeuronsPerNetwork = (ulong)limits.MaxNeuronsPerNetwork,
                MaxSynapsesPerNetwork = (ulong)limits.MaxSynapsesPerNetwork,
                MaxInstances = (uint)limits.MaxInstances,
                MaxNetworks = (uint)limits.MaxNetworks,
                MaxInputHorizon = (uint)limits.MaxInputHorizon,
                MaxDelaySteps = (uint)limits.MaxDelaySteps,
                MaxMemoryBytes = (ulong)limits.MaxMemoryBytes,
            },
        };
        if (loop.Backend.DeviceInfo is { } device)
        {
            info.ComputeDevice = new ComputeDevice
            {
                Index = (uint)device.Index,
                Name = device.Name,
                MemoryBytes = (ulong)device.MemoryBytes,
                ComputeCapability = device.ComputeCapability,
            };
            if (loop.Backend.DeviceFreeBytes is { } free)
            {
                info.ComputeDevice.FreeBytes = (ulong)free;
            }
        }

        foreach (var model in ModelCatalog.All)
        {
            info.Models.Add(SpecMapping.ToProto(model));
        }

        var usage = new Usage { ProcessBytes = (ulong)Environment.WorkingSet, MemoryBytes = (ulong)loop.MemoryCharged };
        foreach (var network in loop.Networks)
        {
            if (!TenantScope.Owns(context, network.Name))
            {
                continue;
            }

            usage.Networks++;
            usage.Neurons += (ulong)(network.Neurons * network.Instances.Length);
            usage.Synapses += (ulong)network.Synapses;
            usage.StateBytes += (ulong)network.StateBytes;
            usage.SynapseBytes += (ulong)network.SynapseBytes;
        }

        usage.BytesPerNeuron = usage.Neurons == 0 ? 0 : (double)usage.StateBytes / usage.Neurons;
        usage.BytesPerSynapse = usage.Synapses == 0 ? 0 : (double)usage.SynapseBytes / usage.Synapses;
        info.Usage = usage;
        info.Recovery = RecoveryFor(context);
        return Task.FromResult(info);
    }

    /// <summary>The start's recovery report as the caller may see it: the counts, and failures of its own networks only.</summary>
    private RecoveryInfo RecoveryFor(ServerCallContext context)
    {
        var report = recovery.Report.Clone();
        report.Failures.Clear();
        foreach (var failure in recovery.Report.Failures)
        {
            if (TenantScope.Owns(context, failure.Network))
            {
                report.Failures.Add(new RecoveryFailure { Network = TenantScope.Unqualify(context, failure.Network), Reason = failure.Reason });
            }
        }

        return report;
    }

    /// <summary>Largest message, as configured on the transport (reported by GetServerInfo).</summary>
    public long MaxMessageBytes { get; set; } = 4 << 20;

    public override async Task<Protos.V1.Network> CreateNetwork(CreateNetworkRequest request, ServerCallContext context)
    {
        var definition = SpecMapping.ToDefinition(request.Spec);
        NetworkBuilder.CheckName(definition.Name, "spec.name");
        return ToProto(await CreateAsync(definition, context), includeWeights: false, context);
    }

    /// <summary>
    /// Creates the caller's network <paramref name="definition"/> (its name already checked): under the caller's
    /// tenant, within its quotas, durable before it is answered. CreateNetwork and ImportNetwork both create here.
    /// </summary>
    private Task<Engine.Network> CreateAsync(NetworkDefinition definition, ServerCallContext context)
    {
        string tenant = TenantScope.Tenant(context);
        return quotas.CreateAsync(tenant, definition with { Name = TenantScope.Qualify(tenant, definition.Name) }, context.CancellationToken);
    }

    public override Task<Protos.V1.Network> GetNetwork(GetNetworkRequest request, ServerCallContext context) =>
        Task.FromResult(ToProto(Find(context, request.Name, "name"), request.IncludeWeights, context));

    public override Task<ListNetworksResponse> ListNetworks(ListNetworksRequest request, ServerCallContext context)
    {
        var response = new ListNetworksResponse();
        foreach (var network in loop.Networks)
        {
            if (TenantScope.Owns(context, network.Name))
            {
                response.Networks.Add(ToProto(network, includeWeights: false, context));
            }
        }

        return Task.FromResult(response);
    }

    public override async Task<DeleteNetworkResponse> DeleteNetwork(DeleteNetworkRequest request, ServerCallContext context)
    {
        await durability.DeleteAsync(TenantScope.Qualify(context, request.Name), context.CancellationToken);
        return new DeleteNetworkResponse();
    }

    public override async Task<SetParametersResponse> SetParameters(SetParametersRequest request, ServerCallContext context)
    {
        var network = Find(context, request.Network, "network");
        var populations = request.Populations
            .Select((p, i) => (p.Population,
                (IReadOnlyDictionary<string, ParamValue>)SpecMapping.ToParameters(p.Params, $"populations[{i}].params")))
            .ToList();
        var projections = request.Projections
            .Select(j => (j.Projection, j.Weights.Count > 0 ? j.Weights.ToArray() : null, j.Bias.Count > 0 ? j.Bias.ToArray() : null))
            .ToList();
        long step = await loop.SetParametersAsync(network, populations, projections, context.CancellationToken);
        await durability.StoreDefinitionAsync(network, created: false, CancellationToken.None);
        return new SetParametersResponse { EffectiveStep = (ulong)step };
    }

    public override async Task<ResetStateResponse> ResetState(ResetStateRequest request, ServerCallContext context)
    {
        var network = Find(context, request.Network, "network");
        int? instance = null;
        if (request.HasInstance)
        {
            instance = CheckInstance(network, request.Instance, "instance");
        }

        await loop.ResetAsync(network, instance, context.CancellationToken);
        return new ResetStateResponse();
    }

    public override async Task<GetStateResponse> GetState(GetStateRequest request, ServerCallContext context)
    {
        var network = Find(context, request.Network, "network");
        int instance = CheckInstance(network, request.Instance, "instance");
        var pop = network.FindPopulation(request.Population)
            ?? throw EngineException.NotFound($"population '{request.Population}' is not a population of network '{network.Name}'");
        var names = request.Variables.Count > 0 ? request.Variables.ToArray() : pop.Model.StateVariables.ToArray();
        var variables = new int[names.Length];
        for (int v = 0; v < names.Length; v++)
        {
            variables[v] = pop.VariableIndex(names[v]);
            if (variables[v] < 0)
            {
                throw EngineException.Invalid(
                    $"variables[{v}] '{names[v]}' is not a state variable of model {pop.Model.Name}; it has: {string.Join(", ", pop.Model.StateVariables)}");
            }
        }

        int[]? neurons = null;
        if (request.Neurons.Count > 0)
        {
            neurons = new int[request.Neurons.Count];
            for (int k = 0; k < neurons.Length; k++)
            {
                uint n = request.Neurons[k];
                if (n >= pop.Size)
                {
                    throw EngineException.Invalid($"neurons[{k}] = {n} is out of range; population '{pop.Name}' has {pop.Size} neurons");
                }

                neurons[k] = (int)n;
            }
        }

        var (step, values) = await loop.GetStateAsync(network, instance, pop, variables, neurons, context.CancellationToken);
        var response = new GetStateResponse { Step = (ulong)step };
        for (int v = 0; v < names.Length; v++)
        {
            var vv = new VariableValues { Variable = names[v] };
            vv.Values.Add(values[v]);
            response.Variables.Add(vv);
        }

        return response;
    }

    /// <summary>The caller's network <paramref name="name"/>; another tenant's is not found, exactly like a name nobody uses.</summary>
    internal Engine.Network Find(ServerCallContext context, string name, string field)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw EngineException.Invalid($"{field} is empty; give a network name");
        }

        return loop.TryGet(TenantScope.Qualify(context, name), out var network)
            ? network
            : throw EngineException.NotFound($"network '{name}' does not exist");
    }

    /// <summary>A network as the caller knows it: under its own name.</summary>
    private static Protos.V1.Network ToProto(Engine.Network network, bool includeWeights, ServerCallContext context)
    {
        var proto = SpecMapping.ToProto(network, includeWeights);
        proto.Spec.Name = TenantScope.Unqualify(context, proto.Spec.Name);
        return proto;
    }

    internal static int CheckInstance(Engine.Network network, uint instance, string field)
    {
        if (instance >= network.Instances.Length)
        {
            throw EngineException.NotFound(
                $"{field} {instance} does not exist; network '{network.Name}' has {network.Instances.Length} instance(s), 0..{network.Instances.Length - 1}");
        }

        return (int)instance;
    }
}
