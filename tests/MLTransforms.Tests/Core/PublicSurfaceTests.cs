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
            {
                Assert.Equal(typeof(int?), p.PropertyType);
                Assert.True(p.CanWrite, $"{t.Name}.Seed is read-only");
            }
        }
    }

    private static T Make<T>() where T : new() => new();

    [Fact]
    public void NamespacesFollowFolders()
    {
        // Public types live in MLTransforms (catalogs) or MLTransforms.<Folder>[.<Sub>] of their assembly.
        string[] allowed = ["MLTransforms", "MLTransforms.Core.Numerics", "MLTransforms.Core.Pipeline", "MLTransforms.Core.Onnx", "MLTransforms.Rotations",
            "MLTransforms.TimeSeries", "MLTransforms.TimeSeries.OLinear", "MLTransforms.Embeddings", "MLTransforms.Onnx", "MLTransforms.Evaluation"];
        var stray = PublicTypes.Where(t => !allowed.Contains(t.Namespace)).Select(t => t.FullName).ToArray();
        Assert.True(stray.Length == 0, "Types outside the layout's namespaces: " + string.Join(", ", stray));
    }
}
