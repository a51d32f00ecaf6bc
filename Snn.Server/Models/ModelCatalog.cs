namespace Snn.Server.Models;

/// <summary>Every neuron model the server hosts, by name.</summary>
public static class ModelCatalog
{
    private static readonly NeuronModel[] s_models =
    [
        new InputModel(),
        new PassthroughModel(),
        new SinabsIafModel(),
        new SinabsLifModel(),
        new SinabsAlifModel(),
        new SnnTorchLeakyModel(),
        new SnnTorchSynapticModel(),
        new SnnTorchAlphaModel(),
        new SnnTorchLapicqueModel(),
        new SnnTorchRLeakyModel(),
        new NorseIafModel(),
        new NorseLifModel(),
        new NorseLsnnModel(),
        new NorseLifAdExModel(),
        .. NirGenericModel.All,
    ];

    private static readonly Dictionary<string, NeuronModel> s_byName =
        s_models.ToDictionary(m => m.Name, StringComparer.Ordinal);

    /// <summary>All models in catalogue order.</summary>
    public static IReadOnlyList<NeuronModel> All => s_models;

    public static bool TryGet(string name, out NeuronModel model) => s_byName.TryGetValue(name, out model!);
}
