/// The property attribute of the suite: FsCheck.Xunit's PropertyAttribute whose number of cases follows
/// the profile (RESODE_PROPERTY_PROFILE). Attribute arguments are compile-time constants, so the default
/// count is a constructor argument and the profile is applied in the constructor: `[<ProfiledProperty(20,
/// Replay = "(777,31337)")>]` runs 20 cases in the default profile and `Generators.cases 20` (200) in the
/// long one. The Replay seed is fixed on every property; `ReplaySeeds` prints them all into the test output
/// and checks that no property escapes the profile or runs with a random seed.
module ResOdeProofs.Properties.Profile

open System
open System.Reflection
open Xunit
open Xunit.Abstractions
open FsCheck.Xunit
open ResOdeProofs.Properties.Generators

/// A property whose MaxTest is `Generators.cases defaultCases` (default profile: defaultCases; long: 10x).
/// Setting MaxTest explicitly in the attribute usage would override the profile: don't.
[<AttributeUsage(AttributeTargets.Method ||| AttributeTargets.Property, AllowMultiple = false)>]
type ProfiledPropertyAttribute(defaultCases: int) as this =
    inherit PropertyAttribute()
    do this.MaxTest <- cases defaultCases
    /// The number of cases in the default profile.
    member _.DefaultCases = defaultCases

let private typeName (m: MethodInfo) =
    match m.DeclaringType with
    | null -> ""
    | t -> t.Name

/// Every property method of this assembly with its attribute.
let properties () =
    Assembly.GetExecutingAssembly().GetTypes()
    |> Array.collect (fun t -> t.GetMethods(BindingFlags.Public ||| BindingFlags.NonPublic ||| BindingFlags.Static ||| BindingFlags.Instance ||| BindingFlags.DeclaredOnly))
    |> Array.choose (fun m ->
        match m.GetCustomAttribute<PropertyAttribute>() with
        | null -> None
        | a -> Some(m, a))
    |> Array.sortBy (fun (m, _) -> typeName m, m.Name)

/// Prints the replay seed and case count of every property (visible in the test output and in the
/// CI's result files), and requires a fixed seed and the profiled attribute everywhere.
type ReplaySeeds(output: ITestOutputHelper) =
    [<Fact>]
    member _.``every property runs with the profile's case count and a fixed, printed replay seed``() =
        let props = properties ()
        output.WriteLine(sprintf "RESODE_PROPERTY_PROFILE=%s: %d properties" profile props.Length)
        for (m, a) in props do
            output.WriteLine(sprintf "  %s.%s: Replay = \"%s\", MaxTest = %d" (typeName m) m.Name a.Replay a.MaxTest)
        Assert.NotEmpty props
        for (m, a) in props do
            Assert.True(a :? ProfiledPropertyAttribute, sprintf "%s: use [<ProfiledProperty(n, Replay = ...)>] so that the long profile applies" m.Name)
            Assert.False(String.IsNullOrWhiteSpace a.Replay, sprintf "%s: no fixed Replay seed" m.Name)
            Assert.Equal(cases (a :?> ProfiledPropertyAttribute).DefaultCases, a.MaxTest)
