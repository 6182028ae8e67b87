using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLTransforms.Core.Pipeline;

/// <summary>
/// The two things of ML.NET's host environment that ML.NET keeps internal: the environment behind a catalog
/// (<c>IInternalCatalog.Environment</c>, which seeds, logs and cancels like the <see cref="MLContext"/> it came
/// from) and its cancellation check (<c>Contracts.CheckAlive</c>, what <c>MLContext.CancelExecution</c> trips).
/// Both are found by reflection once and cached.
/// </summary>
internal static class CatalogEnvironment
{
    /// <summary>The ML.NET version whose internals this reads.</summary>
    internal const string ExpectedMLNetVersion = "Microsoft.ML 6.0";

    private static readonly ConcurrentDictionary<Type, Func<object, object?>> Getters = new();

    private static readonly Lazy<Action<IHostEnvironment>> AliveCheck = new(FindCheckAlive);

    /// <summary>The environment of an ML.NET catalog (e.g. <c>mlContext.Transforms</c>, <c>mlContext.Forecasting</c>).</summary>
    /// <exception cref="InvalidOperationException">The catalog does not expose its environment the way ML.NET 6.0 does.</exception>
    internal static IHostEnvironment Of(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var getter = Getters.GetOrAdd(catalog.GetType(), FindGetter);
        return getter(catalog) as IHostEnvironment ?? throw Unsupported(catalog.GetType(), "its environment is null");
    }

    /// <summary>Throws <see cref="OperationCanceledException"/> (ML.NET's own check) when the context that
    /// <paramref name="env"/> descends from was cancelled.</summary>
    internal static void CheckAlive(IHostEnvironment env) => AliveCheck.Value(env);

    private static Func<object, object?> FindGetter(Type type)
    {
        // ML.NET: 'IHostEnvironment IInternalCatalog.Environment', an explicit implementation of an internal interface.
        var property = type.GetInterfaces().FirstOrDefault(i => i.Name == "IInternalCatalog")?.GetProperty("Environment")
            ?? type.GetProperty("Environment", BindingFlags.Instance | BindingFlags.NonPublic);
        if (property is not null && typeof(IHostEnvironment).IsAssignableFrom(property.PropertyType))
            return property.GetValue;
        var field = type.GetFields(BindingFlags.Instance | BindingFlags.NonPublic).FirstOrDefault(f => f.FieldType == typeof(IHostEnvironment))
            ?? throw Unsupported(type, "it implements no IInternalCatalog and has no IHostEnvironment property or field");
        return field.GetValue;
    }

    private static Action<IHostEnvironment> FindCheckAlive()
    {
        var method = typeof(IHostEnvironment).Assembly.GetType("Microsoft.ML.Runtime.Contracts")
            ?.GetMethod("CheckAlive", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, [typeof(IHostEnvironment)])
            ?? throw Unsupported(typeof(IHostEnvironment), "Microsoft.ML.Runtime.Contracts.CheckAlive(IHostEnvironment) is missing");
        return method.CreateDelegate<Action<IHostEnvironment>>();
    }

    private static InvalidOperationException Unsupported(Type type, string why)
        => new($"Cannot read the ML.NET host environment of {type.FullName} ({why}). MLTransforms expects " +
            $"{ExpectedMLNetVersion}; the loaded Microsoft.ML is {typeof(MLContext).Assembly.GetName().Version}.");
}
