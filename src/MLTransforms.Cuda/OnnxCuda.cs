using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Runtime;
using MLTransforms.Onnx;

namespace MLTransforms.Cuda;

/// <summary>
/// CUDA execution for <see cref="OnnxScorer"/>: ONNX Runtime's CUDA execution provider on a chosen device, with the
/// CPU provider behind it for any operator CUDA does not run. Needs an NVIDIA GPU and driver plus the CUDA and cuDNN
/// libraries ONNX Runtime GPU 1.32 is built against (<see cref="Requirements"/>); when they are missing, the scorer
/// falls back to CPU (or throws, if asked to) with the reason ONNX Runtime gave, which names the missing library.
/// </summary>
/// <remarks>Referencing the MLTransforms.Cuda package is enough: its build rule deploys ONNX Runtime's GPU native
/// library in place of the CPU one that MLTransforms brings (both have the same file name). The GPU build runs every
/// graph on CPU as well, so nothing else changes.</remarks>
public static class OnnxCuda
{
    /// <summary>Checks whether the CUDA execution provider can be created for <paramref name="deviceId"/>.</summary>
    /// <param name="deviceId">CUDA device ordinal.</param>
    /// <param name="reason">Why not, when it cannot (ONNX Runtime's message plus what to install); otherwise null.</param>
    public static bool IsAvailable(int deviceId, out string? reason)
    {
        try
        {
            using var probe = new SessionOptions();
            probe.AppendExecutionProvider_CUDA(deviceId);
            reason = null;
            return true;
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            string message = e.Message.Trim().TrimEnd('.');
            reason = $"CUDA execution provider is not available for device {deviceId}: {message}. " +
                (message.Contains("not enabled", StringComparison.OrdinalIgnoreCase) || e is EntryPointNotFoundException
                    ? "The CPU build of ONNX Runtime was loaded: reference the MLTransforms.Cuda package (its build rule deploys the GPU build) " +
                      "and do not set MLTransformsKeepCpuOnnxRuntime."
                    : $"It needs {Requirements}");
            return false;
        }
    }

    /// <summary>What the CUDA execution provider of ONNX Runtime GPU 1.32 needs on the machine, for messages and docs.</summary>
    public const string Requirements =
        "an NVIDIA GPU with a driver for CUDA 13 (R580 or newer), the CUDA 13 runtime libraries (libcudart.so.13, " +
        "libcublas.so.13, libcublasLt.so.13, libcurand.so.10, libcufft) and cuDNN 9 for CUDA 13 on the library path " +
        "(LD_LIBRARY_PATH on Linux, PATH on Windows); ONNX Runtime's message names the first one it could not load.";

    /// <summary>Options that run the scorer on CUDA device <paramref name="deviceId"/> (CPU for the rest of the graph).</summary>
    /// <param name="options">Options to extend (thread count is kept); null for defaults.</param>
    /// <param name="deviceId">CUDA device ordinal.</param>
    public static OnnxScorerOptions WithCuda(this OnnxScorerOptions? options, int deviceId = 0)
    {
        var previous = options?.ConfigureSession;
        return new OnnxScorerOptions
        {
            IntraOpThreads = options?.IntraOpThreads ?? 0,
            ConfigureSession = s =>
            {
                previous?.Invoke(s);
                s.AppendExecutionProvider_CUDA(deviceId);
            },
        };
    }

    /// <summary>
    /// Creates a scorer on CUDA when it is available; otherwise, with <paramref name="fallbackToCpu"/>, a CPU scorer
    /// and the reason in <paramref name="fallbackReason"/> (print it: silent CPU fallback hides a broken GPU setup),
    /// or else an <see cref="InvalidOperationException"/> carrying that reason.
    /// </summary>
    /// <param name="modelPath">The <c>.onnx</c> file.</param>
    /// <param name="deviceId">CUDA device ordinal.</param>
    /// <param name="fallbackToCpu">Whether to fall back to CPU when CUDA is unavailable.</param>
    /// <param name="fallbackReason">Why the scorer runs on CPU; null when it runs on CUDA.</param>
    /// <param name="options">Thread count and further session settings.</param>
    public static OnnxScorer CreateScorer(string modelPath, int deviceId, bool fallbackToCpu, out string? fallbackReason, OnnxScorerOptions? options = null)
    {
        if (IsAvailable(deviceId, out fallbackReason))
            return new OnnxScorer(modelPath, options.WithCuda(deviceId));
        if (!fallbackToCpu)
            throw new InvalidOperationException(fallbackReason + " Pass fallbackToCpu: true to score on CPU instead.");
        return new OnnxScorer(modelPath, options);
    }

    /// <summary>
    /// Creates a scorer on CUDA when it is available and otherwise on CPU, and writes one line to
    /// <paramref name="env"/>'s log (<see cref="Microsoft.ML.MLContext.Log"/>): the execution provider in use, or a
    /// warning with the reason CUDA could not be used and what to install.
    /// </summary>
    /// <param name="env">The ML.NET environment to log to (an <see cref="Microsoft.ML.MLContext"/>).</param>
    /// <param name="modelPath">The <c>.onnx</c> file.</param>
    /// <param name="deviceId">CUDA device ordinal.</param>
    /// <param name="options">Thread count and further session settings.</param>
    public static OnnxScorer CreateScorer(IHostEnvironment env, string modelPath, int deviceId = 0, OnnxScorerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        using var ch = env.Register(nameof(OnnxCuda)).Start("Execution provider");
        var scorer = CreateScorer(modelPath, deviceId, fallbackToCpu: true, out var reason, options);
        if (reason is null)
            ch.Info(MessageSensitivity.None, $"ONNX Runtime execution provider: CUDA (device {deviceId}) for {Path.GetFileName(modelPath)}");
        else
            ch.Warning(MessageSensitivity.None, $"ONNX Runtime execution provider: CPU for {Path.GetFileName(modelPath)} ({reason})");
        return scorer;
    }
}
