namespace Snn.Client.Events;

/// <summary>
/// How an AEDAT 2.0 file's 32-bit addresses encode a polarity event; the file format does not say, it
/// depends on the camera that recorded it. The fields are decoded as stored: x is not mirrored (jAER
/// displays DVS128 recordings with x mirrored, 127 - x) and the polarity is the address bit itself.
/// </summary>
public enum Aedat2Layout
{
    /// <summary>
    /// DVS128 (the default): bit 0 polarity, bits 1–7 x, bits 8–14 y; bit 15 set marks an external
    /// (sync) event, which is skipped.
    /// </summary>
    Dvs128,

    /// <summary>
    /// DAVIS240/346 as jAER writes them: bit 31 set marks an APS/IMU sample (skipped), bits 22–30 y,
    /// bits 12–21 x, bit 11 polarity; bit 10 set marks an external event (skipped).
    /// </summary>
    Davis,
}
