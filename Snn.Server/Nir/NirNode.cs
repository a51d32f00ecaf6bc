namespace Snn.Server.Nir;

/// <summary>
/// One node of a NIR graph as its file states it, in NIR's continuous-time terms. The records hold the
/// parameters only; what a node becomes in a network is decided by the import, not here.
/// </summary>
internal abstract record NirNode(string Name)
{
    /// <summary>The node's <c>type</c> as NIR writes it ("LIF", "Affine", ...).</summary>
    public abstract string Type { get; }

    /// <summary>Whether the node holds state from one step to the next, so that a cycle through it is well defined.</summary>
    public virtual bool IsStateful => false;
}

internal sealed record NirInput(string Name, int[] Shape) : NirNode(Name)
{
    public override string Type => "Input";
}

internal sealed record NirOutput(string Name, int[] Shape) : NirNode(Name)
{
    public override string Type => "Output";
}

/// <summary>y = W x + b, with weight [out, in] and bias [out].</summary>
internal sealed record NirAffine(string Name, NirTensor Weight, NirTensor Bias) : NirNode(Name)
{
    public override string Type => "Affine";
}

/// <summary>y = W x, with weight [out, in].</summary>
internal sealed record NirLinear(string Name, NirTensor Weight) : NirNode(Name)
{
    public override string Type => "Linear";
}

/// <summary>y = s ⊙ x.</summary>
internal sealed record NirScale(string Name, NirTensor Scale) : NirNode(Name)
{
    public override string Type => "Scale";
}

/// <summary>
/// A convolution over 1 or 2 spatial dimensions: weight [out, in / groups, k...], bias [out]. Stride,
/// padding and dilation have one entry per spatial dimension; <see cref="PaddingMode"/> is "same" or
/// "valid" where the file gave a string instead of numbers (then <see cref="Padding"/> is zeros).
/// <see cref="InputShape"/> is the spatial input size where the file states it.
/// </summary>
internal sealed record NirConv(
    string Name,
    int SpatialDims,
    NirTensor Weight,
    NirTensor Bias,
    int[] Stride,
    int[] Padding,
    string? PaddingMode,
    int[] Dilation,
    int Groups,
    int[]? InputShape) : NirNode(Name)
{
    public override string Type => SpatialDims == 1 ? "Conv1d" : "Conv2d";
}

/// <summary>SumPool2d or AvgPool2d: kernel size, stride and padding as (height, width).</summary>
internal sealed record NirPool2d(string Name, bool Average, int[] KernelSize, int[] Stride, int[] Padding) : NirNode(Name)
{
    public override string Type => Average ? "AvgPool2d" : "SumPool2d";
}

/// <summary>Flattens dimensions start..end (inclusive, negative counts from the end) of the input.</summary>
internal sealed record NirFlatten(string Name, int StartDim, int EndDim, int[]? InputShape) : NirNode(Name)
{
    public override string Type => "Flatten";
}

/// <summary>y(t) = x(t - d), d in seconds per element.</summary>
internal sealed record NirDelay(string Name, NirTensor Delay) : NirNode(Name)
{
    public override string Type => "Delay";

    public override bool IsStateful => true;
}

/// <summary>y = H(x - θ): a spike wherever the input exceeds the threshold.</summary>
internal sealed record NirThreshold(string Name, NirTensor Threshold) : NirNode(Name)
{
    public override string Type => "Threshold";
}

/// <summary>Integrator: dv/dt = r x.</summary>
internal sealed record NirI(string Name, NirTensor R) : NirNode(Name)
{
    public override string Type => "I";

    public override bool IsStateful => true;
}

/// <summary>Leaky integrator: τ dv/dt = (v_leak - v) + r x.</summary>
internal sealed record NirLI(string Name, NirTensor Tau, NirTensor R, NirTensor VLeak) : NirNode(Name)
{
    public override string Type => "LI";

    public override bool IsStateful => true;
}

/// <summary>Integrate-and-fire. <see cref="VReset"/> is zeros where the file has no v_reset (as NIR reads it).</summary>
internal sealed record NirIF(string Name, NirTensor R, NirTensor VThreshold, NirTensor VReset) : NirNode(Name)
{
    public override string Type => "IF";

    public override bool IsStateful => true;
}

/// <summary>Leaky integrate-and-fire. <see cref="VReset"/> is zeros where the file has no v_reset.</summary>
internal sealed record NirLIF(string Name, NirTensor Tau, NirTensor R, NirTensor VLeak, NirTensor VThreshold, NirTensor VReset)
    : NirNode(Name)
{
    public override string Type => "LIF";

    public override bool IsStateful => true;
}

/// <summary>Current-based leaky integrator: a synaptic current (τ_syn) feeding a leaky membrane (τ_mem); w_in scales the input.</summary>
internal sealed record NirCubaLI(string Name, NirTensor TauSyn, NirTensor TauMem, NirTensor R, NirTensor VLeak, NirTensor WIn)
    : NirNode(Name)
{
    public override string Type => "CubaLI";

    public override bool IsStateful => true;
}

/// <summary>Current-based LIF. <see cref="VReset"/> is zeros where the file has no v_reset.</summary>
internal sealed record NirCubaLIF(
    string Name,
    NirTensor TauSyn,
    NirTensor TauMem,
    NirTensor R,
    NirTensor VLeak,
    NirTensor VThreshold,
    NirTensor VReset,
    NirTensor WIn) : NirNode(Name)
{
    public override string Type => "CubaLIF";

    public override bool IsStateful => true;
}

/// <summary>
/// A graph nested as one node (NIR type "NIRGraph"), as snnTorch writes a recurrent layer. Edges of the
/// enclosing graph name the subgraph by its own name, as nir.read keeps them: an edge into it feeds its Input
/// node, an edge out of it carries its Output node. Faults inside it name the path, e.g. "lif1/w_rec".
/// </summary>
internal sealed record NirSubgraph(string Name, NirGraph Graph) : NirNode(Name)
{
    public override string Type => "NIRGraph";

    /// <summary>Stateful when any node inside is: a cycle through the subgraph then passes through state.</summary>
    public override bool IsStateful => Graph.Nodes.Values.Any(node => node.IsStateful);
}

/// <summary>
/// The per-element parameter arrays of a neuron, Threshold, Scale or Delay node under NIR's field names, in
/// NIR's order: what the reader reads, the writer writes, shapes are checked against and the generic flavour
/// passes on.
/// </summary>
internal static class NirParameters
{
    public static IEnumerable<(string Field, NirTensor Tensor)> Of(NirNode node) => node switch
    {
        NirI n => [("r", n.R)],
        NirLI n => [("tau", n.Tau), ("r", n.R), ("v_leak", n.VLeak)],
        NirIF n => [("r", n.R), ("v_threshold", n.VThreshold), ("v_reset", n.VReset)],
        NirLIF n => [("tau", n.Tau), ("r", n.R), ("v_leak", n.VLeak), ("v_threshold", n.VThreshold), ("v_reset", n.VReset)],
        NirCubaLI n => [("tau_syn", n.TauSyn), ("tau_mem", n.TauMem), ("r", n.R), ("v_leak", n.VLeak), ("w_in", n.WIn)],
        NirCubaLIF n => [("tau_syn", n.TauSyn), ("tau_mem", n.TauMem), ("r", n.R), ("v_leak", n.VLeak), ("v_threshold", n.VThreshold), ("v_reset", n.VReset), ("w_in", n.WIn)],
        NirThreshold n => [("threshold", n.Threshold)],
        NirScale n => [("scale", n.Scale)],
        NirDelay n => [("delay", n.Delay)],
        _ => [],
    };
}
