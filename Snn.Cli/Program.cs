using Snn.Cli;

return await SnnCli.InvokeAsync(args, Console.Out, Console.Error);
