/// The one style of a test's displayed name, `subject: setting → outcome` (the subject a result id or the component
/// under test, without a colon; the setting the input or hypothesis; the outcome the expected verdict or property),
/// checked on every test of this suite: an F# test carries it as its backtick name, or as the attribute's DisplayName.
/// The C# test projects check themselves with the same rule (tests/Shared/TestNames.cs).
module ResOdeProofs.Properties.TestNames

open System
open System.Reflection
open System.Text.RegularExpressions
open Xunit

/// A subject without a colon, ": ", a setting, " → ", an outcome, on one trimmed line.
let style = Regex(@"^[^\s:][^:\r\n]*: [^\r\n]+ → [^\r\n]*\S$", RegexOptions.CultureInvariant)

/// A test as the runner lists it: its class (or module), its method, the attribute's display name if any.
type TestMethod = { Class: string; Method: string; DisplayName: string option }

/// The name the runner shows: the display name if given, else the method's (backtick) name.
let shown (t: TestMethod) = defaultArg t.DisplayName t.Method

/// Why a name is not in the style, or None when it is.
let problem (name: string) : string option =
    if style.IsMatch name then None
    elif name.Trim().Length <> name.Length || name.Contains '\n' || name.Contains '\r' then Some "not one trimmed line"
    else
        let colon = name.IndexOf(": ", StringComparison.Ordinal)
        if colon <= 0 then Some "no \"subject: \" at the start"
        elif name.IndexOf ':' < colon then Some "a colon inside the subject"
        else
            let arrow = name.IndexOf(" → ", colon, StringComparison.Ordinal)
            if arrow < 0 then Some "no \" → outcome\" after the setting"
            elif arrow = colon + 1 then Some "no setting between \"subject: \" and \" → \""
            else Some "not \"subject: setting → outcome\""

/// Every test whose shown name is not in the style, and every shown name two tests of one class share, one line each.
let violations (tests: TestMethod seq) : string list =
    [ for cls, inClass in tests |> Seq.groupBy (fun t -> t.Class) do
        for t in inClass do
            match problem (shown t) with
            | Some why -> yield sprintf "%s.%s: \"%s\": %s" t.Class t.Method (shown t) why
            | None -> ()
        for name, same in inClass |> Seq.groupBy shown do
            if Seq.length same > 1 then
                yield sprintf "%s: \"%s\" is the name of %s" cls name (same |> Seq.map (fun t -> t.Method) |> String.concat ", ") ]

/// Every test method of an assembly: a method carrying Fact or an attribute derived from it (Theory, FsCheck's Property).
let ofAssembly (a: Assembly) : TestMethod list =
    [ for t in a.GetTypes() do
        for m in t.GetMethods(BindingFlags.Public ||| BindingFlags.NonPublic ||| BindingFlags.Static ||| BindingFlags.Instance ||| BindingFlags.DeclaredOnly) do
            match m.GetCustomAttribute<FactAttribute>(true) with
            | null -> ()
            | f -> yield { Class = (match t.FullName with null -> t.Name | n -> n); Method = m.Name; DisplayName = Option.ofObj f.DisplayName } ]

type private Marker = class end

[<Fact>]
let ``Test names: every test of this assembly → subject: setting → outcome, unique in its class`` () =
    let tests = ofAssembly typeof<Marker>.Assembly
    // the reflection sees the tests (this one and the properties among them), so an empty list cannot pass for a clean one
    Assert.True(tests |> List.exists (fun t -> t.Method = "Test names: every test of this assembly → subject: setting → outcome, unique in its class"), "this test was not found")
    // FsCheck's properties are tests too: every one the profile lists is among them
    let props = Profile.properties ()
    Assert.NotEmpty props
    for m, _ in props do
        Assert.True(tests |> List.exists (fun t -> t.Method = m.Name), sprintf "the property %s was not found" m.Name)
    let bad = violations tests
    Assert.True(bad.IsEmpty, sprintf "%d of %d tests break the naming rule:\n%s" bad.Length tests.Length (String.concat "\n" bad))

[<Fact>]
let ``Test names: no subject, a colon in the subject, no setting, no arrow, not one trimmed line, or one name twice in a class → each reported`` () =
    let good = { Class = "C"; Method = "M0"; DisplayName = Some "Npy.Write: a float64 vector → version 1 header" }
    // in the style: a backtick name without a display name, a setting holding a colon, one name in two classes
    Assert.Empty(violations [ good; { good with Class = "D" }; { Class = "C"; Method = "E.init: tied run → holds"; DisplayName = None }
                              { Class = "C"; Method = "M3"; DisplayName = Some "verify: run.json says \"dtype: f4\" → float32 read" } ])
    for name, why in [ "mutation score is 4 of 4", "no \"subject: \""
                       "B rows on a failed solve → hypothesis not met", "no \"subject: \""
                       "convWithin", "no \"subject: \""
                       "resode:verify: a run → exit 0", "a colon inside the subject"
                       "resode --help: → lists the exit codes", "no setting"
                       "oncePerRun: a value is kept; a cancellation is not", "no \" → outcome\""
                       "A.rate: two depths → ", "not one trimmed line"
                       "A.rate: two depths →  ", "not one trimmed line"
                       "A.rate: two depths\n→ hypothesis not met", "not one trimmed line" ] do
        let found = violations [ good; { Class = "C"; Method = "M1"; DisplayName = Some name } ]
        Assert.True(found.Length = 1 && found.Head.Contains "C.M1" && found.Head.Contains why, sprintf "\"%s\": %s" name (String.concat " | " found))
    let twice = violations [ good; { good with Method = "M2" } ]
    Assert.True(twice.Length = 1 && twice.Head.Contains "M0, M2", String.concat " | " twice)
