using System.Runtime.InteropServices;

namespace Snn.Client.Events;

/// <summary>
/// One change-detection event of an event camera: the pixel (<see cref="X"/>, <see cref="Y"/>), its
/// <see cref="Polarity"/> (1 = ON, brighter; 0 = OFF, darker) and its time in microseconds since the
/// recording's time origin. The readers of this namespace fill spans of these; none allocates per event.
/// </summary>
[StructLayout(LayoutKind.Auto)]
public readonly record struct PolarityEvent(ushort X, ushort Y, byte Polarity, long TimestampUs);
