// Linear and Embedding layers.

import Foundation
import MLXEngine

// MARK: - Protocol

/// A layer mapping one array to one array.
public protocol UnaryLayer: AnyObject {
    func callAsFunction(_ x: MLXArray) -> MLXArray
}

// MARK: - Linear

/// `y = x Wᵀ + b` with `weight` [out, in] and `bias` [out] (PyTorch layout).
open class Linear: Module, UnaryLayer {
    public let weight: MLXArray
    public let bias: MLXArray?

    /// PyTorch's default initialization: uniform(±1/√in).
    public init(_ inputDimensions: Int, _ outputDimensions: Int, bias: Bool = true, key: MLXArray? = nil) {
        let bound = Float(1 / Double(inputDimensions).squareRoot())
        let keys = MLXRandom.split(key ?? MLXRandom.key(UInt64.random(in: 0 ... .max)), count: 2)
        weight = MLXRandom.uniform([outputDimensions, inputDimensions], low: -bound, high: bound, key: keys[0])
        self.bias = bias ? MLXRandom.uniform([outputDimensions], low: -bound, high: bound, key: keys[1]) : nil
        super.init()
    }

    public init(weight: MLXArray, bias: MLXArray? = nil) {
        self.weight = weight
        self.bias = bias
        super.init()
    }

    open var inputDimensions: Int { weight.dim(1) }
    open var outputDimensions: Int { weight.dim(0) }

    open func callAsFunction(_ x: MLXArray) -> MLXArray {
        if let bias { return addMM(bias, x, weight.T) }
        return matmul(x, weight.T)
    }
}

// MARK: - Embedding

/// A lookup table `weight` [count, dimensions].
open class Embedding: Module, UnaryLayer {
    public let weight: MLXArray

    public init(count: Int, dimensions: Int, key: MLXArray? = nil) {
        weight = MLXRandom.normal([count, dimensions], key: key)
        super.init()
    }

    public init(weight: MLXArray) {
        self.weight = weight
        super.init()
    }

    open func callAsFunction(_ ids: MLXArray) -> MLXArray {
        weight.take(ids, axis: 0)
    }

    /// Logits against the table (tied output projection).
    public func asLinear(_ x: MLXArray) -> MLXArray {
        matmul(x, weight.T)
    }
}
