// The activation names of model configs, without the functions (Layers/Activations.swift), so
// that config decoding compiles without the engine (Fuzz/model_config).

import Foundation

/// The activations model configs name (transformers' `ACT2FN` keys), parsed once: an unknown
/// name is an error, never a silent substitute.
public enum Activation: String, StrictStringEnum {
    case identity
    case gelu
    case geluTanh = "gelu_pytorch_tanh"
    case quickGELU = "quick_gelu"
    case relu
    case silu
    case tanh
    case hardSwish = "hardswish"

    public static var aliases: [String: Activation] {
        ["linear": .identity, "gelu_new": .geluTanh, "swish": .silu, "hard_swish": .hardSwish]
    }
}
