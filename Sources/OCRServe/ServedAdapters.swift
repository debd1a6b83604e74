// LoRA adapters served on one loaded base, chosen per request by the `model` field (as vLLM's
// multi-LoRA serving): every Linear layer some adapter targets is wrapped once in an
// ``AdapterSlotLinear`` holding each adapter's A, B and scale; the worker activates one adapter
// (or none: the base) before each batch. The adapter's path computes what the trainer's
// LoRALinear computes unmerged, base(x) + B(A(x)) · scale, so answers equal the run put back on
// its base (`TrainedRun.restore`). Adapters are PEFT folders (`RUN/adapter`, OCRTraining's
// PEFTAdapter); one that does not fit the base (another model, a run that extended the
// vocabulary) is refused at start-up with the layer that differs.

import Foundation
import MLXEngine
import MLXNN
import OCRTraining

// MARK: - Layer

/// A base Linear layer with any number of LoRA adapters beside it, at most one active.
public final class AdapterSlotLinear: Linear {
    struct Adapter {
        let a: Linear
        let b: Linear
        let scale: Double
    }

    private let _base: Linear
    private var _adapters: [String: Adapter] = [:]
    /// The adapter used by forward passes; nil: the base alone.
    var _active: String?

    init(wrapping base: Linear) {
        _base = base
        super.init(weight: base.weight, bias: base.bias)
    }

    public override var inputDimensions: Int { _base.inputDimensions }

    var adapterNames: [String] { _adapters.keys.sorted() }

    func add(_ name: String, a: MLXArray, b: MLXArray, scale: Double) {
        _adapters[name] = Adapter(a: Linear(weight: a), b: Linear(weight: b), scale: scale)
    }

    public override func callAsFunction(_ x: MLXArray) -> MLXArray {
        let y = _base(x)
        guard let name = _active, let adapter = _adapters[name] else { return y }
        return y + adapter.b(adapter.a(x)) * adapter.scale
    }
}

// MARK: - Adapters of one base

public struct AdapterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The adapters loaded on one base module.
public final class ServedAdapters {
    /// Adapter names, in the order given.
    public private(set) var names: [String] = []
    private var slots: [AdapterSlotLinear] = []
    /// The adapter forward passes use now (nil: the base).
    public private(set) var active: String?

    public init() {}

    /// Loads `adapters` (name → PEFT folder) onto `module`. Names must be unique and differ from
    /// `baseName`; every adapter tensor must land on a Linear layer of matching shape.
    public init(module: Module, adapters: [(name: String, folder: String)], baseName: String) throws {
        var loaded: [(name: String, scale: Double, layers: [String: (a: MLXArray?, b: MLXArray?)])] = []
        for (name, folder) in adapters {
            guard !name.isEmpty, name != baseName, !loaded.contains(where: { $0.name == name }) else {
                throw AdapterError("adapter name \"\(name)\" is empty, repeated or the base model's own name")
            }
            let adapter: (configuration: LoRAConfiguration, weights: [String: MLXArray], baseModel: String?)
            do {
                adapter = try PEFTAdapter.load(from: folder)
            } catch {
                throw AdapterError("adapter \(name): \(folder): \(error)")
            }
            var layers: [String: (a: MLXArray?, b: MLXArray?)] = [:]
            for (key, array) in adapter.weights {
                if key.hasSuffix(".lora_A.weight") {
                    layers[String(key.dropLast(".lora_A.weight".count)), default: (nil, nil)].a = array
                } else if key.hasSuffix(".lora_B.weight") {
                    layers[String(key.dropLast(".lora_B.weight".count)), default: (nil, nil)].b = array
                } else {
                    throw AdapterError("adapter \(name): \(key) is not a LoRA weight (only LoRA adapters are served)")
                }
            }
            guard !layers.isEmpty else { throw AdapterError("adapter \(name): \(folder) holds no LoRA weights") }
            loaded.append((name, adapter.configuration.scale, layers))
        }
        let wanted = Set(loaded.flatMap { $0.layers.keys })
        let linears = Dictionary(module.namedModules().compactMap { p in (p.module as? Linear).map { (p.path, $0) } },
                                 uniquingKeysWith: { a, _ in a })
        for adapter in loaded {
            for (path, pair) in adapter.layers.sorted(by: { $0.key < $1.key }) {
                guard let linear = linears[path] else {
                    throw AdapterError("adapter \(adapter.name): the base has no Linear layer \(path) (an adapter of another model?)")
                }
                guard let a = pair.a, let b = pair.b else {
                    throw AdapterError("adapter \(adapter.name): \(path) lacks lora_\(pair.a == nil ? "A" : "B")")
                }
                let (input, output) = (linear.inputDimensions, linear.outputDimensions)
                guard a.ndim == 2, b.ndim == 2, a.dim(1) == input, b.dim(0) == output, a.dim(0) == b.dim(1) else {
                    throw AdapterError("""
                        adapter \(adapter.name): \(path) has lora_A \(a.shape) and lora_B \(b.shape), the base layer \
                        maps \(input) → \(output) (another model, or a run that extended the vocabulary: serve its merged export)
                        """)
                }
            }
        }
        try module.replaceModules { path, m in
            guard wanted.contains(path), let linear = m as? Linear, !(linear is AdapterSlotLinear) else { return nil }
            return AdapterSlotLinear(wrapping: linear)
        }
        var byPath: [String: AdapterSlotLinear] = [:]
        for (path, m) in module.namedModules() { if let slot = m as? AdapterSlotLinear { byPath[path] = slot } }
        var arrays: [MLXArray] = []
        for adapter in loaded {
            for (path, pair) in adapter.layers {
                guard let slot = byPath[path] else {
                    throw AdapterError("adapter \(adapter.name): \(path) cannot be adapted (not a replaceable layer)")
                }
                let dtype = slot.weight.dtype.isFloatingPoint ? slot.weight.dtype : .float32
                let (a, b) = (pair.a!.asType(dtype), pair.b!.asType(dtype))
                slot.add(adapter.name, a: a, b: b, scale: adapter.scale)
                arrays += [a, b]
            }
            names.append(adapter.name)
        }
        slots = Array(byPath.values)
        try eval(arrays)
    }

    /// Makes `name` (an adapter, or nil for the base) the one forward passes use.
    public func activate(_ name: String?) {
        guard name != active else { return }
        for slot in slots { slot._active = name }
        active = name
    }
}
