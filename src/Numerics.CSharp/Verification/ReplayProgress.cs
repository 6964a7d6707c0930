namespace ResOdeProofs.Numerics.Verification;

/// <summary>
/// Where a gradient-descent replay says how far it has come, for a display (`resode verify --progress`): <see cref="Replay"/>
/// and <see cref="BlockReplay"/> call the sink on the replaying thread at every iterate with the run (its directory, or null
/// where the replay is not told it), the iterate and the run's last iterate (the stretch's where the replay is not told the
/// run's; a replay of a stretch is reported as a part of the whole run, and one that stops early simply stops reporting).
/// The sink flows with the execution context of whoever sets it (a verification sets it around its work), so another
/// verification in the same process does not see it; null, the default: nothing is reported. It is read once per replayed
/// stretch and changes no number.
/// </summary>
public static class ReplayProgress
{
    private static readonly AsyncLocal<Action<string?, int, int>?> s_sink = new();

    /// <summary>The sink of the current execution context (null: none).</summary>
    public static Action<string?, int, int>? Sink
    {
        get => s_sink.Value;
        set => s_sink.Value = value;
    }
}
