using Snn.Conformance;

namespace Snn.FunctionalTests.Conformance;

/// <summary>
/// The device check (tests/gpu/device-check.sh runs it on a GPU machine) as CI can run it: on ILGPU's CPU accelerator,
/// some of its sections. A short lease reruns parts of it with --only; what it prints is what the README's figures come from.
/// </summary>
public sealed class GpuCheckToolTests
{
    [Fact]
    public async Task Only_the_sections_asked_for_run_and_the_crossover_says_where_the_size_rule_puts_each_network()
    {
        var log = new StringWriter();
        var outDir = Directory.CreateTempSubdirectory("snn-gpucheck-test-");
        int rc = await GpuCheck.MainAsync(["--data", "unused: the crossover reads no cases", "--out", outDir.FullName, "--backend", "ilgpu-cpu",
            "--quick", "--only", "crossover"], log, TextWriter.Null);
        string text = log.ToString();

        Assert.Equal(0, rc);
        Assert.Contains("only crossover", text);
        Assert.Contains("-- crossover done at", text);
        Assert.DoesNotContain("-- figures done", text);
        Assert.DoesNotContain("refcases on", text);
        Assert.DoesNotContain("LOCKSTEP over the API", text);
        Assert.EndsWith("gpu-check: 0 passed, 0 failed", text.TrimEnd());

        // The dense crossover, driven as the neuron crossover is and with every source spiking (what the size rule counts).
        var dense = text.Split('\n').Where(l => l.StartsWith("crossover Leaky 256 -> dense", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, dense.Length);
        Assert.DoesNotContain("100% of sources spiking", dense[0]);
        Assert.Contains("100% of sources spiking", dense[1]);
        Assert.All(dense, l => Assert.EndsWith("the size rule's defaults put it on the CPU backend", l.TrimEnd()));
    }

    [Fact]
    public async Task The_network_figure_checks_every_bit_with_the_output_population_alone_read_for_its_last_steps()
    {
        // As on a GPU for the vision, wide dense and sparse networks: placed both ways, 30 steps against the CPU backend (the
        // last 15 with only the output's spikes written for the host: the hidden layer's come back from the device), rates.
        var log = new StringWriter();
        var outDir = Directory.CreateTempSubdirectory("snn-gpucheck-test-");
        int rc = await GpuCheck.MainAsync(["--data", "unused", "--out", outDir.FullName, "--backend", "ilgpu-cpu", "--quick", "--only", "networks"],
            log, TextWriter.Null);
        string text = log.ToString();

        Assert.Equal(0, rc);
        Assert.Contains("PASS  small dense: placed at its first step True, off the loop taken", text);
        Assert.Matches(@"PASS  small dense: .*, 30 steps: 0 state values and spikes differ from the CPU backend \([1-9][0-9]* spikes at the last step\)", text);
        Assert.Matches(@"small dense: .*: GPU [0-9]+ steps/s \(every population's spikes returned\), [0-9]+ with the output's alone", text);
        Assert.EndsWith("gpu-check: 2 passed, 0 failed", text.TrimEnd());
    }

    [Fact]
    public async Task An_unknown_section_is_refused_with_the_names_of_the_sections()
    {
        var log = new StringWriter();
        var error = new StringWriter();
        int rc = await GpuCheck.MainAsync(["--backend", "ilgpu-cpu", "--only", "cases,figurs"], log, error);

        Assert.Equal(2, rc);
        Assert.Empty(log.ToString()); // nothing ran
        Assert.Contains("unknown section 'figurs' in --only; the sections are cases, lockstep, exact, chains, full, figures, crossover, networks", error.ToString());
    }
}
