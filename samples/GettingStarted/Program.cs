using MLTransforms.GettingStarted;

// dotnet run --project samples/GettingStarted -- rotations|forecasting|embeddings|ai-embeddings|onnx   (no argument: all)
var examples = new Dictionary<string, Action<TextWriter, string>>(StringComparer.OrdinalIgnoreCase)
{
    ["rotations"] = (o, d) => Rotations.Run(o, d),
    ["forecasting"] = (o, d) => Forecasting.Run(o, d),
    ["embeddings"] = (o, d) => EmbeddingUpgrade.Run(o, d),
    ["ai-embeddings"] = (o, d) => AiEmbeddingUpgrade.RunAsync(o, d).GetAwaiter().GetResult(),
    ["onnx"] = (o, d) => OnnxDeployment.Run(o, d),
};
var chosen = args.Length == 0 ? examples.Keys.ToArray() : args;
foreach (var name in chosen)
{
    if (!examples.TryGetValue(name, out var run))
    {
        Console.Error.WriteLine($"Unknown example '{name}': expected one of {string.Join(", ", examples.Keys)}.");
        return 1;
    }
    Console.WriteLine($"== {name}");
    run(Console.Out, DataFolder.Find());
}
return 0;

namespace MLTransforms.GettingStarted
{
    /// <summary>Finds the repository's <c>data/</c> folder above the program's directory.</summary>
    public static class DataFolder
    {
        /// <summary>The nearest <c>data/</c> folder (holding <c>optdigits/</c>) above <see cref="AppContext.BaseDirectory"/>.</summary>
        public static string Find()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
                if (Directory.Exists(Path.Combine(dir.FullName, "data", "optdigits")))
                    return Path.Combine(dir.FullName, "data");
            throw new DirectoryNotFoundException("No data/ folder (with optdigits/) above " + AppContext.BaseDirectory);
        }
    }
}
