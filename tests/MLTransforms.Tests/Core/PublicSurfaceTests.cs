using System.Reflection;
using System.Runtime.CompilerServices;
using MLTransforms.Evaluation;
using MLTransforms.Rotations;

namespace MLTransforms.Tests.Core;

/// <summary>Reflection checks of the built assemblies' public surface: helpers stay internal, OnnxSharp and protobuf
/// types stay out of public signatures, options classes suit generic sweeps.</summary>
public class PublicSurfaceTests
{
    private static readonly Assembly[] Libraries = [typeof(StructuredRotation).Assembly, typeof(RetrievalEvaluation).Assembly];

    private static IEnumerable<Type> PublicTypes => Libraries.SelectMany(a => a.GetExportedTypes());

    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Members a user of the package can reach: public, or protected on an unsealed public type.</summary>
    private static bool Visible(MemberInfo m) => m switch
    {
        MethodBase b => b.IsPublic || ((b.IsFamily || b.IsFamilyOrAssembly) && !b.DeclaringType!.IsSealed),
        FieldInfo f => f.IsPublic || ((f.IsFamily || f.IsFamilyOrAssembly) && !f.DeclaringType!.IsSealed),
        PropertyInfo p => p.GetAccessors(true).Any(Visible),
        EventInfo e => e.AddMethod is { } add && Visible(add),
        _ => false,
    };

    [Fact]
    public void HelpersAreNotPublic()
    {
        string[] helpers = ["Gemm", "GemmBackend", "NativeBlas", "DenseMath", "SplitMix64", "VectorColumn", "SchemaChecks",
            "MultivariateWindows", "PairedStatistics", "EmbeddingAdapterFitter", "OrthoRidgeSolver", "OnnxComponentGraph", "OnnxModelCheck"];
        var all = Libraries.SelectMany(a => a.GetTypes()).Select(t => t.Name).ToHashSet();
        // The check must see the helpers at all, else it could not fail.
        Assert.Superset(new HashSet<string> { "VectorColumn", "PairedStatistics", "EmbeddingAdapterFitter", "MultivariateWindows", "SplitMix64" }, all);
        var exposed = PublicTypes.Select(t => t.Name).Intersect(helpers).ToArray();
        Assert.True(exposed.Length == 0, "Public helpers: " + string.Join(", ", exposed));
    }

    [Fact]
    public void NoOnnxSharpOrProtobufTypeInAPublicSignature()
    {
        static bool Foreign(Type t)
        {
            if (t.HasElementType) return Foreign(t.GetElementType()!);
            if (t.IsGenericType && t.GetGenericArguments().Any(Foreign)) return true;
            string asm = t.Assembly.GetName().Name ?? "";
            return asm is "OnnxSharp" or "Google.Protobuf" || t.Namespace == "Onnx";
        }
        var found = new List<string>();
        foreach (var type in PublicTypes)
        {
            if (type.BaseType is { } b && Foreign(b)) found.Add($"{type.FullName} : {b.Name}");
            found.AddRange(type.GetInterfaces().Where(Foreign).Select(i => $"{type.FullName} : {i.Name}"));
            foreach (var m in type.GetMembers(Declared).Where(Visible))
            {
                IEnumerable<Type> used = m switch
                {
                    MethodInfo mi => mi.GetParameters().Select(p => p.ParameterType).Append(mi.ReturnType),
                    ConstructorInfo ci => ci.GetParameters().Select(p => p.ParameterType),
                    PropertyInfo pi => [pi.PropertyType],
                    FieldInfo fi => [fi.FieldType],
                    EventInfo ei => [ei.EventHandlerType!],
                    _ => [],
                };
                found.AddRange(used.Where(Foreign).Select(u => $"{type.FullName}.{m.Name} uses {u.FullName}"));
            }
        }
        Assert.True(found.Count == 0, string.Join("\n", found));
    }

    [Fact]
    public void EveryOptionsClassIsNewConstructibleWithoutRequiredMembersAndSeedsAreNullable()
    {
        var options = PublicTypes.Where(t => t.IsClass && !t.IsAbstract && t.Name.EndsWith("Options", StringComparison.Ordinal)).ToArray();
        Assert.True(options.Length >= 8, $"found only {options.Length} options classes");
        foreach (var t in options)
        {
            Assert.True(t.GetConstructor(Type.EmptyTypes) is not null, $"{t.Name} has no public parameterless constructor");
            Assert.False(t.IsDefined(typeof(RequiredMemberAttribute)), $"{t.Name} has required members (breaks where T : new())");
            // What a sweep does: T : new(), then set properties.
            var made = typeof(PublicSurfaceTests).GetMethod(nameof(Make), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(t).Invoke(null, null);
            Assert.IsType(t, made);
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.Name == "Seed"))
                Assert.Equal(typeof(int?), p.PropertyType);
            // Every setting of an estimator's options is a property a sweep can set after new T(): a public, non-init setter.
            if (!EstimatorOptions.Contains(t)) continue;
            foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                var set = p.SetMethod;
                Assert.True(set is { IsPublic: true }, $"{t.Name}.{p.Name} has no public setter");
                Assert.False(set!.ReturnParameter.GetRequiredCustomModifiers().Contains(typeof(IsExternalInit)), $"{t.Name}.{p.Name} is init-only");
            }
        }
        // The check sees every estimator's options (the catalog methods' and constructors' options parameters).
        Assert.Equal(["EmbeddingAdapterOptions", "EmbeddingQuantizerOptions", "OLinearOptions", "OrthoResidualOptions", "OrthoRidgeOptions", "OrthoTransOptions",
            "OrthogonalRandomFeaturesOptions", "TextEmbeddingOptions"], EstimatorOptions.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.Subset(options.ToHashSet(), EstimatorOptions);
    }

    private static bool IsEstimator(Type t) => t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(Microsoft.ML.IEstimator<>));

    /// <summary>Options types that a public catalog method returning an estimator, or an estimator's constructor, takes.</summary>
    private static HashSet<Type> EstimatorOptions => PublicTypes
        .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static).Where(m => m.IsDefined(typeof(ExtensionAttribute)) && IsEstimator(m.ReturnType))
            .Cast<MethodBase>().Concat(IsEstimator(t) ? t.GetConstructors() : []))
        .SelectMany(m => m.GetParameters()).Select(p => p.ParameterType)
        .Where(t => t.IsClass && t.Name.EndsWith("Options", StringComparison.Ordinal) && t.Assembly != typeof(Microsoft.ML.MLContext).Assembly)
        .ToHashSet();

    [Fact]
    public void EveryPublicEstimatorConstructorTakesTheEnvironmentFirst()
    {
        // ML.NET's convention: new XEstimator(IHostEnvironment env, ...); the catalogs pass their context's environment.
        var estimators = PublicTypes.Where(t => !t.IsInterface && t.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(Microsoft.ML.IEstimator<>))).ToArray();
        Assert.True(estimators.Length >= 9, $"found only {estimators.Length} estimators");
        foreach (var t in estimators)
            foreach (var c in t.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance).Where(Visible))
                Assert.True(c.GetParameters() is [{ ParameterType: var first }, ..] && first == typeof(Microsoft.ML.Runtime.IHostEnvironment),
                    $"{t.Name}({string.Join(", ", c.GetParameters().Select(p => p.ParameterType.Name))}) does not take IHostEnvironment first");
    }

    private static T Make<T>() where T : new() => new();

    [Fact]
    public void NamespacesFollowFolders()
    {
        // Public types live in MLTransforms (catalogs) or MLTransforms.<Folder>[.<Sub>] of their assembly.
        string[] allowed = ["MLTransforms", "MLTransforms.Core.Numerics", "MLTransforms.Core.Pipeline", "MLTransforms.Core.Onnx", "MLTransforms.Rotations",
            "MLTransforms.TimeSeries", "MLTransforms.TimeSeries.OLinear", "MLTransforms.Embeddings", "MLTransforms.Quantization", "MLTransforms.Onnx", "MLTransforms.Evaluation"];
        var stray = PublicTypes.Where(t => !allowed.Contains(t.Namespace)).Select(t => t.FullName).ToArray();
        Assert.True(stray.Length == 0, "Types outside the layout's namespaces: " + string.Join(", ", stray));
    }
}
