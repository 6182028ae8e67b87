namespace MLTransforms.Tests;

/// <summary>Locates the repository and its <c>data/</c> folder (everything the tests read is committed there).</summary>
internal static class TestData
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Path under the repository root (the tests' data is under <c>data/</c>).</summary>
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
