using System.Runtime.InteropServices;
using Grpc.Core;
using Google.Protobuf;
using Snn.Protos.V1;
using Snn.Server.Engine;
using Snn.Server.Nir;

namespace Snn.Server.Services;

/// <summary>
/// The NIR RPCs: ImportNetwork (a .nir file becomes a network, created exactly as CreateNetwork creates one)
/// and ExportNetwork (a network, with its weights and per-neuron parameters, written as a .nir file). A file
/// the server cannot read throws <see cref="NirFormatException"/>, which Rpc/ErrorInterceptor reports as
/// INVALID_ARGUMENT naming the node and the field.
/// </summary>
internal sealed partial class SnnService
{
    /// <summary>The flavour names the request accepts, as the refusal lists them.</summary>
    private const string FlavorNames = "generic, snntorch, norse or sinabs";

    public override async Task<ImportNetworkResponse> ImportNetwork(ImportNetworkRequest request, ServerCallContext context)
    {
        NetworkBuilder.CheckName(request.Name, "name");
        var flavor = ParseFlavor(request.Flavor);
        double dt = ImportDt(request.Dt);
        if (request.Nir.IsEmpty)
        {
            throw EngineException.Invalid("nir is empty; send the bytes of the .nir file (NIR's HDF5 layout, as nir.write writes it)");
        }

        NirGraph graph;
        using (var stream = MemoryMarshal.TryGetArray(request.Nir.Memory, out var bytes)
            ? new MemoryStream(bytes.Array!, bytes.Offset, bytes.Count, writable: false, publiclyVisible: true)
            : new MemoryStream(request.Nir.ToByteArray(), writable: false))
        {
            graph = NirReader.Read(stream);
        }

        var result = NirImporter.Import(graph, new NirImportOptions(request.Name, dt, flavor, request.Strict, loop.Limits));
        var spec = result.Spec;
        spec.Name = request.Name;
        spec.Dt = dt;
        spec.Instances = request.Instances;
        spec.Clock = request.Clock;
        spec.RealtimeFactor = request.RealtimeFactor;

        Engine.Network network;
        try
        {
            network = await CreateAsync(SpecMapping.ToDefinition(spec), context);
        }
        catch (EngineException e) when (e.Error == EngineError.InvalidArgument)
        {
            // The caller sent a file, not a spec: say that the refused populations and projections are the
            // ones the import built, named after the file's nodes.
            throw EngineException.Invalid($"the network imported from the NIR file is refused: {e.Message}. " +
                "Its populations and projections are named after the file's nodes; the import's report lists them");
        }

        foreach (var line in result.Report)
        {
            LogNirConversion(network.Name, line.Node, line.Becomes, line.Detail, line.Lossy);
        }

        var response = new ImportNetworkResponse { Network = ToProto(network, includeWeights: false, context) };
        response.Report.Add(result.Report);
        return response;
    }

    public override Task<ExportNetworkResponse> ExportNetwork(ExportNetworkRequest request, ServerCallContext context)
    {
        var network = Find(context, request.Name, "name");
        var spec = ToProto(network, includeWeights: true, context).Spec;
        var report = new List<NirConversion>();
        var graph = NirExporter.Export(spec, report);
        using var stream = new MemoryStream();
        NirWriter.Write(graph, stream);
        var response = new ExportNetworkResponse { Nir = ByteString.CopyFrom(stream.GetBuffer(), 0, (int)stream.Length) };
        response.Report.Add(report);
        return Task.FromResult(response);
    }

    internal static NirFlavor ParseFlavor(string flavor) => flavor.ToLowerInvariant() switch
    {
        "" or "generic" => NirFlavor.Generic,
        "snntorch" => NirFlavor.Snntorch,
        "norse" => NirFlavor.Norse,
        "sinabs" => NirFlavor.Sinabs,
        _ => throw EngineException.Invalid($"flavor '{flavor}' is unknown; use {FlavorNames} (empty = generic)"),
    };

    internal static double ImportDt(double dt)
    {
        if (dt == 0)
        {
            return SpecMapping.DefaultDt;
        }

        return double.IsFinite(dt) && dt > 0
            ? dt
            : throw EngineException.Invalid($"dt is {dt}; it must be a positive, finite number of seconds per step (0 = {SpecMapping.DefaultDt})");
    }

    /// <summary>
    /// One line of an import's report (the reply holds the same lines), under the network's server-wide name
    /// (tenant:name with API keys, as the server's other log lines name networks); Lossy is a property of its own for log queries.
    /// </summary>
    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "NIR import {Network}: {Node} → {Becomes}: {Detail} (lossy: {Lossy})")]
    private partial void LogNirConversion(string network, string node, string becomes, string detail, bool lossy);
}
