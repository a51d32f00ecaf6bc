using System.Text.Json;
using Snn.Protos.V1;

namespace Snn.Conformance;

/// <summary>
/// Maps a case's library parameters to server parameters. The server uses the libraries'
/// constructor names; the case files add a few descriptive keys that are not parameters.
/// </summary>
internal static class ParameterMapping
{
    /// <summary>Keys that describe backward passes or how the case was built, not the forward dynamics.</summary>
    private static readonly HashSet<string> s_ignored =
    [
        "spike_grad", "surrogate_grad_fn", "state_quant", "train_alphas", "rec_connect", "all_to_all",
        "linear_features", "adaptation_current_dtype", "learn_beta", "learn_threshold",
    ];

    public static void Add(JsonElement parameters, Google.Protobuf.Collections.MapField<string, ParameterValue> into)
    {
        foreach (var p in parameters.EnumerateObject())
        {
            string name = p.Name.EndsWith("_arg", StringComparison.Ordinal) ? p.Name[..^4] : p.Name;
            if (s_ignored.Contains(name) || p.Value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (name == "reset_fn" && p.Value.ValueKind == JsonValueKind.Object)
            {
                // sinabs reset_fn {type, subtract_value | reset_value} -> flat parameters.
                foreach (var f in p.Value.EnumerateObject())
                {
                    if (f.Name == "type")
                    {
                        into["reset_fn"] = new ParameterValue { Text = f.Value.GetString() };
                    }
                    else if (f.Value.ValueKind == JsonValueKind.Number)
                    {
                        into[f.Name] = new ParameterValue { Scalar = f.Value.GetDouble() };
                    }
                }

                continue;
            }

            into[name] = p.Value.ValueKind switch
            {
                JsonValueKind.Number => new ParameterValue { Scalar = p.Value.GetDouble() },
                JsonValueKind.True => new ParameterValue { Flag = true },
                JsonValueKind.False => new ParameterValue { Flag = false },
                JsonValueKind.String => new ParameterValue { Text = p.Value.GetString() },
                JsonValueKind.Array => PerNeuron(p.Value),
                _ => throw new InvalidDataException($"parameter '{p.Name}' has an unsupported value {p.Value}"),
            };
        }
    }

    private static ParameterValue PerNeuron(JsonElement e)
    {
        var list = new FloatList();
        list.Values.Add(CaseFile.Flatten(e));
        return new ParameterValue { PerNeuron = list };
    }

    /// <summary>Server model name for a refcase "model" string, or null when none matches.</summary>
    public static (string Model, bool Recurrent)? ModelOf(string caseModel)
    {
        string head = caseModel.Split(' ')[0];
        return head switch
        {
            "sinabs.layers.IAF" => ("sinabs.IAF", false),
            "sinabs.layers.IAFRecurrent" => ("sinabs.IAF", true),
            "sinabs.layers.LIF" => ("sinabs.LIF", false),
            "sinabs.layers.LIFRecurrent" => ("sinabs.LIF", true),
            "sinabs.layers.ALIF" => ("sinabs.ALIF", false),
            "sinabs.layers.ALIFRecurrent" => ("sinabs.ALIF", true),
            "snntorch.Leaky" => ("snntorch.Leaky", false),
            "snntorch.RLeaky" => ("snntorch.RLeaky", true),
            "snntorch.Synaptic" => ("snntorch.Synaptic", false),
            "snntorch.Alpha" => ("snntorch.Alpha", false),
            "snntorch.Lapicque" => ("snntorch.Lapicque", false),
            "norse.torch.IAFCell" => ("norse.IAF", false),
            "norse.torch.LIFCell" => ("norse.LIF", false),
            "norse.torch.LSNNCell" => ("norse.LSNN", false),
            "norse.torch.LIFAdExCell" => ("norse.LIFAdEx", false),
            "norse.torch.LIFBoxCell" => ("norse.LIFBox", false),
            "norse.torch.LIBoxCell" => ("norse.LIBox", false),
            "sinabs.layers.ExpLeak" => ("sinabs.ExpLeak", false),
            "snntorch.RSynaptic" => ("snntorch.RSynaptic", true),
            _ => null,
        };
    }
}
