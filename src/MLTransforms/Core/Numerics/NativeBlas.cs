using System.Runtime.InteropServices;

namespace MLTransforms.Core.Numerics;

/// <summary>
/// Finds a native BLAS with <c>cblas_sgemm</c> once per process: OpenBLAS under its usual names (Debian's pthread,
/// OpenMP and serial variants, Fedora's libopenblasp/o, Homebrew, Windows DLLs), and Apple's Accelerate on macOS
/// (tried first there). Reference BLAS (<c>libblas.so.3</c>) is not probed: it is slower than the managed kernel.
/// </summary>
internal sealed class NativeBlas
{
    private readonly nint _library;

    private NativeBlas(nint library, string name, string description)
    {
        _library = library;
        Name = name;
        Description = description;
    }

    /// <summary>The vendor and file, e.g. <c>OpenBLAS (libopenblas.so.0)</c>, or <c>managed</c> when none loaded.</summary>
    public string Name { get; }

    /// <summary>What was loaded and its build configuration, or every name tried and why each failed.</summary>
    public string Description { get; }

    /// <summary>How much slower the managed kernel is than OpenBLAS, in the words the warning uses (OpenBLAS 0.3.21 took
    /// 0.19-0.48 of the managed time on OLinear's products on the 2-core development machine: docs/results.md, GEMM backends).</summary>
    internal const string ManagedSlowdown = "2 to 5 times slower on OLinear training's products";

    /// <summary>What to install when no native BLAS loaded: the one text of the warning fits log.</summary>
    internal const string InstallAdvice =
        "No native BLAS loaded: matrix products run on MLTransforms' managed kernel, " + ManagedSlowdown + " than with OpenBLAS. " +
        "Install OpenBLAS: Debian/Ubuntu 'apt install libopenblas0-pthread' (or libopenblas0), Fedora 'dnf install openblas-threads', " +
        "macOS: Accelerate is built in (or 'brew install openblas'), Windows: put libopenblas.dll on PATH. " +
        "Reference BLAS (libblas.so.3) is deliberately not used: it is slower than the managed kernel.";

    /// <summary>A function pointer to <paramref name="name"/> in the loaded library, or 0.</summary>
    public nint Export(string name) => _library != 0 && NativeLibrary.TryGetExport(_library, name, out var f) ? f : 0;

    /// <summary>The candidate names for the current OS, most preferred first.</summary>
    internal static IReadOnlyList<(string Vendor, string Path)> Candidates()
    {
        var list = new List<(string, string)>();
        if (OperatingSystem.IsMacOS())
        {
            list.Add(("Accelerate", "/System/Library/Frameworks/Accelerate.framework/Accelerate"));
            foreach (var dir in new[] { "/opt/homebrew/opt/openblas/lib/", "/usr/local/opt/openblas/lib/", "" })
                list.Add(("OpenBLAS", dir + "libopenblas.dylib"));
        }
        else if (OperatingSystem.IsWindows())
        {
            foreach (var name in new[] { "libopenblas.dll", "openblas.dll" })
                list.Add(("OpenBLAS", name));
        }
        else
        {
            foreach (var name in new[] { "libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libopenblaso.so.0" })
                list.Add(("OpenBLAS", name));
            string arch = RuntimeInformation.ProcessArchitecture switch
            {
                Architecture.Arm64 => "aarch64-linux-gnu",
                _ => "x86_64-linux-gnu",
            };
            foreach (var variant in new[] { "openblas-pthread", "openblas-openmp", "openblas-serial" })
                list.Add(("OpenBLAS", $"/usr/lib/{arch}/{variant}/libopenblas.so.0"));
        }
        return list;
    }

    /// <summary>Loads the first candidate that exports <c>cblas_sgemm</c>.</summary>
    public static NativeBlas Probe()
    {
        var tried = new List<string>();
        foreach (var (vendor, path) in Candidates())
        {
            if (!NativeLibrary.TryLoad(path, out var lib)) { tried.Add($"{path}: not found"); continue; }
            if (!NativeLibrary.TryGetExport(lib, "cblas_sgemm", out _))
            {
                tried.Add($"{path}: no cblas_sgemm");
                NativeLibrary.Free(lib);
                continue;
            }
            string config = new NativeBlas(lib, "", "").Config();
            // A file under an OpenBLAS name without OpenBLAS's own exports is some other CBLAS (a renamed link).
            string name = $"{(vendor == "OpenBLAS" && config.Length == 0 ? "CBLAS" : vendor)} ({Path.GetFileName(path)})";
            return new NativeBlas(lib, name, config.Length > 0 ? $"{name} from {path}: {config}" : $"{name} from {path}");
        }
        return new NativeBlas(0, "managed", "managed kernel: no native BLAS loaded (tried " + string.Join("; ", tried) + ")");
    }

    /// <summary>OpenBLAS's build string (version, kernel, threading), or empty for other vendors.</summary>
    private unsafe string Config()
    {
        var f = (delegate* unmanaged<sbyte*>)Export("openblas_get_config");
        return f == null ? "" : Marshal.PtrToStringUTF8((nint)f()) ?? "";
    }
}
