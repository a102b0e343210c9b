using System;
using System.IO;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

// Usage: ModelCache.TestHost <script.ps1> [args...]
// Runs the script in a fresh runspace. Output objects go to stdout as strings, errors to stderr
// as "ERROR <FullyQualifiedErrorId>: <message>". Exit code 0 when no error was written, 1 otherwise,
// 2 for a terminating failure.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: ModelCache.TestHost <script.ps1> [args...]");
    return 2;
}

var state = InitialSessionState.CreateDefault2();
if (OperatingSystem.IsWindows())
{
    state.ExecutionPolicy = Microsoft.PowerShell.ExecutionPolicy.Bypass;
}

using var runspace = RunspaceFactory.CreateRunspace(state);
runspace.Open();
using var shell = PowerShell.Create(runspace);
shell.AddCommand(Path.GetFullPath(args[0]));
foreach (var argument in args[1..])
{
    shell.AddArgument(argument);
}

try
{
    foreach (var item in shell.Invoke())
    {
        Console.Out.WriteLine(item?.ToString());
    }
}
catch (RuntimeException ex)
{
    Console.Error.WriteLine($"TERMINATING {ex.ErrorRecord.FullyQualifiedErrorId}: {ex.Message}");
    return 2;
}

foreach (var error in shell.Streams.Error)
{
    Console.Error.WriteLine($"ERROR {error.FullyQualifiedErrorId}: {error}");
}

return shell.HadErrors ? 1 : 0;
