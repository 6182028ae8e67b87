using Spectre.Console;

namespace MLTransforms.Samples;

/// <summary>One runnable scenario of the samples app (a subcommand). Implementations are discovered by reflection.</summary>
public interface IScenario
{
    /// <summary>Subcommand name, e.g. <c>rotations</c>.</summary>
    string Name { get; }

    /// <summary>One line for the help text.</summary>
    string Description { get; }

    /// <summary>Position in the default run (lower first).</summary>
    int Order { get; }

    /// <summary>Runs the scenario and returns rows for the final results table.</summary>
    Task<IReadOnlyList<ResultRow>> RunAsync(ScenarioContext context, string[] args);
}

/// <summary>One row of the results table: scenario, what was measured, the value, and a reference if any.</summary>
public sealed record ResultRow(string Scenario, string Metric, string Value, string Reference = "");

/// <summary>Where a scenario reads data and writes plots.</summary>
public sealed class ScenarioContext
{
    /// <summary>Folder for PNG plots and other outputs.</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>Data shipped with the samples (copied next to the executable).</summary>
    public string DataDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "data");

    /// <summary>The repository's sibling <c>shared/data</c> folder when present (larger, optional runs), else null.</summary>
    public string? SharedDataDirectory { get; } = FindSharedData();

    /// <summary>Path of a file in the output folder.</summary>
    public string Output(string fileName) => Path.Combine(OutputDirectory, fileName);

    /// <summary>Path of a file in the shipped data folder.</summary>
    public string Data(string relativePath) => Path.Combine(DataDirectory, relativePath);

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
