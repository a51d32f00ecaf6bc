using Snn.Protos.V1;

namespace Snn.Server.Nir;

/// <summary>Whose discretisation turns NIR's continuous-time nodes into this server's discrete models.</summary>
internal enum NirFlavor
{
    /// <summary>Exact exponential integration over one step of dt (documented in docs/nir.md).</summary>
    Generic,
    /// <summary>snntorch.import_nir.import_from_nir.</summary>
    Snntorch,
    /// <summary>norse.torch.from_nir.</summary>
    Norse,
    /// <summary>sinabs.from_nir.</summary>
    Sinabs,
}

/// <summary>
/// What an import is asked for: the network's name and clock, the flavour, and whether a lossy conversion
/// refuses it. <see cref="Limits"/> (the server's, or the defaults) bounds what the import builds before the
/// engine checks the network, so a file cannot make it write out billions of synapses first.
/// </summary>
internal sealed record NirImportOptions(string Name, double Dt, NirFlavor Flavor, bool Strict, Snn.Server.Engine.EngineLimits? Limits = null)
{
    public Snn.Server.Engine.EngineLimits Bounds => Limits ?? new Snn.Server.Engine.EngineLimits();
}

/// <summary>A network spec built from a NIR graph, and every conversion that built it.</summary>
internal sealed record NirImportResult(NetworkSpec Spec, IReadOnlyList<NirConversion> Report);
