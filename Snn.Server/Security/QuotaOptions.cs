namespace Snn.Server.Security;

/// <summary>
/// What one tenant may use (with no API keys: what the anonymous tenant may use). Bound from configuration
/// section <c>Snn:Quotas</c>. The server-wide limits of <c>Snn:Limits</c> apply as well.
/// </summary>
public sealed class QuotaOptions
{
    /// <summary>Networks a tenant holds. Defaults to 100.</summary>
    public int MaxNetworks { get; set; } = 100;

    /// <summary>Neurons over all of a tenant's networks, each instance counted. Defaults to 268,435,456 (2^28).</summary>
    public long MaxNeurons { get; set; } = 1L << 28;

    /// <summary>Synapses (weights) over all of a tenant's networks. Defaults to 1,073,741,824 (2^30).</summary>
    public long MaxSynapses { get; set; } = 1L << 30;

    /// <summary>Run and Watch streams a tenant has open at once. Defaults to 256.</summary>
    public int MaxOpenStreams { get; set; } = 256;

    /// <summary>
    /// Largest request message of a tenant, bytes; 0 means the transport's limit, <c>Snn:MaxMessageBytes</c>,
    /// which caps it in any case. Defaults to 0.
    /// </summary>
    public int MaxMessageBytes { get; set; }

    /// <summary>
    /// Inputs (RunRequest.inputs entries) one Run stream may send per second, through a token bucket that
    /// holds one second's worth (so a burst of that many is allowed). Defaults to 1,000,000.
    /// </summary>
    public int MaxInputsPerSecond { get; set; } = 1_000_000;

    /// <summary>Throws when a setting is out of range, naming it.</summary>
    public void Validate()
    {
        Positive(MaxNetworks, nameof(MaxNetworks));
        Positive(MaxNeurons, nameof(MaxNeurons));
        Positive(MaxSynapses, nameof(MaxSynapses));
        Positive(MaxOpenStreams, nameof(MaxOpenStreams));
        Positive(MaxInputsPerSecond, nameof(MaxInputsPerSecond));
        if (MaxMessageBytes is not 0 and < 1024)
        {
            throw new InvalidOperationException($"Snn:Quotas:MaxMessageBytes is {MaxMessageBytes}; it must be at least 1024 bytes, or 0 for Snn:MaxMessageBytes");
        }
    }

    private static void Positive(long value, string name)
    {
        if (value < 1)
        {
            throw new InvalidOperationException($"Snn:Quotas:{name} is {value}; it must be 1 or more");
        }
    }
}
