// Saving and loading a module's parameters as safetensors, and gradients of a module.

import Foundation
import MLXEngine

extension Module {
    /// Writes the parameters (all, or `only` these keys) to a safetensors file, atomically.
    public func saveParameters(to path: String, only keys: Set<String>? = nil, metadata: [String: String] = [:]) throws {
        var arrays: [String: MLXArray] = [:]
        for (k, a) in parameters() where keys?.contains(k) ?? true { arrays[k] = a }
        try saveSafeTensors(arrays, metadata: metadata, to: path)
    }

    /// Loads parameters from safetensors files by exact key match.
    @discardableResult
    public func loadParameters(from paths: [String], verify: LoadVerification = .all) throws -> ParameterLoadReport {
        var arrays: [String: MLXArray] = [:]
        for path in paths { arrays.merge(try loadSafeTensors(path: path).arrays) { a, _ in a } }
        let report = try update(parameters: arrays, verify: verify, source: paths.joined(separator: ", "))
        try eval(parameters().map(\.array))
        return report
    }
}

/// The loss of `model` and its gradients with respect to the trainable parameters.
public func valueAndGrad(
    model: Module, _ loss: @escaping () throws -> MLXArray
) throws -> (loss: MLXArray, gradients: [String: MLXArray]) {
    let trainable = model.trainableParameters().map { (name: $0.key, array: $0.array) }
    let (value, grads) = try MLXEngine.valueAndGrad(parameters: trainable, loss)
    return (value, grads)
}
