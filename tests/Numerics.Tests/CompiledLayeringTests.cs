using System.Reflection;
using System.Reflection.Emit;
using System.Text.RegularExpressions;
using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.Numerics.Tests;

/// <summary>
/// The engine's one-way folder order (<see cref="FolderLayeringTests.Layers"/>) checked on the compiled assembly: every
/// type the engine's code touches (base types, interfaces, fields, signatures and every type, method and field token in
/// the method bodies, closures and iterators included) belongs to the type's own folder or one below it. The source
/// check reads what is written; this one reads what is compiled, so no implicit or aliased reference escapes. A folder's
/// types live in its namespace (the source check enforces that too), so a type's namespace names its folder.
/// </summary>
public class CompiledLayeringTests
{
    private const string Root = "ResOdeProofs.Numerics";
    private const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>The folder a type of the engine belongs to (by its namespace), null for a type outside the engine. The
    /// engine's root namespace holds σ and the build identity: the bottom layer, with Activations.</summary>
    internal static string? Folder(Type t)
    {
        while (t.IsNested) t = t.DeclaringType!;
        if (t.Assembly != typeof(TrainOptions).Assembly || t.Namespace is not string ns) return null;
        if (ns == Root) return FolderLayeringTests.Layers[0];
        var m = Regex.Match(ns, @"^ResOdeProofs\.Numerics\.(\w+)");
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>The type and the types it is built from (array elements, generic arguments, pointers, by-refs).</summary>
    private static IEnumerable<Type> Constituents(Type? t)
    {
        if (t is null || t.IsGenericParameter) yield break;
        yield return t;
        if (t.HasElementType) foreach (var e in Constituents(t.GetElementType())) yield return e;
        if (t.IsGenericType) foreach (var a in t.GetGenericArguments()) foreach (var e in Constituents(a)) yield return e;
    }

    /// <summary>Every type a method's signature and body name.</summary>
    internal static IEnumerable<Type> Touched(MethodBase m)
    {
        if (m is MethodInfo mi) foreach (var t in Constituents(mi.ReturnType)) yield return t;
        foreach (var p in m.GetParameters()) foreach (var t in Constituents(p.ParameterType)) yield return t;
        var body = m.GetMethodBody();
        if (body is null) yield break;
        foreach (var local in body.LocalVariables) foreach (var t in Constituents(local.LocalType)) yield return t;
        var il = body.GetILAsByteArray()!;
        Type[]? typeArgs = m.DeclaringType is { IsGenericType: true } dt ? dt.GetGenericArguments() : null;
        Type[]? methodArgs = m.IsGenericMethod ? m.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            short code = il[i++];
            if (code == 0xFE) code = unchecked((short)(0xFE00 | il[i++]));
            var op = OpCodesByValue[code];
            switch (op.OperandType)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget: case OperandType.ShortInlineI: case OperandType.ShortInlineVar: i += 1; break;
                case OperandType.InlineVar: i += 2; break;
                case OperandType.InlineI8: case OperandType.InlineR: i += 8; break;
                case OperandType.InlineSwitch: i += 4 + 4 * BitConverter.ToInt32(il, i); break;
                case OperandType.InlineType: case OperandType.InlineTok: case OperandType.InlineMethod: case OperandType.InlineField:
                    var member = m.Module.ResolveMember(BitConverter.ToInt32(il, i), typeArgs, methodArgs);
                    i += 4;
                    if (member is Type type) { foreach (var t in Constituents(type)) yield return t; }
                    else if (member is not null)
                    {
                        foreach (var t in Constituents(member.DeclaringType)) yield return t;
                        if (member is MethodInfo { IsGenericMethod: true } g)
                            foreach (var a in g.GetGenericArguments()) foreach (var t in Constituents(a)) yield return t;
                        if (member is FieldInfo f) foreach (var t in Constituents(f.FieldType)) yield return t;
                    }
                    break;
                default: i += 4; break; // InlineI, InlineBrTarget, InlineString, InlineSig, ShortInlineR
            }
        }
    }

    /// <summary>Every type that <paramref name="type"/>'s declaration and code touch.</summary>
    internal static IEnumerable<Type> Touched(Type type)
    {
        foreach (var t in Constituents(type.BaseType)) yield return t;
        foreach (var i in type.GetInterfaces()) foreach (var t in Constituents(i)) yield return t;
        foreach (var f in type.GetFields(All)) foreach (var t in Constituents(f.FieldType)) yield return t;
        foreach (var p in type.GetProperties(All)) foreach (var t in Constituents(p.PropertyType)) yield return t;
        foreach (var m in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
            foreach (var t in Touched(m)) yield return t;
    }

    /// <summary>Each (type, touched type) pair whose touched type sits in a folder above the type's own.</summary>
    internal static List<string> Upward(IEnumerable<Type> types, Func<Type, string?>? folderOf = null)
    {
        folderOf ??= Folder;
        var found = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            if (folderOf(type) is not string own) continue;
            int ownRank = Array.IndexOf(FolderLayeringTests.Layers, own);
            foreach (var t in Touched(type))
                if (Folder(t) is string other && Array.IndexOf(FolderLayeringTests.Layers, other) > ownRank)
                    found.Add($"{type.FullName} ({own}) uses {t.FullName} ({other})");
        }
        return found.ToList();
    }

    [Fact(DisplayName = "Engine folders: every compiled engine type → touches no type of a folder above its own")]
    public void CompiledEngineHasNoUpwardReference()
    {
        var types = typeof(TrainOptions).Assembly.GetTypes();
        var unplaced = types.Where(t => !t.IsNested && t.Namespace is not null && t.Namespace.StartsWith(Root, StringComparison.Ordinal)
                                        && Array.IndexOf(FolderLayeringTests.Layers, Folder(t)) < 0).Select(t => t.FullName).ToList();
        Assert.True(unplaced.Count == 0, "engine namespaces not in the folder order: " + string.Join(", ", unplaced));
        Assert.True(types.Length > 100, $"only {types.Length} engine types found");
        var violations = Upward(types);
        Assert.True(violations.Count == 0, string.Join("; ", violations));
    }

    /// <summary>A test-only stand-in for a lower folder's type that reaches up: this method's body builds a training
    /// option (Training), as a Model type must not.</summary>
    private static object ReachesUp() => new TrainOptions(ActivationKind.Tanh, 0.1, 1);

    [Fact(DisplayName = "Engine folders: a method body that builds a Training type, read as a Model type's → found")]
    public void UpwardBodyReferenceIsFound()
    {
        var m = typeof(CompiledLayeringTests).GetMethod(nameof(ReachesUp), All)!;
        Assert.Contains(Touched(m), t => t == typeof(TrainOptions));
        var asModel = Upward(new[] { typeof(CompiledLayeringTests) }, t => t == typeof(CompiledLayeringTests) ? "Model" : Folder(t));
        Assert.Contains(asModel, v => v.Contains("TrainOptions (Training)", StringComparison.Ordinal));
        var asVerification = Upward(new[] { typeof(CompiledLayeringTests) }, t => t == typeof(CompiledLayeringTests) ? "Verification" : Folder(t));
        Assert.Empty(asVerification);
    }

    [Fact(DisplayName = "Engine folders: the IO writer (IO) touching TrainRecord (Training) → not upward; a Training type → touches no IO type")]
    public void DownwardPairIsAllowed()
    {
        var io = typeof(IO.RunDirectory);
        Assert.Contains(Touched(io), t => t == typeof(TrainRecord));
        Assert.Empty(Upward(new[] { io }));
        Assert.Empty(Upward(new[] { typeof(TrainRecord), typeof(Parameters) }));
    }
}
