using Microsoft.ML.Runtime;
using MLTransforms.Core.Numerics;

namespace MLTransforms.Core.Pipeline;

/// <summary>Log lines on an ML.NET channel (they reach <c>MLContext.Log</c>); none carries user data.</summary>
internal static class HostLog
{
    internal static void Info(this IChannel channel, FormattableString message)
        => channel.Info(MessageSensitivity.None, FormattableString.Invariant(message));

    internal static void Warning(this IChannel channel, FormattableString message)
        => channel.Warning(MessageSensitivity.None, FormattableString.Invariant(message));

    /// <summary>Once per fit that runs on <see cref="Gemm"/>: which library runs the products, and the one warning
    /// with what to install when it is the managed kernel.</summary>
    internal static void GemmBackend(this IChannel channel)
    {
        channel.Info($"Matrix products: {(Gemm.RunsManaged && Gemm.NativeAvailable ? "managed kernel (forced on this thread; loaded: " + Gemm.BackendDescription + ")" : Gemm.BackendDescription)}");
        if (Gemm.BackendAdvice is { } advice)
            channel.Warning(MessageSensitivity.None, advice);
    }
}
