// LoRA: low-rank adapters on Linear layers, selected by name pattern.

import Foundation
import MLXEngine

// MARK: - Configuration

/// LoRA hyper-parameters (PEFT's names in `adapter_config.json`).
public struct LoRAConfiguration: Codable, Equatable, Sendable {
    public var r: Int
    public var loraAlpha: Double
    public var loraDropout: Float
    /// rsLoRA: scale alpha/√r instead of alpha/r.
    public var useRSLoRA: Bool
    /// Name patterns of the Linear layers to adapt (glob on the full path or its last part).
    public var targetModules: [String]

    public init(
        r: Int = 8, alpha: Double = 16, dropout: Float = 0, rsLoRA: Bool = false,
        targetModules: [String] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    ) {
        self.r = r
        self.loraAlpha = alpha
        self.loraDropout = dropout
        self.useRSLoRA = rsLoRA
        self.targetModules = targetModules
    }

    public var scale: Double { useRSLoRA ? loraAlpha / Double(r).squareRoot() : loraAlpha / Double(r) }

    enum CodingKeys: String, CodingKey {
        case r
        case loraAlpha = "lora_alpha"
        case loraDropout = "lora_dropout"
        case useRSLoRA = "use_rslora"
        case targetModules = "target_modules"
    }
}

// MARK: - LoRALinear

/// `y = x Wᵀ + b + scale · B(A(dropout(x)))`, with the base `weight`/`bias` frozen.
/// Keys: base `weight`, `bias`; adapters `lora_A.weight` [r, in], `lora_B.weight` [out, r]
/// (PEFT's layout). `lora_B` starts at zero, so a fresh adapter leaves outputs unchanged.
public final class LoRALinear: Linear {
    @ModuleInfo(key: "lora_A") public var loraA: Linear
    @ModuleInfo(key: "lora_B") public var loraB: Linear
    public let scale: Double
    public let dropout: Dropout
    public private(set) var isMerged = false

    public init(wrapping base: Linear, configuration c: LoRAConfiguration, key: MLXArray? = nil) {
        let (input, output) = (base.inputDimensions, base.outputDimensions)
        // PEFT: A ~ kaiming-uniform(a=√5) = uniform(±1/√in); B = 0.
        let bound = Float(1 / Double(input).squareRoot())
        _loraA.wrappedValue = Linear(
            weight: MLXRandom.uniform(
                [c.r, input], low: -bound, high: bound, key: key ?? MLXRandom.key(UInt64.random(in: 0 ... .max))
            ).asType(base.weight.dtype.isFloatingPoint ? base.weight.dtype : .float32))
        _loraB.wrappedValue = Linear(weight: zeros([output, c.r], dtype: base.weight.dtype.isFloatingPoint ? base.weight.dtype : .float32))
        scale = c.scale
        dropout = Dropout(p: c.loraDropout)
        super.init(weight: base.weight, bias: base.bias)
        freeze(matching: ["weight", "bias"])
    }

    public override func callAsFunction(_ x: MLXArray) -> MLXArray {
        let y = super.callAsFunction(x)
        if isMerged { return y }
        return y + loraB(loraA(dropout(x))) * scale
    }

    /// ΔW = scale · B A.
    public func delta() -> MLXArray { matmul(loraB.weight, loraA.weight) * scale }

    /// Folds the adapter into the base weight (inference without the extra matmuls).
    public func merge() {
        guard !isMerged else { return }
        weight.update(weight + delta().asType(weight.dtype))
        isMerged = true
    }

    /// Undoes ``merge()``.
    public func unmerge() {
        guard isMerged else { return }
        weight.update(weight - delta().asType(weight.dtype))
        isMerged = false
    }
}

// MARK: - Applying LoRA to a model

extension Module {
    /// Wraps every Linear whose path matches a target pattern in a ``LoRALinear``, freezes
    /// everything else, and returns the wrapped paths. A pattern matches the full path or
    /// its last component (`q_proj` matches `layers.3.self_attn.q_proj`).
    @discardableResult
    public func applyLoRA(_ configuration: LoRAConfiguration, seed: UInt64 = 0) throws -> [String] {
        let matchers = configuration.targetModules.map(KeyPattern.init)
        var index: UInt64 = 0
        let wrapped = try replaceModules { path, module in
            guard let linear = module as? Linear, !(linear is LoRALinear) else { return nil }
            let last = String(path.split(separator: ".").last ?? "")
            guard matchers.contains(where: { $0.matches(path) || $0.matches(last) }) else { return nil }
            index += 1
            return LoRALinear(wrapping: linear, configuration: configuration, key: MLXRandom.key(seed &+ index))
        }
        freeze()
        unfreeze(matching: ["*.lora_A", "*.lora_B", "lora_A", "lora_B"])
        return wrapped
    }

    /// The adapters' parameters only (what an adapter file holds).
    public func loraParameters() -> [(key: String, array: MLXArray)] {
        parameters().filter { $0.key.contains("lora_A.") || $0.key.contains("lora_B.") }
    }

    /// Merges (true) or unmerges (false) every LoRA layer.
    public func setLoRAMerged(_ merged: Bool) {
        for (_, m) in namedModules() {
            if let lora = m as? LoRALinear { merged ? lora.merge() : lora.unmerge() }
        }
    }
}
