namespace MLTransforms.Tests;

/// <summary>Locates the repository and the sibling <c>shared/data</c> folder of real public data sets.</summary>
internal static class TestData
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Path under <c>../shared/data</c> (relative to the repository root).</summary>
    public static string Shared(string relative) => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "data", relative));

    /// <summary>Path under the repository root.</summary>
    public static string Repo(string relative) => Path.Combine(RepoRoot, relative);

    /// <summary>Reads a classification CSV (header <c>Label,F0..</c>): labels and feature rows.</summary>
    public static (int[] Labels, float[][] Features) ReadClassification(string path, int maxRows = int.MaxValue)
    {
        var labels = new List<int>();
        var rows = new List<float[]>();
        foreach (var line in File.ReadLines(path).Skip(1).Take(maxRows))
        {
            var parts = line.Split(',');
            labels.Add(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture));
            rows.Add(parts.Skip(1).Select(p => float.Parse(p, System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        }
        return (labels.ToArray(), rows.ToArray());
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MLTransforms.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("MLTransforms.sln not found above " + AppContext.BaseDirectory);
    }
}
