namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// Where a gradient-descent replay says how far it has come, for a display (`resode verify --progress`): <see cref="Replay"/>
/// and <see cref="BlockReplay"/> call the sink on the replaying thread at every iterate with the run (its directory, or null
/// where the replay is not told it), the iterate and the run's last iterate (the stretch's where the replay is not told the
/// run's; a replay of a stretch is reported as a part of the whole run, and one that stops early simply stops reporting).
/// The sink flows with the execution context of whoever sets it (a verification sets it around its work), so another
/// verification in the same process does not see it; null, the default: nothing is reported. It is read once per replayed
/// stretch and changes no number: a sink that throws (a closed or full stderr) is dropped for the rest of the stretch
/// (<see cref="TryReport"/>), and the replay goes on as without it.
/// </summary>
public static class ReplayProgress
{
    private static readonly AsyncLocal<Action<string?, int, int>?> s_sink = new();

    /// <summary>Calls <paramref name="sink"/>; false when it threw (the caller then stops calling it), so that a display's
    /// failure never reaches the replay.</summary>
    public static bool TryReport(Action<string?, int, int> sink, string? run, int iterate, int last)
    {
        try { sink(run, iterate, last); return true; }
        catch (Exception) { return false; }
    }

    /// <summary>The sink of the current execution context (null: none).</summary>
    public static Action<string?, int, int>? Sink
    {
        get => s_sink.Value;
        set => s_sink.Value = value;
    }
}
