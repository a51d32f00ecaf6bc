using Grpc.Core;
using Snn.Protos.V1;
using Snn.Server.Models;

namespace Snn.FunctionalTests.Api;

/// <summary>The model catalogue as the README shows it and as GetServerInfo serves it.</summary>
public sealed class ModelCatalogTests(ApiServerFixture server) : ApiTest(server)
{
    [Fact]
    public void Readme_models_section_matches_the_catalogue()
    {
        string expected = ModelCatalogMarkdown.Render(ModelCatalog.All);
        string readme = File.ReadAllText(RepositoryFiles.ReadmePath).Replace("\r\n", "\n", StringComparison.Ordinal);
        int begin = readme.IndexOf(ModelCatalogMarkdown.BeginMarker, StringComparison.Ordinal);
        int end = readme.IndexOf(ModelCatalogMarkdown.EndMarker, StringComparison.Ordinal);
        Assert.True(begin >= 0 && end > begin,
            $"README.md ({RepositoryFiles.ReadmePath}) needs the markers {ModelCatalogMarkdown.BeginMarker} and {ModelCatalogMarkdown.EndMarker}");
        string actual = readme[(begin + ModelCatalogMarkdown.BeginMarker.Length)..end];

        if (actual != expected)
        {
            string file = Path.Combine(AppContext.BaseDirectory, "models.generated.md");
            File.WriteAllText(file, expected);
            Assert.Fail(
                $"README.md's text between {ModelCatalogMarkdown.BeginMarker} and {ModelCatalogMarkdown.EndMarker} differs from the catalogue. " +
                $"Replace it with this text (also written to {file}):\n" +
                $"{ModelCatalogMarkdown.BeginMarker}{expected}{ModelCatalogMarkdown.EndMarker}");
        }
    }

    [Fact]
    public void Catalogue_entries_are_complete()
    {
        Assert.Equal(ModelCatalog.All.Count, ModelCatalog.All.Select(m => m.Name).Distinct().Count());
        foreach (var model in ModelCatalog.All)
        {
            Assert.True(ModelCatalog.TryGet(model.Name, out var found) && ReferenceEquals(found, model), model.Name);
            Assert.False(string.IsNullOrWhiteSpace(model.LibraryClass), model.Name);
            Assert.False(string.IsNullOrWhiteSpace(model.Description), model.Name);
            Assert.Equal(model.Parameters.Count, model.Parameters.Select(p => p.Name).Distinct().Count());
            foreach (var p in model.Parameters)
            {
                string where = $"{model.Name}.{p.Name}";
                Assert.False(string.IsNullOrWhiteSpace(p.Default), where);
                Assert.False(string.IsNullOrWhiteSpace(p.Description), where);
                switch (p.Kind)
                {
                    case ParamKind.Number:
                        Assert.False(string.IsNullOrWhiteSpace(p.Range), where);
                        Assert.Empty(p.Choices);
                        break;
                    case ParamKind.Choice:
                        Assert.NotEmpty(p.Choices);
                        Assert.Contains(p.Default, p.Choices);
                        Assert.False(p.PerNeuron, where);
                        break;
                    default:
                        Assert.Contains(p.Default, new[] { "true", "false" });
                        Assert.False(p.PerNeuron, where);
                        break;
                }
            }
        }
    }

    [Fact]
    public async Task GetServerInfo_lists_exactly_the_catalogue()
    {
        var info = await Client.GetServerInfoAsync().Within();

        Assert.Equal(ModelCatalog.All.Select(m => m.Name), info.Models.Select(m => m.Name));
        foreach (var (model, served) in ModelCatalog.All.Zip(info.Models))
        {
            Assert.Equal(model.LibraryClass, served.LibraryClass);
            Assert.Equal(model.Description, served.Description);
            Assert.Equal(model.StateVariables, served.StateVariables);
            Assert.Equal(model.Parameters.Select(p => p.Name), served.Parameters.Select(p => p.Name));
            foreach (var (p, s) in model.Parameters.Zip(served.Parameters))
            {
                var expected = new ParameterInfo
                {
                    Name = p.Name,
                    Kind = p.Kind switch
                    {
                        ParamKind.Number => ParameterKind.Number,
                        ParamKind.Choice => ParameterKind.Choice,
                        _ => ParameterKind.Flag,
                    },
                    DefaultValue = p.Default,
                    Range = p.Range,
                    Choices = { p.Choices },
                    PerNeuron = p.PerNeuron,
                    Description = p.Description,
                };
                Assert.Equal(expected, s);
            }
        }
    }

    [Fact]
    public async Task Every_catalogued_state_variable_can_be_read()
    {
        // Each model with state, on its default parameters (plus the required ones), reports exactly
        // its catalogued variables through GetState and a "*" recording.
        foreach (var model in ModelCatalog.All.Where(m => m.StateVariables.Count > 0))
        {
            var spec = Specs.Feed(Names.Unique("vars"), model.Name, 2, 1, Specs.Required(model.Name));
            try
            {
                await Client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec }).Within();
            }
            catch (Grpc.Core.RpcException e)
            {
                Assert.Fail($"{model.Name} on its defaults: {e.Status.Detail}");
            }

            await using var run = await Client.OpenRunAsync(new RunOpen
            {
                Network = spec.Name,
                Record = { new RecordSpec { Population = "n", Variables = { "*" } } },
            }).Within();
            var step = await run.StepAsync(Specs.Events("in", [0]));
            Assert.Equal(model.StateVariables, step.States.Select(s => s.Variable));
            await run.EndAsync();

            var state = await Client.GetStateAsync(new GetStateRequest { Network = spec.Name, Population = "n" }).Within();
            Assert.Equal(model.StateVariables, state.Variables.Select(v => v.Variable));
            Assert.Equal(step.States.Select(s => s.Values), state.Variables.Select(v => v.Values));
        }
    }
}
