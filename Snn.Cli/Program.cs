using System.Text;
using Snn.Cli;
using Snn.Cli.Internal;

// Standard output is buffered (64 KiB) rather than flushed per line: `snn watch` of a fast run prints
// many thousands of lines a second. Commands that stream flush once per response; the rest at exit.
var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16) { AutoFlush = false };
try
{
    return await SnnCli.InvokeAsync(args, stdout, Console.Error, TerminalInfo.FromConsole());
}
finally
{
    await stdout.FlushAsync();
}
