using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Spectre.Console;
using Spectre.Console.Cli;

[assembly: InternalsVisibleTo("MLTransforms.Reproduce.Tests")]

namespace MLTransforms.Reproduce;

/// <summary>The command line: every <see cref="IScenario"/> is a subcommand; no command runs them all in order.</summary>
public static class Program
{
    /// <summary>Exit code of a bad command line (unknown command or option, bad value, missing file).</summary>
    public const int UsageError = 2;

    /// <summary>Every scenario of this assembly, in the order of the run without a command.</summary>
    public static IReadOnlyList<IScenario> Scenarios { get; } = typeof(IScenario).Assembly.GetTypes()
        .Where(t => typeof(IScenario).IsAssignableFrom(t) && t is { IsInterface: false, IsAbstract: false })
        .Select(t => (IScenario)Activator.CreateInstance(t)!)
        .OrderBy(s => s.Order).ToList();

    /// <summary>Runs the command line.</summary>
    public static int Main(string[] args)
    {
        // Redirected output (logs, CI) gets wide tables instead of the 80-column default.
        if (Console.IsOutputRedirected)
            AnsiConsole.Profile.Width = 160;
        return Run(args);
    }

    /// <summary>Runs the command line <paramref name="args"/> with <see cref="Build"/>'s app.</summary>
    /// <remarks><c>help</c> first, as the old command line took it, is <c>--help</c> (of the command after it, if any).</remarks>
    public static int Run(string[] args, IAnsiConsole? console = null)
    {
        if (args is ["help", .. var rest]) args = [.. rest, "--help"];
        // Spectre fills a missing last value with its internal command name ("--out" alone would write to
        // ./__default_command): catch that before parsing.
        if (MissingValue(args) is { } option)
        {
            (console?.Profile.Out.Writer ?? Console.Error).WriteLine($"Error: Option {option} needs a value.");
            return UsageError;
        }
        return Build(console, args).Run(args);
    }

    /// <summary>
    /// The configured app. Help goes to <paramref name="console"/> (default: standard output); a bad command line
    /// is one line on <paramref name="console"/> (default: standard error) and exit code <see cref="UsageError"/>.
    /// <paramref name="args"/>, when given, lets that line name the option whose value failed to convert.
    /// </summary>
    public static CommandApp Build(IAnsiConsole? console = null, IReadOnlyList<string>? args = null)
    {
        var errors = console?.Profile.Out.Writer ?? Console.Error;
        var app = new CommandApp();
        app.SetDefaultCommand<AllCommand>()
            .WithDescription("Reproduces the paper's figures. With no command: runs every scenario in order, prints the results table and writes results.tsv.");
        app.Configure(config =>
        {
            config.SetApplicationName("dotnet run -c Release --project samples/Reproduce --");
            config.Settings.Culture = CultureInfo.InvariantCulture;
            config.Settings.StrictParsing = true;
            if (console != null) config.Settings.Console = console;
            config.SetExceptionHandler((e, _) => ReportError(errors, e, args ?? []));
            foreach (var s in Scenarios) s.AddCommand(config);
            config.AddExample("rotations", "--draws", "100000");
            config.AddExample("forecast", "--horizons", "96,192", "--out", "out");
        });
        return app;
    }

    /// <summary>A bad command line is one line, never a stack trace, and exit code <see cref="UsageError"/>; any other
    /// failure is its line, then the exception for the bug report, and exit code 1.</summary>
    private static int ReportError(TextWriter errors, Exception e, IReadOnlyList<string> args)
    {
        bool usage = e is CommandAppException or ArgumentException or FileNotFoundException or DirectoryNotFoundException;
        string message = usage ? e.Message : $"{e.GetType().Name}: {e.Message}";
        // Spectre's conversion failure names the value and the type, not the option: find the option in the arguments.
        if (e is CommandAppException && Regex.Match(e.Message, "^Failed to convert '(?<value>.*)' to ") is { Success: true } failed)
        {
            string value = failed.Groups["value"].Value;
            string why = Regex.Replace(e.InnerException?.Message ?? "", @"\s*\(Parameter '\w+'\)\s*$", "");
            message = OptionGiven(args, value) is { } option ? $"{option} got '{value}': {why}" : message;
        }
        errors.WriteLine($"Error: {message.ReplaceLineEndings(" ")}");
        // A failure that is not the command line's fault is a bug: keep its trace for the report.
        if (!usage) errors.WriteLine(e.ToString());
        return usage ? UsageError : 1;
    }

    /// <summary>The option given <paramref name="value"/> (<c>--x value</c>, <c>--x=value</c> or <c>--x:value</c>), else null.</summary>
    private static string? OptionGiven(IReadOnlyList<string> args, string value)
    {
        for (int i = args.Count - 1; i >= 0; i--)
        {
            if (args[i] == value && i > 0 && args[i - 1].StartsWith('-')) return args[i - 1];
            if (args[i].StartsWith('-') && (args[i].EndsWith("=" + value) || args[i].EndsWith(":" + value))) return args[i][..^(value.Length + 1)];
        }
        return null;
    }

    /// <summary>The first option that takes a value but is last or followed by another option, else null.</summary>
    private static string? MissingValue(IReadOnlyList<string> args)
        => args.Where((a, i) => ValueOptions.Contains(a) && (i + 1 == args.Count || args[i + 1].StartsWith("--"))).FirstOrDefault();

    /// <summary>Every <c>--name</c> of the settings' options that take a value.</summary>
    private static readonly HashSet<string> ValueOptions = typeof(ScenarioSettings).Assembly.GetTypes()
        .Where(typeof(ScenarioSettings).IsAssignableFrom)
        .SelectMany(t => t.GetProperties())
        .Select(p => p.GetCustomAttribute<CommandOptionAttribute>())
        .Where(o => o?.ValueName != null)
        .SelectMany(o => o!.LongNames.Select(n => "--" + n))
        .ToHashSet();

    /// <summary>The run without a command: every scenario with its defaults.</summary>
    private sealed class AllCommand : AsyncCommand<ScenarioSettings>
    {
        public override Task<int> ExecuteAsync(CommandContext context, ScenarioSettings settings, CancellationToken cancellationToken)
            => ScenarioRunner.Run(Scenarios.Select(s => (s, (Func<ScenarioContext, Task<IReadOnlyList<ResultRow>>>)s.RunDefaultAsync)).ToList(), settings.Out);
    }
}

/// <summary>Runs scenarios one after the other, then prints the results table and writes results.tsv.</summary>
internal static class ScenarioRunner
{
    public static async Task<int> Run(IReadOnlyList<(IScenario Scenario, Func<ScenarioContext, Task<IReadOnlyList<ResultRow>>> Run)> runs, string outDirectory)
    {
        string outDir = Path.GetFullPath(outDirectory);
        Directory.CreateDirectory(outDir);
        var context = new ScenarioContext { OutputDirectory = outDir };
        AnsiConsole.MarkupLine($"Writing plots and results to [bold]{Markup.Escape(outDir)}[/]");
        var results = new List<ResultRow>();
        foreach (var (s, run) in runs)
        {
            AnsiConsole.Write(new Rule($"[yellow]{s.Name}[/]: {Markup.Escape(s.Description)}"));
            var sw = Stopwatch.StartNew();
            int before = context.Written.Count;
            results.AddRange(await run(context));
            foreach (var path in context.Written.Skip(before))
                AnsiConsole.MarkupLine($"[grey]wrote {Markup.Escape(path)}[/]");
            AnsiConsole.MarkupLine($"[grey]{s.Name} took {sw.Elapsed.TotalSeconds:F1} s[/]");
        }

        var table = new Table().AddColumns("Scenario", "Metric", "Value", "Reference");
        foreach (var r in results) table.AddRow(Markup.Escape(r.Scenario), Markup.Escape(r.Metric), Markup.Escape(r.Value), Markup.Escape(r.Reference));
        AnsiConsole.Write(new Rule("[green]Results[/]"));
        AnsiConsole.Write(table);
        var tsv = Path.Combine(outDir, "results.tsv");
        File.WriteAllLines(tsv, results.Select(r => string.Join('\t', r.Scenario, r.Metric, r.Value, r.Reference)).Prepend("scenario\tmetric\tvalue\treference"));
        AnsiConsole.MarkupLine($"Results table written to [bold]{Markup.Escape(tsv)}[/]");
        return 0;
    }
}
