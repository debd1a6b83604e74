// Activation functions and dropout, as functions and as layers.

import Foundation
import MLXEngine

// MARK: - Functions

/// GELU, exact (erf) form (``MLXEngine/exactGELU(_:)``: ocrtune's vectorized kernel in float32 on the CPU).
public func gelu(_ x: MLXArray) -> MLXArray { exactGELU(x) }

/// GELU, tanh approximation (`gelu_new` / `gelu_pytorch_tanh`).
public func geluApproximate(_ x: MLXArray) -> MLXArray {
    x * 0.5 * (1 + tanh((x + x * x * x * 0.044715) * (2 / Double.pi).squareRoot()))
}

public func silu(_ x: MLXArray) -> MLXArray { x * sigmoid(x) }
public func relu(_ x: MLXArray) -> MLXArray { maximum(x, x.scalar0) }
public func relu6(_ x: MLXArray) -> MLXArray { minimum(maximum(x, x.scalar0), x.scalar0 + 6) }

/// `clip(slope·x + offset, 0, 1)`; PyTorch uses slope 1/6, Paddle's default is 1/6 too.
public func hardSigmoid(_ x: MLXArray, slope: Double = 1.0 / 6, offset: Double = 0.5) -> MLXArray {
    minimum(maximum(x * slope + offset, x.scalar0), x.scalar0 + 1)
}

public func hardSwish(_ x: MLXArray) -> MLXArray { x * hardSigmoid(x) }

extension MLXArray {
    /// A zero of this array's dtype.
    var scalar0: MLXArray { self.scalar(0) }
}

public func quickGELU(_ x: MLXArray) -> MLXArray { x * sigmoid(x * 1.702) }

extension Activation {
    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        switch self {
        case .identity: x
        case .gelu: MLXNN.gelu(x)
        case .geluTanh: geluApproximate(x)
        case .quickGELU: MLXNN.quickGELU(x)
        case .relu: MLXNN.relu(x)
        case .silu: MLXNN.silu(x)
        case .tanh: MLXEngine.tanh(x)
        case .hardSwish: MLXNN.hardSwish(x)
        }
    }
}

// MARK: - Layers

public final class GELU: Module, UnaryLayer {
    public enum Approximation { case none, tanh }
    public let approximation: Approximation
    public init(approximation: Approximation = .none) {
        self.approximation = approximation
        super.init()
    }
    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        approximation == .none ? gelu(x) : geluApproximate(x)
    }
}

public final class SiLU: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: MLXArray) -> MLXArray { silu(x) }
}

public final class ReLU: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: MLXArray) -> MLXArray { relu(x) }
}

public final class HardSwish: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: MLXArray) -> MLXArray { hardSwish(x) }
}

public final class HardSigmoid: Module, UnaryLayer {
    public let slope: Double
    public let offset: Double
    public init(slope: Double = 1.0 / 6, offset: Double = 0.5) {
        self.slope = slope
        self.offset = offset
        super.init()
    }
    public func callAsFunction(_ x: MLXArray) -> MLXArray { hardSigmoid(x, slope: slope, offset: offset) }
}

public final class Sigmoid: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: MLXArray) -> MLXArray { MLXEngine.sigmoid(x) }
}

public final class Tanh: Module, UnaryLayer {
    public override init() { super.init() }
    public func callAsFunction(_ x: MLXArray) -> MLXArray { MLXEngine.tanh(x) }
}

// MARK: - Dropout

/// Zeroes elements with probability `p` in training mode and rescales the rest by 1/(1−p)
/// (``MLXEngine/dropout(_:p:key:)``: ocrtune's kernel on the CPU). Draws one key of the global
/// generator per call (seed it with ``MLXRandom/seed(_:)`` for reproducible runs).
public final class Dropout: Module, UnaryLayer {
    public let p: Float

    public init(p: Float = 0.5) {
        precondition((0 ..< 1).contains(p), "dropout probability must be in [0, 1)")
        self.p = p
        super.init()
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        guard training, p > 0 else { return x }
        return MLXEngine.dropout(x, p: p)
    }
}

// MARK: - Sequential

/// Layers applied in order; keys are `0`, `1`, ... as torch.nn.Sequential.
public final class Sequential: Module, UnaryLayer {
    public let layers: [Module]

    public init(_ layers: [Module]) {
        precondition(layers.allSatisfy { $0 is UnaryLayer }, "Sequential takes unary layers")
        self.layers = layers
        super.init()
    }

    public override func items() -> [(key: String, item: ModuleItem)] {
        layers.enumerated().map { ("\($0.offset)", .module($0.element)) }
    }

    public func callAsFunction(_ x: MLXArray) -> MLXArray {
        layers.reduce(x) { ($1 as! UnaryLayer)($0) }
    }
}
