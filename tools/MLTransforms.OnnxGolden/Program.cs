using Google.Protobuf;
using MLTransforms.OnnxGolden;

// Usage: dotnet run --project tools/MLTransforms.OnnxGolden [-- <output folder>]   (default: the repository's onnx/)
string outDir = args.Length > 0 ? Path.GetFullPath(args[0]) : Path.Combine(FindRepoRoot(), "onnx");
Directory.CreateDirectory(outDir);
var rendered = GoldenGraphs.All.Select(e => { var (c, m) = GoldenGraphs.Render(e); return (e, c, m); }).ToList();
foreach (var (entry, _, model) in rendered)
{
    var path = Path.Combine(outDir, entry.Name + ".onnx");
    File.WriteAllBytes(path, model.ToByteArray());
    Console.WriteLine($"wrote {path}");
}
File.WriteAllText(Path.Combine(outDir, "README.md"), GoldenGraphs.Readme(rendered));
Console.WriteLine($"wrote {Path.Combine(outDir, "README.md")} ({rendered.Count} graphs)");
return 0;

static string FindRepoRoot()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "MLTransforms.sln"))) return dir.FullName;
    throw new DirectoryNotFoundException("Run from inside the repository, or pass the output folder.");
}
