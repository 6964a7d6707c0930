// TEMPORARY stub until the activations branch lands.
namespace ResOdeProofs.Numerics;
public enum ActivationKind { Gelu, Tanh, Softplus, Relu, Identity }
public sealed record ActivationConstants(double S0, double S1, double? S2, double S1ArgMax, double? S2ArgMax, string Derivation);
public static class Activations {
  public static ActivationKind Parse(string name) => Enum.Parse<ActivationKind>(name, true);
  public static string Name(ActivationKind k) => k.ToString().ToLowerInvariant();
  public static bool IsTwiceDifferentiable(ActivationKind k) => k != ActivationKind.Relu;
  public static double Value(ActivationKind k, double u) => k switch { ActivationKind.Tanh => Math.Tanh(u), ActivationKind.Relu => Math.Max(0,u), ActivationKind.Identity => u, ActivationKind.Softplus => Math.Log(1+Math.Exp(u)), _ => u*0.5*(1+Math.Tanh(u)) };
  public static double Derivative(ActivationKind k, double u) => k switch { ActivationKind.Tanh => 1-Math.Tanh(u)*Math.Tanh(u), ActivationKind.Relu => u>0?1:0, ActivationKind.Identity => 1, ActivationKind.Softplus => 1/(1+Math.Exp(-u)), _ => 0.5*(1+Math.Tanh(u)) + u*0.5*(1-Math.Tanh(u)*Math.Tanh(u)) };
  public static double SecondDerivative(ActivationKind k, double u) => 0;
  public static void Evaluate(ActivationKind k, ReadOnlySpan<double> u, Span<double> value, Span<double> derivative) { for (int i=0;i<u.Length;i++){ var x=u[i]; value[i]=Value(k,x); derivative[i]=Derivative(k,x);} }
  public static void Evaluate(ActivationKind k, ReadOnlySpan<float> u, Span<float> value, Span<float> derivative) { for (int i=0;i<u.Length;i++){ var x=u[i]; value[i]=(float)Value(k,x); derivative[i]=(float)Derivative(k,x);} }
  public static ActivationConstants Constants(ActivationKind k) => new(0,1,1,0,0,"stub");
}
