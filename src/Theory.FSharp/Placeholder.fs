module ResOdeProofs.Theory.Placeholder
let version = "0.1.0"
