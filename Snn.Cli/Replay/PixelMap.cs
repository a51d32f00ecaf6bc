using System.Globalization;
using Snn.Client.Events;

namespace Snn.Cli.Replay;

/// <summary>A crop window of the sensor: columns x0 .. x0+width-1, rows y0 .. y0+height-1.</summary>
internal readonly record struct Crop(int X0, int Y0, int Width, int Height)
{
    /// <summary>Parses <c>x0,y0,w,h</c>.</summary>
    public static Crop Parse(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new int[4];
        bool valid = parts.Length == 4;
        for (int i = 0; valid && i < 4; i++)
        {
            valid = int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out values[i]);
        }

        if (!valid || values[2] == 0 || values[3] == 0)
        {
            throw new CliException($"--crop '{text}': expected x0,y0,w,h with non-negative integers and w, h > 0");
        }

        return new Crop(values[0], values[1], values[2], values[3]);
    }
}

/// <summary>
/// Maps a camera pixel and polarity to a neuron of a [C, H, W] input population (C-major):
/// crop first, then integer downsampling (x / k, y / k), then <c>index = c * H * W + y * W + x</c> with
/// c the polarity (C = 2) or 0 for both polarities (C = 1). Pixels that land outside the population's
/// H × W (or outside the crop) map to -1.
/// </summary>
internal sealed class PixelMap
{
    private readonly int _channels;
    private readonly int _height;
    private readonly int _width;
    private readonly Crop? _crop;
    private readonly int _downsample;

    public PixelMap(IReadOnlyList<uint> shape, Crop? crop, int downsample, string population)
    {
        if (shape.Count != 3 || shape[0] is not (1 or 2))
        {
            throw new CliException($"population '{population}' has shape [{string.Join(", ", shape)}]; replay needs a [C, H, W] input population with C = 2 (one channel per polarity) or C = 1 (both polarities)");
        }

        if (downsample < 1)
        {
            throw new CliException($"--downsample {downsample}: expected an integer >= 1");
        }

        _channels = (int)shape[0];
        _height = (int)shape[1];
        _width = (int)shape[2];
        _crop = crop;
        _downsample = downsample;
    }

    /// <summary>"2x128x128", for messages.</summary>
    public string Geometry => $"{_channels}x{_height}x{_width}";

    public int Map(in PolarityEvent e)
    {
        int x = e.X, y = e.Y;
        if (_crop is { } c)
        {
            x -= c.X0;
            y -= c.Y0;
            if ((uint)x >= (uint)c.Width || (uint)y >= (uint)c.Height)
            {
                return -1;
            }
        }

        x /= _downsample;
        y /= _downsample;
        if (x >= _width || y >= _height)
        {
            return -1;
        }

        int channel = _channels == 2 ? e.Polarity : 0;
        return ((channel * _height) + y) * _width + x;
    }
}
