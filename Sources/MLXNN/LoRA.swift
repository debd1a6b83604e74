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

/// `y = base(x) + scale · B(A(dropout(x)))`, with the base layer frozen.
/// Keys: the base's `weight`, `bias` (and `scales`, `biases` when it is quantized — QLoRA);
/// adapters `lora_A.weight` [r, in], `lora_B.weight` [out, r] (PEFT's layout). `lora_B`
/// starts at zero, so a fresh adapter leaves outputs unchanged.
public final class LoRALinear: Linear {
    /// The wrapped layer (not reflected: its arrays are this layer's own keys).
    private let _base: Linear
    public let scales: MLXArray?
    public let biases: MLXArray?
    @ModuleInfo(key: "lora_A") public var loraA: Linear
    @ModuleInfo(key: "lora_B") public var loraB: Linear
    public let scale: Double
    public let dropout: Dropout
    public private(set) var isMerged = false

    public init(wrapping base: Linear, configuration c: LoRAConfiguration, key: MLXArray? = nil) {
        let (input, output) = (base.inputDimensions, base.outputDimensions)
        _base = base
        let quantized = base as? QuantizedLinear
        scales = quantized?.scales
        biases = quantized?.biases
        let dtype = quantized?.scales.dtype ?? base.weight.dtype
        let adapterType: DType = dtype.isFloatingPoint ? dtype : .float32
        // PEFT: A ~ kaiming-uniform(a=√5) = uniform(±1/√in); B = 0.
        let bound = Float(1 / Double(input).squareRoot())
        _loraA.wrappedValue = Linear(
            weight: MLXRandom.uniform(
                [c.r, input], low: -bound, high: bound, key: key ?? MLXRandom.key(UInt64.random(in: 0 ... .max))
            ).asType(adapterType))
        _loraB.wrappedValue = Linear(weight: zeros([output, c.r], dtype: adapterType))
        scale = c.scale
        dropout = Dropout(p: c.loraDropout)
        super.init(weight: base.weight, bias: base.bias)
        freeze(matching: ["weight", "bias", "scales", "biases"])
    }

    public override var inputDimensions: Int { _base.inputDimensions }

    /// The base layer's weight in full precision (dequantized for QLoRA).
    public func baseWeight() -> MLXArray {
        (_base as? QuantizedLinear)?.dequantizedWeight() ?? weight
    }

    public override func callAsFunction(_ x: MLXArray) -> MLXArray {
        let y = _base(x)
        if isMerged { return y }
        return y + loraB(loraA(dropout(x))) * scale
    }

    /// ΔW = scale · B A.
    public func delta() -> MLXArray { matmul(loraB.weight, loraA.weight) * scale }

    /// Folds the adapter into the base weight (inference without the extra matmuls).
    /// A quantized base cannot be merged in place: export dequantizes it instead
    /// (``mergedLinear()``).
    public func merge() {
        guard !isMerged, !(_base is QuantizedLinear) else { return }
        weight.update(weight + delta().asType(weight.dtype))
        isMerged = true
    }

    /// A plain Linear equal to base + adapter, for export (a quantized base is dequantized).
    public func mergedLinear() -> Linear {
        if isMerged { return Linear(weight: weight, bias: bias) }  // the weight holds the delta already
        let target: DType = _base is QuantizedLinear ? (scales?.dtype ?? .float32) : weight.dtype
        let w = baseWeight().asType(.float32) + delta().asType(.float32)
        return Linear(weight: w.asType(target), bias: bias)
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

    /// Replaces every LoRA layer by the plain Linear it amounts to (base + adapter), so the
    /// module has the base model's own layout again. Returns the merged paths.
    @discardableResult
    public func mergeLoRALayers() throws -> [String] {
        try replaceModules { _, module in (module as? LoRALinear)?.mergedLinear() }
    }

    /// Merges (true) or unmerges (false) every LoRA layer.
    public func setLoRAMerged(_ merged: Bool) {
        for (_, m) in namedModules() {
            if let lora = m as? LoRALinear { merged ? lora.merge() : lora.unmerge() }
        }
    }
}
