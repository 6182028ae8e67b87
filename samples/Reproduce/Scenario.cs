using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MLTransforms.Reproduce;

/// <summary>One runnable scenario of the reproduction app (a subcommand). Implementations are discovered by reflection.</summary>
public interface IScenario
{
    /// <summary>Subcommand name, e.g. <c>rotations</c>.</summary>
    string Name { get; }

    /// <summary>One line for the help text (plain text: it is escaped before Spectre renders it as markup).</summary>
    string Description { get; }

    /// <summary>Position in the default run (lower first).</summary>
    int Order { get; }

    /// <summary>The subcommand's options, a <see cref="ScenarioSettings"/>.</summary>
    Type SettingsType { get; }

    /// <summary>Registers this scenario's subcommand.</summary>
    void AddCommand(IConfigurator config);

    /// <summary>Runs the scenario with its default settings: what the run without a command does.</summary>
    Task<IReadOnlyList<ResultRow>> RunDefaultAsync(ScenarioContext context);
}

/// <summary>A scenario whose options are the command-line settings <typeparamref name="TSettings"/>.</summary>
/// <typeparam name="TSettings">The subcommand's options; a new instance holds the defaults of the run without a command.</typeparam>
public abstract class Scenario<TSettings> : IScenario where TSettings : ScenarioSettings, new()
{
    /// <inheritdoc/>
    public abstract string Name { get; }

    /// <inheritdoc/>
    public abstract string Description { get; }

    /// <inheritdoc/>
    public abstract int Order { get; }

    /// <inheritdoc/>
    public Type SettingsType => typeof(TSettings);

    /// <summary>Runs the scenario with <paramref name="settings"/> and returns rows for the final results table.</summary>
    public abstract Task<IReadOnlyList<ResultRow>> RunAsync(ScenarioContext context, TSettings settings);

    /// <inheritdoc/>
    public Task<IReadOnlyList<ResultRow>> RunDefaultAsync(ScenarioContext context) => RunAsync(context, new TSettings());

    /// <inheritdoc/>
    public void AddCommand(IConfigurator config)
    {
        config.AddAsyncDelegate<TSettings>(Name, (_, settings, _) => ScenarioRunner.Run([(this, c => RunAsync(c, settings))], settings.Out))
            .WithDescription(Markup.Escape(Description));
    }
}

/// <summary>Options every command has.</summary>
public class ScenarioSettings : CommandSettings
{
    /// <summary>Folder for plots, models and results.tsv.</summary>
    [CommandOption("--out <DIR>")]
    [Description("Folder for plots, models and results.tsv (created if missing)")]
    [DefaultValue("samples-output")]
    public string Out { get; init; } = "samples-output";
}

/// <summary>One row of the results table: scenario, what was measured, the value, and a reference if any.</summary>
public sealed record ResultRow(string Scenario, string Metric, string Value, string Reference = "");

/// <summary>Where a scenario reads data and writes plots.</summary>
public sealed class ScenarioContext
{
    private readonly List<string> _written = [];

    /// <summary>Folder for PNG plots and other outputs.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Data shipped with the samples (copied next to the executable).</summary>
    public static string DataDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "data");

    /// <summary>The repository's sibling <c>shared/data</c> folder when present (larger, optional runs), else null.</summary>
    public static string? SharedDataDirectory { get; } = FindSharedData();

    /// <summary>Files the scenarios wrote, in order (printed after each command).</summary>
    public IReadOnlyList<string> Written => _written;

    /// <summary>Path of a file in the output folder, recorded as written.</summary>
    public string Output(string fileName) => Wrote(Path.Combine(OutputDirectory, fileName));

    /// <summary>Records <paramref name="path"/> as written by the current scenario and returns it.</summary>
    public string Wrote(string path)
    {
        path = Path.GetFullPath(path);
        if (!_written.Contains(path)) _written.Add(path);
        return path;
    }

    /// <summary>Path of a file in the shipped data folder.</summary>
    public static string Data(string relativePath) => Path.Combine(DataDirectory, relativePath);

    private static string? FindSharedData()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MLTransforms.sln")))
            {
                var shared = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data"));
                return Directory.Exists(shared) ? shared : null;
            }
        }
        return null;
    }
}
