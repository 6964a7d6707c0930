namespace ResOdeProofs.Numerics; public static class EngineInfo { public const string Version = "0.1.0"; }
