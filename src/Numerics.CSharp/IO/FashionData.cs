using ResOdeProofs.Numerics.Model;

namespace ResOdeProofs.Numerics.IO;

/// <summary>
/// Fashion-MNIST prepared for the residual network of the theory: a class-balanced subset, pixels
/// scaled to [0, 1], a fixed embedding A = G/√784 with G a Gaussian d×784 matrix (a random
/// projection: data-independent, reproducible from the seed, and approximately distance-preserving
/// by the Johnson–Lindenstrauss lemma, so the embedding does not learn from the data), one-hot
/// targets in R^10 and the fixed read-out B = [I_10 0] (the first ten coordinates of h_L), trained
/// with the squared loss of the theory.
/// </summary>
public sealed record FashionData(Dataset Train, Dataset Test, double[] A, double[] B, int[] TrainLabels, int[] TestLabels, string Description)
{
    /// <summary>Builds the subset: <paramref name="perClassTrain"/> and <paramref name="perClassTest"/> images per class, chosen by the seed.</summary>
    public static FashionData Prepare(FashionMnist data, int perClassTrain, int perClassTest, int dim, long seed)
    {
        if (dim < 10) throw new ArgumentException($"the state dimension d must be at least 10 to hold the 10 class scores (got {dim})");
        var rng = Random.Rng.ForStream(seed, "fashion");
        var a = new double[dim * 784];
        rng.FillGaussian(a, 1.0 / Math.Sqrt(784));
        var b = new double[10 * dim];
        for (int c = 0; c < 10; c++) b[c * dim + c] = 1.0;
        var (train, trainLabels) = Subset(data.TrainImages, data.TrainLabels, perClassTrain, rng, "training");
        var (test, testLabels) = Subset(data.TestImages, data.TestLabels, perClassTest, rng, "test");
        return new FashionData(train, test, a, b, trainLabels, testLabels,
            $"Fashion-MNIST: {perClassTrain}/class train, {perClassTest}/class test, pixels/255, random projection A (d = {dim}, N(0, 1/784)), B = [I_10 0], one-hot targets, seed {seed}");
    }

    private static (Dataset, int[]) Subset(IdxArray images, IdxArray labels, int perClass, Random.Rng rng, string what)
    {
        var byClass = Enumerable.Range(0, 10).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < labels.Data.Length; i++) byClass[labels.Data[i]].Add(i);
        var chosen = new List<int>();
        for (int c = 0; c < 10; c++)
        {
            var idx = byClass[c];
            if (idx.Count < perClass) throw new ArgumentException($"the {what} set has only {idx.Count} images of class {c}; ask for at most that many per class");
            for (int i = 0; i < perClass; i++) // partial Fisher–Yates: the first perClass of a random permutation
            {
                int j = i + rng.NextInt(idx.Count - i);
                (idx[i], idx[j]) = (idx[j], idx[i]);
                chosen.Add(idx[i]);
            }
        }
        int n = chosen.Count;
        var x = new double[n * 784]; var y = new double[n * 10]; var lab = new int[n];
        for (int s = 0; s < n; s++)
        {
            int i = chosen[s];
            for (int p = 0; p < 784; p++) x[s * 784 + p] = images.Data[i * 784 + p] / 255.0;
            lab[s] = labels.Data[i];
            y[s * 10 + lab[s]] = 1.0;
        }
        return (new Dataset(n, 784, 10, x, y), lab);
    }

    /// <summary>Fraction of samples whose largest output F(x) = B h_L is at the true class.</summary>
    public static double Accuracy(NetworkShape shape, ActivationKind act, Dataset data, int[] labels, double[] a, double[] b, double[] w, double[] v)
    {
        var net = new ResNet<double>(shape, act, data, a, b);
        net.Evaluate(w, v, Span<double>.Empty, Span<double>.Empty);
        var h = net.HiddenStates;
        int n = data.Count, d = shape.Dim, L = shape.Depth, correct = 0;
        for (int i = 0; i < n; i++)
        {
            var hl = h.Slice((L * n + i) * d, d);
            int best = 0; double bestVal = double.NegativeInfinity;
            for (int c = 0; c < 10; c++)
            {
                double s = 0;
                for (int r = 0; r < d; r++) s += b[c * d + r] * hl[r];
                if (s > bestVal) { bestVal = s; best = c; }
            }
            if (best == labels[i]) correct++;
        }
        return (double)correct / n;
    }
}
