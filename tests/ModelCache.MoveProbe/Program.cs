using System;
using System.IO;
using System.Linq;
using ModelCache.Catalog;
using ModelCache.Locations;
using ModelCache.Moves;
using ModelCache.Store;

// Usage: ModelCache.MoveProbe <settings.json> <destination>
// Moves the whole cache root the settings file names (or, once that setting was switched, the old root its move
// journal names) to <destination> with the built-in catalog, as Move-ModelCache does. After each step it prints
// "copied <name>", "switched" or "deleted <name>" and waits for a line on stdin (end of input: it goes on), so a
// test can kill it between any two steps. Ends with "done <name>=<status> ...".
var settings = new SettingsStore(args[0]);
var destination = new CacheStore(args[1]);
var journal = new MoveJournal(settings.UserDirectory);
var source = new CacheStore(journal.ResolveSource(Path.GetFullPath(settings.ReadCacheRoot()!), destination.Root));
var catalog = new ModelCatalog(ModelCatalog.ReadBuiltIn());
var mover = new CacheMover(source, destination, catalog);
var plan = mover.Plan(await source.ListAsync(catalog), wholeRoot: true);
var outcome = await mover.MoveAsync(plan, new CacheMoveOptions
{
    Settings = new ICacheRootSetting[] { settings },
    Journal = journal,
    OnStep = (step, name) =>
    {
        Console.WriteLine(step == MoveStep.Switched ? "switched" : $"{step.ToString().ToLowerInvariant()} {name}");
        Console.Out.Flush();
        Console.In.ReadLine();
    },
}, default);
Console.WriteLine("done " + string.Join(" ", outcome.Results.Select(r => $"{r.Name}={r.Status}")));
return outcome.Failures.Count == 0 ? 0 : 1;
