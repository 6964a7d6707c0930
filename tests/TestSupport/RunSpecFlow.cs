using ResOdeProofs.Numerics.Training;

namespace ResOdeProofs.TestSupport;

/// <summary>Builds gradient-flow runs from a <see cref="RunSpec"/> of the MLP spelled with W and V.</summary>
public static class RunSpecFlow
{
    /// <summary>
    /// The gradient flow of the spec's setting over [0, T] with T = η·N (the same horizon as the spec's
    /// gradient descent) on the uniform grid of N intervals, so that output j is at the time of iterate j.
    /// </summary>
    public static TrainRecord TrainFlow(this RunSpec spec, double rtol = 1e-8, double atol = 1e-10, double? horizon = null, double[]? outputTimes = null)
    {
        var opts = new FlowOptions(spec.Activation, horizon ?? spec.Eta * spec.Iterations, spec.Iterations)
        {
            Rtol = rtol, Atol = atol, Clip = spec.Clip, Snapshots = spec.Snapshots, SnapshotSteps = spec.SnapshotSteps,
            Fault = spec.Fault, OutputTimes = outputTimes,
        };
        return GradientFlow.Train(spec.Shape, spec.Data(), spec.InitialWeights(), opts, spec.Seed, spec.DataDescription);
    }
}
