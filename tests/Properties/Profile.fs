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

/// Why a Replay text cannot be replayed, or None if it can. FsCheck reads "(seed,gamma)" or "(seed,gamma,size)" into
/// its SplitMix generator, whose gamma must be odd; an even gamma (or an unreadable text) makes FsCheck throw while it
/// sets the property up, outside the test, which crashes the whole test host.
let replayProblem (replay: string | null) : string option =
    match replay with
    | null -> Some "no Replay seed"
    | r ->
        let parts = r.Trim().TrimStart('(').TrimEnd(')').Split(',') |> Array.map (fun x -> x.Trim())
        let num (x: string) = match UInt64.TryParse x with | true, v -> Some v | _ -> None
        match parts |> Array.map num with
        | [| Some _; Some g |] | [| Some _; Some g; Some _ |] when g % 2UL = 1UL -> None
        | [| Some _; Some g |] | [| Some _; Some g; Some _ |] -> Some(sprintf "Replay \"%s\": the second number (FsCheck's gamma, %d) must be odd" r g)
        | _ -> Some(sprintf "Replay \"%s\" is not \"(seed,gamma)\" with two non-negative integers" r)

/// A property whose MaxTest is `Generators.cases defaultCases` (default profile: defaultCases; long: 10x).
/// Setting MaxTest explicitly in the attribute usage would override the profile: don't.
/// Its Replay hides FsCheck's: a seed FsCheck cannot replay is never handed to FsCheck (which would crash the test
/// host); the property is skipped with the reason instead, and `ReplaySeeds` fails naming it.
[<AttributeUsage(AttributeTargets.Method ||| AttributeTargets.Property, AllowMultiple = false)>]
type ProfiledPropertyAttribute(defaultCases: int) as this =
    inherit PropertyAttribute()
    let mutable replay : string | null = null
    do this.MaxTest <- cases defaultCases
    /// The number of cases in the default profile.
    member _.DefaultCases = defaultCases
    /// The seed as written in the attribute (ReplaySeeds checks it).
    member _.GivenReplay = replay
    /// The fixed seed "(seed,gamma)", gamma odd; an unusable one leaves FsCheck's Replay unset and skips the property.
    member _.Replay
        with get () = replay
        and set (v: string | null) =
            replay <- v
            match replayProblem v with
            | None -> base.Replay <- v
            | Some why -> base.Replay <- null; this.Skip <- why

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
    member _.``properties: every property → the profile's case count and a fixed, printed replay seed``() =
        let props = properties ()
        output.WriteLine(sprintf "RESODE_PROPERTY_PROFILE=%s: %d properties" profile props.Length)
        for (m, a) in props do
            output.WriteLine(sprintf "  %s.%s: Replay = \"%s\", MaxTest = %d" (typeName m) m.Name a.Replay a.MaxTest)
        Assert.NotEmpty props
        for (m, a) in props do
            Assert.True(a :? ProfiledPropertyAttribute, sprintf "%s: use [<ProfiledProperty(n, Replay = ...)>] so that the long profile applies" m.Name)
            let pa = a :?> ProfiledPropertyAttribute
            Assert.True((replayProblem pa.GivenReplay).IsNone, sprintf "%s: %s" m.Name (defaultArg (replayProblem pa.GivenReplay) ""))
            Assert.Equal(cases pa.DefaultCases, a.MaxTest)

    [<Fact>]
    member _.``ProfiledProperty: a seed FsCheck cannot replay → skipped with its reason, not handed to FsCheck``() =
        for bad in [ "(4242,2424)"; "(1,2,3)"; "4242"; "(a,b)" ] do
            let a = ProfiledPropertyAttribute(1, Replay = bad)
            Assert.True((a :> PropertyAttribute).Replay = null, sprintf "%s reached FsCheck" bad)
            Assert.False(String.IsNullOrEmpty a.Skip, sprintf "%s: not skipped" bad)
        let good = ProfiledPropertyAttribute(1, Replay = "(4242,2425)")
        Assert.Equal("(4242,2425)", (good :> PropertyAttribute).Replay)
        Assert.True(String.IsNullOrEmpty good.Skip)
