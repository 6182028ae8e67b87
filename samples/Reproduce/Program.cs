using System.Diagnostics;
using MLTransforms.Samples;
using Spectre.Console;

// Every IScenario in this assembly is a subcommand; no arguments runs them all in Order.
var scenarios = typeof(IScenario).Assembly.GetTypes()
    .Where(t => typeof(IScenario).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false })
    .Select(t => (IScenario)Activator.CreateInstance(t)!)
    .OrderBy(s => s.Order).ToList();

// Redirected output (logs, CI) gets wide tables instead of the 80-column default.
if (Console.IsOutputRedirected)
    AnsiConsole.Profile.Width = 160;

string outDir = Path.GetFullPath("samples-output");
var rest = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--out" && i + 1 < args.Length) outDir = Path.GetFullPath(args[++i]);
    else rest.Add(args[i]);
}

if (rest.Count > 0 && rest[0] is "-h" or "--help" or "help")
{
    AnsiConsole.MarkupLine("Usage: dotnet run -c Release --project samples/MLTransforms.Samples [scenario [options]] [--out DIR]");
    foreach (var s in scenarios) AnsiConsole.MarkupLine($"  [bold]{s.Name,-12}[/] {Markup.Escape(s.Description)}");
    return 0;
}

var selected = rest.Count == 0 ? scenarios : scenarios.Where(s => s.Name == rest[0]).ToList();
if (selected.Count == 0)
{
    AnsiConsole.MarkupLine($"[red]Unknown scenario '{Markup.Escape(rest[0])}'.[/] Known: {string.Join(", ", scenarios.Select(s => s.Name))}");
    return 2;
}
string[] scenarioArgs = rest.Count == 0 ? [] : rest.Skip(1).ToArray();

Directory.CreateDirectory(outDir);
var context = new ScenarioContext { OutputDirectory = outDir };
AnsiConsole.MarkupLine($"Writing plots and results to [bold]{Markup.Escape(outDir)}[/]");
var results = new List<ResultRow>();
foreach (var s in selected)
{
    AnsiConsole.Write(new Rule($"[yellow]{s.Name}[/]: {Markup.Escape(s.Description)}"));
    var sw = Stopwatch.StartNew();
    try
    {
        results.AddRange(await s.RunAsync(context, scenarioArgs));
    }
    catch (ArgumentException e) when (rest.Count > 0)
    {
        // A bad command line is the user's mistake, not a crash: say what was wrong and stop.
        AnsiConsole.MarkupLine($"[red]{Markup.Escape(e.Message)}[/]");
        return 2;
    }
    AnsiConsole.MarkupLine($"[grey]{s.Name} took {sw.Elapsed.TotalSeconds:F1} s[/]");
}

var table = new Table().AddColumns("Scenario", "Metric", "Value", "Reference");
foreach (var r in results) table.AddRow(Markup.Escape(r.Scenario), Markup.Escape(r.Metric), Markup.Escape(r.Value), Markup.Escape(r.Reference));
AnsiConsole.Write(new Rule("[green]Results[/]"));
AnsiConsole.Write(table);
File.WriteAllLines(Path.Combine(outDir, "results.tsv"),
    results.Select(r => string.Join('\t', r.Scenario, r.Metric, r.Value, r.Reference)).Prepend("scenario\tmetric\tvalue\treference"));
AnsiConsole.MarkupLine($"Results table written to [bold]{Markup.Escape(Path.Combine(outDir, "results.tsv"))}[/]");
return 0;
