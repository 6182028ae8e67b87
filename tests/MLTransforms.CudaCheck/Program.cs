using MLTransforms.Cuda;
using MLTransforms.Onnx;

// Scores every golden graph in onnx/ on CUDA (strict: no fallback) and on CPU, and compares.
// Exit code 0: CUDA ran and matched; 1: a mismatch; 3: CUDA is not available here (the reason is printed).
string onnxDir = args.Length > 0 ? args[0] : FindOnnxFolder();
if (!OnnxCuda.IsAvailable(0, out var reason))
{
    Console.WriteLine(reason);
    return 3;
}
int failures = 0;
foreach (var path in Directory.GetFiles(onnxDir, "*.onnx").Order())
{
    using var cpu = new OnnxScorer(path);
    using var gpu = OnnxCuda.CreateScorer(path, 0, fallbackToCpu: false, out _);
    long width = cpu.Inputs[0].Dimensions[^1], outWidth = cpu.Outputs[0].Dimensions[^1];
    const int rows = 4096;
    var rng = new Random(1);
    var x = Enumerable.Range(0, (int)(rows * width)).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    var (yc, yg) = (new float[rows * outWidth], new float[rows * outWidth]);
    cpu.Score(x, yc);
    gpu.Score(x, yg);
    float diff = yc.Zip(yg, (a, b) => MathF.Abs(a - b)).Max();
    bool ok = diff <= 1e-3f;
    failures += ok ? 0 : 1;
    Console.WriteLine($"{Path.GetFileName(path),-45} CUDA vs CPU max |diff| {diff:0.0E+0} {(ok ? "ok" : "MISMATCH")}");
}
return failures == 0 ? 0 : 1;

static string FindOnnxFolder()
{
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir != null; dir = dir.Parent)
        if (Directory.Exists(Path.Combine(dir.FullName, "onnx")) && File.Exists(Path.Combine(dir.FullName, "MLTransforms.sln")))
            return Path.Combine(dir.FullName, "onnx");
    throw new DirectoryNotFoundException("Run inside the repository or pass the onnx folder.");
}
