using Microsoft.ML.OnnxRuntime;
using MLTransforms.Onnx;

namespace MLTransforms.Cuda;

/// <summary>
/// CUDA execution for <see cref="OnnxScorer"/>: ONNX Runtime's CUDA execution provider on a chosen device, with the
/// CPU provider behind it for any operator CUDA does not run. Needs an NVIDIA GPU and driver plus the CUDA and cuDNN
/// libraries ONNX Runtime GPU 1.31 is built against (CUDA 13: it loads <c>libcublasLt.so.13</c>); when they are
/// missing, the scorer falls back to CPU (or throws, if asked to) with the reason ONNX Runtime gave, which names the
/// missing library.
/// </summary>
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
            reason = $"CUDA execution provider is not available for device {deviceId}: {e.Message.Trim().TrimEnd('.')}. " +
                "It needs an NVIDIA GPU and driver, the CUDA 13 and cuDNN libraries ONNX Runtime GPU 1.31 was built for on the " +
                "library path (ONNX Runtime's error log names the missing one, e.g. libcublasLt.so.13), and the " +
                "Microsoft.ML.OnnxRuntime.Gpu native library instead of the CPU one.";
            return false;
        }
    }

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
}
