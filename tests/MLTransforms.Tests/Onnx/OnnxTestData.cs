using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLTransforms.Tests.Onnx;

/// <summary>Real rows (optdigits, shipped with the samples) and helpers shared by the ONNX tests.</summary>
internal static class OnnxTestData
{
    public sealed class Digit
    {
        [VectorType(64)] public float[] Features { get; set; } = [];
        public bool Label { get; set; }
    }

    public static Digit[] Digits(int rows)
    {
        var (labels, features) = TestData.ReadClassification(TestData.Repo("data/optdigits/train.csv"), rows);
        return labels.Select((l, i) => new Digit { Features = features[i], Label = l < 5 }).ToArray();
    }

    /// <summary>Reads a vector or scalar float column into row arrays.</summary>
    public static float[][] Column(IDataView data, string name)
    {
        var col = data.Schema[name];
        var rows = new List<float[]>();
        using var cursor = data.GetRowCursor([col]);
        if (col.Type is VectorDataViewType)
        {
            var g = cursor.GetGetter<VBuffer<float>>(col);
            var v = default(VBuffer<float>);
            while (cursor.MoveNext()) { g(ref v); rows.Add(v.DenseValues().ToArray()); }
        }
        else
        {
            var g = cursor.GetGetter<float>(col);
            float v = 0;
            while (cursor.MoveNext()) { g(ref v); rows.Add([v]); }
        }
        return rows.ToArray();
    }

    public static float MaxAbsDiff(float[][] a, float[][] b)
    {
        Assert.Equal(a.Length, b.Length);
        float max = 0;
        for (int r = 0; r < a.Length; r++)
        {
            Assert.Equal(a[r].Length, b[r].Length);
            for (int i = 0; i < a[r].Length; i++) max = MathF.Max(max, MathF.Abs(a[r][i] - b[r][i]));
        }
        return max;
    }

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mlt-onnx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Path of the LoadCheck program, built next to the tests (see the test project file).</summary>
    public static string LoadCheckDll =>
        typeof(OnnxTestData).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "LoadCheckDll").Value!;

    /// <summary>Runs the LoadCheck program (no reference to MLTransforms) in its own process.</summary>
    public static (int ExitCode, string Stdout, string Stderr) RunLoadCheck(params string[] args)
    {
        var dll = LoadCheckDll;
        Assert.True(File.Exists(dll), $"LoadCheck not built at {dll}; build the solution first.");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "LoadCheck did not finish within 2 minutes.");
        return (p.ExitCode, stdout, stderr.Result);
    }

    public static string Format(float v) => v.ToString("R", CultureInfo.InvariantCulture);
}
