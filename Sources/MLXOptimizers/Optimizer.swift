// Optimizers: per-parameter state, decay by rule, one update per step.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Protocol

/// An optimizer updates a module's trainable parameters in place from their gradients.
public protocol Optimizer: AnyObject {
    /// The learning rate of the next step (set it from a schedule before each step).
    var learningRate: Float { get set }
    /// Number of updates applied so far.
    var step: Int { get }
    /// Applies one update to `model`'s parameters that have a gradient, then evaluates them.
    func update(model: Module, gradients: [String: MLXArray]) throws
    /// The optimizer's state by name (for checkpoints).
    func stateDictionary() -> [String: MLXArray]
    /// Restores a state produced by ``stateDictionary()``.
    func load(stateDictionary: [String: MLXArray]) throws
}

// MARK: - Decay rule

/// Which parameters get weight decay. By rule, matrices and higher-rank tensors decay;
/// vectors and scalars (norm weights, biases) do not, as in nanoGPT and Hugging Face.
public enum WeightDecayRule {
    public static func decays(key: String, parameter: MLXArray) -> Bool {
        parameter.ndim >= 2
    }
}

// MARK: - AdamW

/// Adam with decoupled weight decay (Loshchilov & Hutter), as torch.optim.AdamW:
/// p ← p·(1 − lr·wd) − lr · m̂ / (√v̂ + ε).
/// Parameters held in half precision (bf16/fp16 compute) get a float32 master copy that the
/// update applies to; the parameter receives the master rounded to its dtype. float32 parameters
/// on the CPU are updated by ocrtune's one-pass kernel (``adamWStep``), bit-identical to the
/// composition the other cases use.
public final class AdamW: Optimizer {
    public var learningRate: Float
    public let betas: (Float, Float)
    public let eps: Float
    public let weightDecay: Float
    public private(set) var step = 0
    private var m: [String: MLXArray] = [:]
    private var v: [String: MLXArray] = [:]
    private var master: [String: MLXArray] = [:]

    public init(learningRate: Float, betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8, weightDecay: Float = 0.01) {
        self.learningRate = learningRate
        self.betas = betas
        self.eps = eps
        self.weightDecay = weightDecay
    }

    public func update(model: Module, gradients: [String: MLXArray]) throws {
        step += 1
        let (b1, b2) = (Double(betas.0), Double(betas.1))
        let correction1 = 1 - Foundation.pow(b1, Double(step))
        let correction2 = 1 - Foundation.pow(b2, Double(step))
        let lr = Double(learningRate)
        var touched: [MLXArray] = []
        let fused = Device.defaultDevice == .cpu
        // The kernel's scalars, rounded to float32 as the composition below rounds them.
        let decayFactor = 1 - lr * Double(weightDecay)
        var scalars = AdamWStepScalars(
            learningRate: Float(lr), beta1: Float(b1), oneMinusBeta1: Float(1 - b1), beta2: Float(b2),
            oneMinusBeta2: Float(1 - b2), eps: eps, correction1: Float(correction1), correction2: Float(correction2),
            decay: 1)
        for (key, p) in model.trainableParameters() {
            guard let g0 = gradients[key] else { continue }
            let decays = weightDecay > 0 && WeightDecayRule.decays(key: key, parameter: p)
            scalars.decay = decays ? Float(decayFactor) : 1
            if fused, p.dtype == .float32, g0.dtype == .float32, g0.shape == p.shape, master[key] == nil,
               let step = adamWStep(parameter: p, gradient: g0, expAvg: m[key], expAvgSq: v[key], scalars)
            {
                p.update(step.parameter)
                m[key] = step.expAvg
                v[key] = step.expAvgSq
                touched += [p, step.expAvg, step.expAvgSq]
                continue
            }
            let g = g0.asType(.float32)
            let mPrev = m[key] ?? zeros(like: g)
            let vPrev = v[key] ?? zeros(like: g)
            let mNew = mPrev * b1 + g * (1 - b1)
            let vNew = vPrev * b2 + g.square() * (1 - b2)
            let direction = (mNew / correction1) / (sqrt(vNew / correction2) + Double(eps))
            var weights = master[key] ?? p.asType(.float32)
            if decays { weights = weights * decayFactor }
            let updated = weights - direction * lr
            if p.dtype != .float32 {
                master[key] = updated
                touched.append(updated)
            }
            p.update(updated.asType(p.dtype))
            m[key] = mNew
            v[key] = vNew
            touched += [p, mNew, vNew]
        }
        try eval(touched)
    }

    public func stateDictionary() -> [String: MLXArray] {
        var state: [String: MLXArray] = ["step": MLXArray([Int64(step)])]
        for (k, a) in m { state["exp_avg.\(k)"] = a }
        for (k, a) in v { state["exp_avg_sq.\(k)"] = a }
        for (k, a) in master { state["master.\(k)"] = a }
        return state
    }

    public func load(stateDictionary state: [String: MLXArray]) throws {
        step = Int(state["step"]?.asArray(Int64.self).first ?? 0)
        m = [:]
        v = [:]
        master = [:]
        for (k, a) in state {
            if k.hasPrefix("exp_avg_sq.") { v[String(k.dropFirst("exp_avg_sq.".count))] = a }
            else if k.hasPrefix("exp_avg.") { m[String(k.dropFirst("exp_avg.".count))] = a }
            else if k.hasPrefix("master.") { master[String(k.dropFirst("master.".count))] = a }
        }
    }
}

// MARK: - SGD

/// Stochastic gradient descent with momentum, as torch.optim.SGD (dampening 0):
/// b ← μ·b + (g + wd·p); p ← p − lr·(nesterov ? g + μ·b : b).
public final class SGD: Optimizer {
    public var learningRate: Float
    public let momentum: Float
    public let weightDecay: Float
    public let nesterov: Bool
    public private(set) var step = 0
    private var buffers: [String: MLXArray] = [:]

    public init(learningRate: Float, momentum: Float = 0.9, weightDecay: Float = 0, nesterov: Bool = false) {
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public func update(model: Module, gradients: [String: MLXArray]) throws {
        step += 1
        let lr = Double(learningRate)
        let mu = Double(momentum)
        var touched: [MLXArray] = []
        for (key, p) in model.trainableParameters() {
            guard var g = gradients[key]?.asType(.float32) else { continue }
            let master = p.asType(.float32)
            if weightDecay > 0, WeightDecayRule.decays(key: key, parameter: p) {
                g = g + master * Double(weightDecay)
            }
            var direction = g
            if momentum > 0 {
                let b = buffers[key].map { $0 * mu + g } ?? g
                buffers[key] = b
                direction = nesterov ? g + b * mu : b
                touched.append(b)
            }
            p.update((master - direction * lr).asType(p.dtype))
            touched.append(p)
        }
        try eval(touched)
    }

    public func stateDictionary() -> [String: MLXArray] {
        var state: [String: MLXArray] = ["step": MLXArray([Int64(step)])]
        for (k, a) in buffers { state["momentum_buffer.\(k)"] = a }
        return state
    }

    public func load(stateDictionary state: [String: MLXArray]) throws {
        step = Int(state["step"]?.asArray(Int64.self).first ?? 0)
        buffers = [:]
        for (k, a) in state where k.hasPrefix("momentum_buffer.") {
            buffers[String(k.dropFirst("momentum_buffer.".count))] = a
        }
    }
}
