using Snn.Server.Models;

namespace Snn.Server.Tests.Models;

/// <summary>How a test drives the kernel.</summary>
public enum StepMode
{
    /// <summary>All instances and neurons in one call.</summary>
    Whole,

    /// <summary>One call per instance and per half of the neurons.</summary>
    SplitHalves,

    /// <summary>Every per-neuron-capable number given as an array of equal values.</summary>
    PerNeuronArrays,
}

/// <summary>Runs a reference case through a compiled kernel, batch rows as instances.</summary>
internal sealed class CaseRunner
{
    public CaseRunner(RefCase c, StepMode mode, Dictionary<string, ParamValue>? parameters = null)
    {
        Case = c;
        Mode = mode;
        Assert.True(ModelCatalog.TryGet(c.ServerModel, out var model), $"model {c.ServerModel} not in catalogue");
        Model = model;
        var p = parameters ?? c.ServerParams();
        if (mode == StepMode.PerNeuronArrays)
        {
            foreach (var d in model.Parameters.Where(d => d.PerNeuron && p.ContainsKey(d.Name)).ToList())
            {
                if (p[d.Name].Kind == ParamKind.Number && !p[d.Name].IsPerNeuron)
                {
                    p[d.Name] = ParamValue.Numbers(Enumerable.Repeat((float)p[d.Name].Scalar, c.Neurons).ToArray());
                }
            }
        }

        Kernel = model.Compile(p, c.Neurons, 0.001);
        int n = c.Batch * c.Neurons;
        State = model.StateVariables.Select(_ => new float[n]).ToArray();
        X = new float[n];
        Rec = new float[n];
        Spikes = new float[n];
        Kernel.Initialize(State, 0, c.Batch);
        if (c.Root.TryGetProperty("weights", out var w) && w.ValueKind == System.Text.Json.JsonValueKind.Object)
        {
            if (w.TryGetProperty("rec_weight", out var rw) && rw.ValueKind != System.Text.Json.JsonValueKind.Null)
            {
                RecWeight = RefCase.Matrix(rw);
            }

            if (w.TryGetProperty("rec_bias", out var rb) && rb.ValueKind != System.Text.Json.JsonValueKind.Null)
            {
                RecBias = RefCase.Vector(rb);
            }

            if (w.TryGetProperty("V", out var vv) && vv.ValueKind != System.Text.Json.JsonValueKind.Null)
            {
                V = vv.ValueKind == System.Text.Json.JsonValueKind.Array ? RefCase.Vector(vv) : [RefCase.F(vv)];
            }
        }
    }

    public RefCase Case { get; }

    public StepMode Mode { get; }

    public NeuronModel Model { get; }

    public NeuronKernel Kernel { get; }

    public float[][] State { get; }

    public float[] X { get; }

    public float[] Rec { get; }

    public float[] Spikes { get; }

    public float[][]? RecWeight { get; }

    public float[]? RecBias { get; }

    public float[]? V { get; }

    /// <summary>Largest absolute difference to the reference over all steps (spikes and states).</summary>
    public float MaxError { get; private set; }

    /// <summary>Number of values whose bits differ (treating -0 == +0).</summary>
    public int Mismatches { get; private set; }

    public string? FirstMismatch { get; private set; }

    /// <summary>Runs all steps, comparing against the reference after each.</summary>
    public void Run()
    {
        var c = Case;
        int n = c.Neurons;
        var prevSpikes = new float[c.Batch * n];
        for (int t = 0; t < c.Time; t++)
        {
            for (int b = 0; b < c.Batch; b++)
            {
                for (int o = 0; o < n; o++)
                {
                    float x = c.Input[b][t][o];
                    if (Model.HasRecurrentInput)
                    {
                        Rec[b * n + o] = Recurrent(prevSpikes, b, o, n, bias: true);
                    }
                    else if (RecWeight is not null)
                    {
                        // sinabs *Recurrent: the recurrent current joins the input before the synaptic filter.
                        x += Recurrent(prevSpikes, b, o, n, bias: false);
                    }

                    X[b * n + o] = x;
                }
            }

            StepOnce(c.Batch, n);
            Array.Copy(Spikes, prevSpikes, Spikes.Length);
            Compare(t);
        }
    }

    private float Recurrent(float[] prev, int b, int o, int n, bool bias)
    {
        if (V is not null)
        {
            return prev[b * n + o] * (V.Length == 1 ? V[0] : V[o]);
        }

        float sum = 0f;
        if (RecWeight is not null)
        {
            for (int i = 0; i < n; i++)
            {
                sum += RecWeight[o][i] * prev[b * n + i];
            }
        }

        if (bias && RecBias is not null)
        {
            sum += RecBias[o];
        }

        return sum;
    }

    public void StepOnce(int instances, int n)
    {
        if (Mode == StepMode.SplitHalves && Kernel.SplittableAcrossNeurons)
        {
            int h = n / 2;
            for (int inst = instances - 1; inst >= 0; inst--)
            {
                Kernel.Step(State, X, Rec, Spikes, inst, 1, h, n);
                Kernel.Step(State, X, Rec, Spikes, inst, 1, 0, h);
            }
        }
        else
        {
            Kernel.Step(State, X, Rec, Spikes, 0, instances, 0, n);
        }
    }

    private void Compare(int t)
    {
        var c = Case;
        Check("spikes", c.Spikes, Spikes, t);
        for (int s = 0; s < Model.StateVariables.Count; s++)
        {
            if (c.States.TryGetValue(Model.StateVariables[s], out var reference))
            {
                Check(Model.StateVariables[s], reference, State[s], t);
            }
        }
    }

    private void Check(string what, float[][][] reference, float[] actual, int t)
    {
        int n = Case.Neurons;
        for (int b = 0; b < Case.Batch; b++)
        {
            for (int i = 0; i < n; i++)
            {
                float expected = reference[b][t][i];
                float got = actual[b * n + i];
                bool same = BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(got)
                    || (expected == 0f && got == 0f);
                if (!same)
                {
                    Mismatches++;
                    float err = MathF.Abs(expected - got);
                    if (!(err <= MaxError))
                    {
                        MaxError = float.IsNaN(err) ? float.PositiveInfinity : err;
                    }

                    FirstMismatch ??= $"{what}[b={b}][t={t}][n={i}]: expected {expected:R}, got {got:R}";
                }
            }
        }
    }
}
