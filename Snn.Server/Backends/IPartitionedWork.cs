namespace Snn.Server.Backends;

/// <summary>Work that can be cut into parts run side by side.</summary>
internal interface IPartitionedWork
{
    /// <summary>Does part <paramref name="part"/> of <paramref name="parts"/>.</summary>
    void Execute(int part, int parts);
}
