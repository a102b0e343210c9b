using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;

// A minimal PowerShell host for running ModelCache scripts where pwsh is not installed, and for
// tests that need a separate process (locks, kill -9 mid-download).
//
// Usage: ModelCache.TestHost <script.ps1> [-Name value | -Switch | positional]...
//        ModelCache.TestHost -Command "<script text>"
// Output objects are printed like Format-List; errors go to stderr as "ERROR <FullyQualifiedErrorId>: <message>".
// Exit code: 0 when no error was written, 1 when errors were written, 2 on a terminating error.
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: ModelCache.TestHost <script.ps1> [arguments] | -Command <text>");
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
if (args[0] == "-Command")
{
    shell.AddScript(string.Join(" ", args[1..]));
}
else
{
    shell.AddCommand(Path.GetFullPath(args[0]));
    for (var i = 1; i < args.Length; i++)
    {
        if (args[i].StartsWith('-') && args[i].Length > 1 && char.IsLetter(args[i][1]))
        {
            var name = args[i][1..].TrimEnd(':');
            if (i + 1 < args.Length && !(args[i + 1].StartsWith('-') && args[i + 1].Length > 1 && char.IsLetter(args[i + 1][1])))
            {
                shell.AddParameter(name, args[++i]);
            }
            else
            {
                shell.AddParameter(name);
            }
        }
        else
        {
            shell.AddArgument(args[i]);
        }
    }
}

var settings = new PSDataCollection<PSObject>();
settings.DataAdded += (_, e) => Print(settings[e.Index]);
shell.Streams.Warning.DataAdded += (_, e) => Console.Error.WriteLine("WARNING: " + shell.Streams.Warning[e.Index].Message);
shell.Streams.Error.DataAdded += (_, e) =>
{
    var error = shell.Streams.Error[e.Index];
    Console.Error.WriteLine($"ERROR {error.FullyQualifiedErrorId}: {error}");
};

try
{
    shell.Invoke(null, settings);
}
catch (RuntimeException ex)
{
    Console.Error.WriteLine($"TERMINATING {ex.ErrorRecord.FullyQualifiedErrorId}: {ex.Message}");
    return 2;
}

return shell.HadErrors ? 1 : 0;

static void Print(PSObject item)
{
    if (item.BaseObject is string or ValueType)
    {
        Console.WriteLine(item.BaseObject);
        return;
    }

    var properties = item.Properties.Where(p => p.IsGettable).ToList();
    var width = properties.Count == 0 ? 0 : properties.Max(p => p.Name.Length);
    foreach (var property in properties)
    {
        object? value;
        try
        {
            value = property.Value;
        }
        catch (GetValueException)
        {
            continue;
        }

        var text = value is IEnumerable list and not string ? string.Join(", ", list.Cast<object>()) : value?.ToString();
        Console.WriteLine($"{property.Name.PadRight(width)} : {text}");
    }

    Console.WriteLine();
}
