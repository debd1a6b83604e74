// The resolved configuration of a training run (written as RUN/config.toml).

import Foundation
import MLXEngine
import MLXNN

/// How a model is fine-tuned.
public enum FineTuningMethod: String, StrictStringEnum {
    /// Low-rank adapters on selected Linear layers; the base is frozen.
    case lora
    /// LoRA over a base quantized to 4 or 8 bits.
    case qlora
    /// All parameters not frozen by group.
    case full
}

/// One stage of a multi-stage schedule (e.g. vision side only, then joint at a lower rate).
public struct TrainingStage: Codable, Equatable, Sendable {
    public var name: String
    /// Steps this stage lasts.
    public var steps: Int
    public var learningRate: Float
    /// Parameter groups trained in this stage (others frozen); empty = all trainable ones.
    public var trainGroups: [String]

    public init(name: String, steps: Int, learningRate: Float, trainGroups: [String] = []) {
        self.name = name
        self.steps = steps
        self.learningRate = learningRate
        self.trainGroups = trainGroups
    }

    enum CodingKeys: String, CodingKey {
        case name, steps
        case learningRate = "learning_rate"
        case trainGroups = "train_groups"
    }
}

public struct TrainingConfiguration: Codable, Equatable, Sendable {
    /// The learning-rate schedule after warm-up.
    public enum Schedule: String, StrictStringEnum {
        case constant, linear, cosine
    }

    /// What a step with a non-finite loss does.
    public enum NonFiniteLossPolicy: String, StrictStringEnum {
        /// Stop the run with an error naming the step and the last good checkpoint.
        case stop
        /// Skip the update and go on.
        case skip
    }

    /// The dtype training computes in (master weights stay float32).
    public enum ComputeDType: String, StrictStringEnum {
        case float32, bfloat16, float16

        public var dtype: DType {
            switch self {
            case .float32: .float32
            case .bfloat16: .bfloat16
            case .float16: .float16
            }
        }
    }

    // MARK: What is trained
    public var method: FineTuningMethod = .lora
    /// LoRA rank, alpha, dropout, rsLoRA and target name patterns (empty: the family's default).
    public var lora = LoRAConfiguration(r: 8, alpha: 16, dropout: 0, targetModules: [])
    /// Bits of the quantized base for QLoRA (4 or 8).
    public var quantizationBits = 4
    public var quantizationGroupSize = 64
    /// Parameter groups (the family's names, or key patterns) kept frozen.
    public var freeze: [String] = []
    public var stages: [TrainingStage] = []

    // MARK: Optimization
    public var learningRate: Float = 1e-4
    /// Each with `warmup_steps` of linear warm-up.
    public var schedule = Schedule.cosine
    public var warmupSteps = 0
    public var minLearningRate: Float = 0
    public var weightDecay: Float = 0.01
    public var adamBeta1: Float = 0.9
    public var adamBeta2: Float = 0.999
    public var adamEpsilon: Float = 1e-8
    public var maxGradNorm: Float = 1.0
    public var batchSize = 8
    public var gradientAccumulation = 1
    public var epochs = 1
    /// Overrides `epochs` when set.
    public var maxSteps: Int?
    /// Without `max_steps`, a run makes at least this many steps (more epochs on small data).
    public var minimumSteps: Int?
    /// float32, or bfloat16 / float16 compute with float32 master weights.
    public var dtype = ComputeDType.float32
    public var gradientCheckpointing = false

    // MARK: Evaluation, checkpoints, resilience
    public var evalEvery = 100
    /// Validation samples used for the metric during training (a bounded probe set).
    public var evalSamples = 200
    /// Stop after this many evaluations without improvement (nil: never).
    public var patience: Int?
    public var saveEvery = 100
    public var keepLast = 2
    public var keepBest = true
    /// What a step does when the loss is not finite.
    public var onNaN = NonFiniteLossPolicy.stop
    public var seed: UInt64 = 0
    public var logEvery = 10

    public init() {}

    enum CodingKeys: String, CodingKey {
        case method, lora, freeze, stages, schedule, epochs, dtype, seed, patience
        case quantizationBits = "quantization_bits"
        case quantizationGroupSize = "quantization_group_size"
        case learningRate = "learning_rate"
        case warmupSteps = "warmup_steps"
        case minLearningRate = "min_learning_rate"
        case weightDecay = "weight_decay"
        case adamBeta1 = "adam_beta1"
        case adamBeta2 = "adam_beta2"
        case adamEpsilon = "adam_epsilon"
        case maxGradNorm = "max_grad_norm"
        case batchSize = "batch_size"
        case gradientAccumulation = "gradient_accumulation"
        case maxSteps = "max_steps"
        case minimumSteps = "minimum_steps"
        case gradientCheckpointing = "gradient_checkpointing"
        case evalEvery = "eval_every"
        case evalSamples = "eval_samples"
        case saveEvery = "save_every"
        case keepLast = "keep_last"
        case keepBest = "keep_best"
        case onNaN = "on_nan"
        case logEvery = "log_every"
    }

    /// Every field optional in the file: missing ones keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys, _ current: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? current }
        method = try get(.method, method)
        lora = try get(.lora, lora)
        quantizationBits = try get(.quantizationBits, quantizationBits)
        quantizationGroupSize = try get(.quantizationGroupSize, quantizationGroupSize)
        freeze = try get(.freeze, freeze)
        stages = try get(.stages, stages)
        learningRate = try get(.learningRate, learningRate)
        schedule = try get(.schedule, schedule)
        warmupSteps = try get(.warmupSteps, warmupSteps)
        minLearningRate = try get(.minLearningRate, minLearningRate)
        weightDecay = try get(.weightDecay, weightDecay)
        adamBeta1 = try get(.adamBeta1, adamBeta1)
        adamBeta2 = try get(.adamBeta2, adamBeta2)
        adamEpsilon = try get(.adamEpsilon, adamEpsilon)
        maxGradNorm = try get(.maxGradNorm, maxGradNorm)
        batchSize = try get(.batchSize, batchSize)
        gradientAccumulation = try get(.gradientAccumulation, gradientAccumulation)
        epochs = try get(.epochs, epochs)
        maxSteps = try c.decodeIfPresent(Int.self, forKey: .maxSteps)
        minimumSteps = try c.decodeIfPresent(Int.self, forKey: .minimumSteps)
        dtype = try get(.dtype, dtype)
        gradientCheckpointing = try get(.gradientCheckpointing, gradientCheckpointing)
        evalEvery = try get(.evalEvery, evalEvery)
        evalSamples = try get(.evalSamples, evalSamples)
        patience = try c.decodeIfPresent(Int.self, forKey: .patience)
        saveEvery = try get(.saveEvery, saveEvery)
        keepLast = try get(.keepLast, keepLast)
        keepBest = try get(.keepBest, keepBest)
        onNaN = try get(.onNaN, onNaN)
        seed = try get(.seed, seed)
        logEvery = try get(.logEvery, logEvery)
    }

    /// Checks values a user can get wrong, naming the field.
    public func validate() throws {
        func fail(_ field: String, _ message: String) throws -> Never { throw ConfigurationError(field: field, message: message) }
        if batchSize < 1 { try fail("batch_size", "must be at least 1") }
        if gradientAccumulation < 1 { try fail("gradient_accumulation", "must be at least 1") }
        if learningRate <= 0 { try fail("learning_rate", "must be positive") }
        if method == .qlora && ![4, 8].contains(quantizationBits) { try fail("quantization_bits", "must be 4 or 8") }
        if method != .full && lora.r < 1 { try fail("lora.r", "must be at least 1") }
        if let maxSteps, maxSteps < 1 { try fail("max_steps", "must be at least 1") }
        if epochs < 1 && maxSteps == nil { try fail("epochs", "must be at least 1") }
    }

    // MARK: TOML

    public func tomlString() throws -> String {
        let json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(self)) as! [String: Any]
        return "# ocrtune training configuration (resolved). `ocrtune train --config` reads it back.\n" + TOML.encode(json)
    }

    /// The settings of a TOML file over `base`: a key the file does not name keeps `base`'s value.
    public static func fromTOML(_ text: String, file: String = "config.toml", base: TrainingConfiguration = TrainingConfiguration()) throws -> TrainingConfiguration {
        do {
            func overlay(_ base: [String: Any], _ top: [String: Any]) -> [String: Any] {
                var out = base
                for (key, value) in top {
                    if let inner = value as? [String: Any], let under = base[key] as? [String: Any] {
                        out[key] = overlay(under, inner)
                    } else {
                        out[key] = value
                    }
                }
                return out
            }
            let defaults = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(base)) as? [String: Any] ?? [:]
            let data = try JSONSerialization.data(withJSONObject: overlay(defaults, try TOML.decode(text)))
            return try JSONDecoder().decode(TrainingConfiguration.self, from: data)
        } catch let error as TOMLError {
            throw ConfigurationError(field: "\(file):\(error.line)", message: error.message)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            throw ConfigurationError(field: "\(file): " + context.codingPath.map(\.stringValue).joined(separator: "."), message: context.debugDescription)
        }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let field: String
    public let message: String
    public var description: String { "\(field): \(message)" }
}
