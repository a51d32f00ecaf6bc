using Snn.Client;
using Snn.Protos.V1;

namespace Snn.FunctionalTests.Api;

/// <summary>
/// The README's "A client in ten lines" runs against a real server (the copy below), the README's copy
/// is that code (only the address differs), and the README's block compiles verbatim, its using
/// lines included, as a program of its own that references Snn.Client.
/// </summary>
public sealed class ReadmeExampleTests(ApiServerFixture server) : ApiTest(server)
{
    private const string ReadmeAddress = "\"http://127.0.0.1:50051\"";
    private const string Begin = "// readme:begin";
    private const string End = "// readme:end";

    [Fact]
    public async Task The_ten_line_client_example_runs()
    {
        string address = Server.Address.ToString();
        await Example().Within();

        // It created "demo" and executed ten steps on instance 0.
        var demo = await Client.GetNetworkAsync(new GetNetworkRequest { Name = "demo" }).Within();
        Assert.Equal(["in", "lif"], demo.Order);
        Assert.Equal(10UL, demo.Instances[0].Step);

        async Task Example()
        {
            // readme:begin
            using var client = new SnnClient(new Uri(address));
            var spec = new NetworkSpec { Name = "demo" };
            spec.Populations.Add(new PopulationSpec { Name = "in", Model = "input", Size = 4 });
            spec.Populations.Add(new PopulationSpec { Name = "lif", Model = "snntorch.Leaky", Size = 4,
                Params = { ["beta"] = new ParameterValue { Scalar = 0.9 } } });
            spec.Projections.Add(new ProjectionSpec { Name = "ff", Source = "in", Target = "lif", OneToOne = new() });
            await client.CreateNetworkAsync(new CreateNetworkRequest { Spec = spec });
            await using var run = await client.OpenRunAsync(new RunOpen { Network = "demo", Instance = 0 });
            await run.AdvanceAsync(10, [new Input { Population = "in", Indices = { 0, 2 }, Values = { 1.5f, 2f } }]);
            await foreach (var step in run.ReadStepsAsync()) { Console.WriteLine(step); if (step.Step == 9) break; }
            // readme:end
        }
    }

    [Fact]
    public void The_readme_shows_exactly_the_code_this_test_runs()
    {
        string source = File.ReadAllText(RepositoryFiles.Resolve("tests", "Snn.FunctionalTests", "Api", "ReadmeExampleTests.cs"));
        int begin = source.LastIndexOf(Begin, StringComparison.Ordinal); // the first one is the constant above
        int end = source.IndexOf(End, begin + Begin.Length, StringComparison.Ordinal);
        var lines = source[(begin + Begin.Length)..end].Split('\n').Select(l => l.TrimEnd('\r')).Skip(1).SkipLast(1).ToList();
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        string tested = string.Join("\n", lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()))
            .Replace("new Uri(address)", $"new Uri({ReadmeAddress})", StringComparison.Ordinal);

        // The block starts with its using directives (namespaces, not the `using var` of the code).
        var shown = ReadmeBlock().Split('\n').SkipWhile(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^using [\w.]+;$") || l.Length == 0);
        Assert.Equal(tested, string.Join("\n", shown));
    }

    [Fact]
    public async Task The_readme_block_compiles_verbatim_as_a_program()
    {
        var dir = Directory.CreateTempSubdirectory("snn-readme-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "Program.cs"), ReadmeBlock() + "\n");
            File.WriteAllText(Path.Combine(dir.FullName, "ReadmeExample.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <ProjectReference Include="{RepositoryFiles.Resolve("Snn.Client", "Snn.Client.csproj")}" />
                  </ItemGroup>
                </Project>
                """);
            var build = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", ["build", "-nologo", "-v", "q", dir.FullName])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = dir.FullName,
            })!;
            var output = build.StandardOutput.ReadToEndAsync();
            var errors = build.StandardError.ReadToEndAsync();
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await build.WaitForExitAsync(limit.Token);
            Assert.True(build.ExitCode == 0, $"the README example does not compile:\n{await output}\n{await errors}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The C# block of the README's "A client in ten lines".</summary>
    private static string ReadmeBlock()
    {
        string readme = File.ReadAllText(RepositoryFiles.ReadmePath).Replace("\r\n", "\n", StringComparison.Ordinal);
        int section = readme.IndexOf("## A client in ten lines", StringComparison.Ordinal);
        Assert.True(section >= 0, "README.md has no section \"A client in ten lines\"");
        int fence = readme.IndexOf("```csharp\n", section, StringComparison.Ordinal) + "```csharp\n".Length;
        return readme[fence..readme.IndexOf("\n```", fence, StringComparison.Ordinal)];
    }
}
