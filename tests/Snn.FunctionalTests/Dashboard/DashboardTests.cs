using Snn.FunctionalTests.Infrastructure;
using System.Net;
using System.Text.Json;
using Snn.Client;
using Snn.FunctionalTests.Api;
using Snn.Protos.V1;
using Snn.Server;
using Xunit.Abstractions;

namespace Snn.FunctionalTests.Dashboard;

/// <summary>
/// The dashboard at / in a real browser (Debian's headless Chromium over the DevTools protocol): it
/// lists the networks, watches the chosen instance over gRPC-Web and draws the spikes a driver sent.
/// </summary>
public sealed class DashboardTests(ITestOutputHelper output)
{
    private const int InputSize = 16;

    [Fact]
    public async Task Page_and_its_files_are_served_from_the_assembly()
    {
        await using var server = await StartServerAsync();
        using var http = new HttpClient { BaseAddress = server.HttpAddress };

        using var page = await http.GetAsync("/").Within();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<title>SnnService dashboard</title>", html, StringComparison.Ordinal);

        foreach (var (file, type) in new[] { ("dashboard.js", "text/javascript"), ("dashboard.css", "text/css") })
        {
            Assert.Contains($"dashboard/{file}", html, StringComparison.Ordinal);
            using var response = await http.GetAsync($"/dashboard/{file}").Within();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(type, response.Content.Headers.ContentType?.MediaType);
        }

        using var missing = await http.GetAsync("/dashboard/nothing.js").Within();
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Raster_shows_the_spikes_a_driver_sends_to_the_watched_instance()
    {
        await using var server = await StartServerAsync();
        using var client = new SnnClient(server.Address);
        string name = Names.Unique("dash");
        await client.CreateNetworkAsync(new CreateNetworkRequest
        {
            Spec = new NetworkSpec
            {
                Name = name,
                Instances = 2,
                Populations = { Specs.Population("in", "input", InputSize), Specs.Population("lif", "snntorch.Leaky", InputSize, ("beta", Specs.Num(0.9))) },
                Projections = { Specs.OneToOne("ff", "in", "lif", Enumerable.Repeat(0.6f, InputSize).ToArray()) },
            },
        }).Within();

        await using var browser = await Chromium.LaunchAsync();
        var page = await browser.OpenAsync(server.HttpAddress!, 1280, 860);
        string button = $"document.querySelector('button.instance[data-network=\"{name}\"][data-instance=\"1\"]')";
        await page.WaitForAsync($"{button} !== null", "list the network's instance 1", ApiTimeouts.Default);
        await page.EvaluateAsync($"{button}.click()");
        await page.WaitForAsync("document.body.dataset.watch === 'open'", "open the watch", ApiTimeouts.Default,
            async () => (await page.EvaluateAsync("document.body.dataset.watch + ': ' + document.getElementById('watch-status').textContent")).ToString());

        // Drive instance 1 for about three seconds, so that the metrics charts have points too: a known
        // pattern of input spikes, in requests of 20 steps.
        await using var run = await client.OpenRunAsync(new RunOpen { Network = name, Instance = 1 }).Within();
        var drain = Task.Run(async () =>
        {
            while (await run.ReadAsync() is not null)
            {
            }
        });
        var sent = new HashSet<(long Step, int Neuron)>();
        long step = 0;
        var started = DateTime.UtcNow;
        while (DateTime.UtcNow - started < TimeSpan.FromSeconds(3))
        {
            var inputs = new List<Input>();
            for (uint offset = 0; offset < 20; offset++, step++)
            {
                var neurons = Pattern(step);
                inputs.Add(Specs.Events("in", neurons.Select(n => (uint)n).ToArray(), offset: offset));
                sent.UnionWith(neurons.Select(n => (step, n)));
            }

            await run.AdvanceAsync(20, inputs).Within();
            await Task.Delay(50);
        }

        // The network's row says where it steps (the server's networks list, refreshed every 2 s).
        string stepsOn = $"[...document.querySelectorAll('#networks tbody tr')].find(r => r.cells[0].textContent === '{name}')?.cells[4].textContent";
        await page.WaitForAsync($"{stepsOn} === 'CPU backend'", "show where the network steps", ApiTimeouts.Default,
            async () => (await page.EvaluateAsync(stepsOn)).ToString());

        long last = step - 1;
        await page.WaitForAsync($"document.getElementById('raster').dataset.lastStep === '{last}'", $"draw step {last}", ApiTimeouts.Default,
            async () => (await page.EvaluateAsync("document.getElementById('watch-status').textContent")).ToString());

        // Read the raster's pixels: every step column of every row of population "in" in the spike colour.
        var raster = await page.EvaluateAsync(ReadRasterScript);
        long first = raster.GetProperty("first").GetInt64();
        var shown = raster.GetProperty("lit").EnumerateArray().Select(e => (e[0].GetInt64(), e[1].GetInt32())).ToHashSet();
        var expected = sent.Where(s => s.Step >= first).ToHashSet();
        output.WriteLine($"drove steps 0..{last}; the raster shows steps {first}..{last}: {shown.Count} spikes of 'in' drawn, {expected.Count} sent");
        Assert.True(expected.Count > 100, $"only {expected.Count} spikes fall in the raster's window");
        Assert.Empty(expected.Except(shown));
        Assert.Empty(shown.Except(expected));
        var status = (await page.EvaluateAsync("document.getElementById('watch-status').textContent")).GetString();
        Assert.DoesNotContain("dropped", status, StringComparison.Ordinal);

        // The charts have drawn the steps of the last seconds.
        await page.WaitForAsync("[...document.querySelectorAll('.chart .value')][0].textContent !== '–'", "chart the step rate",
            ApiTimeouts.Default);
        await Task.Delay(1200); // one more metrics refresh, for the screenshot
        await run.CompleteAsync();
        await drain.WaitAsync(ApiTimeouts.Default);

        // The screenshot goes next to the test assembly; SNN_UPDATE_DOCS=1 also refreshes the README's copy in
        // docs/ (a plain test run leaves the working tree as it was).
        var png = await page.ScreenshotAsync();
        string path = Path.Combine(AppContext.BaseDirectory, "dashboard.png");
        await File.WriteAllBytesAsync(path, png);
        if (Environment.GetEnvironmentVariable("SNN_UPDATE_DOCS") == "1")
        {
            await File.WriteAllBytesAsync(RepositoryFiles.Resolve("docs", "dashboard.png"), png);
        }

        output.WriteLine($"screenshot: {path} ({png.Length} bytes)");
    }

    /// <summary>The input neurons that get a spike at a step: one that walks across, and a second every third step.</summary>
    private static int[] Pattern(long step) =>
        step % 3 == 0 ? [(int)(step % InputSize), (int)((step * 7 + 3) % InputSize)] : [(int)(step % InputSize)];

    private const string ReadRasterScript = """
        (() => {
          const canvas = document.getElementById('raster');
          const d = canvas.dataset;
          const column = Number(d.columnWidth), rowHeight = Number(d.rowHeight), first = Number(d.firstStep);
          const place = JSON.parse(d.populations)['in'];
          const color = [1, 3, 5].map((i) => parseInt(d.spikeColor.slice(i, i + 2), 16));
          const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          const lit = [];
          for (let n = 0; n < place.rows; n++) {
            const y = (place.offset + n) * rowHeight + rowHeight - 1;
            for (let x = 0; x < canvas.width; x += column) {
              const i = (y * canvas.width + x) * 4;
              if (pixels[i] === color[0] && pixels[i + 1] === color[1] && pixels[i + 2] === color[2]) lit.push([first + x / column, n]);
            }
          }
          return { first, lit };
        })()
        """;

    private static Task<ServerHost> StartServerAsync() =>
        ServerHost.StartAsync([.. TestData.Args(), "--urls", "http://127.0.0.1:0", "--Snn:HttpUrls", "http://127.0.0.1:0"]).Within();
}
