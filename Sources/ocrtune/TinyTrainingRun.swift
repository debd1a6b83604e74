// The tiny end-to-end training run of `ocrtune doctor --train`.

import Foundation
import MLXEngine
import MLXNN
import MLXOptimizers

/// A 2-layer pre-norm transformer language model learning a cyclic token sequence
/// (next token = (token + 3) mod 17) with LoRA on q/v projections, AdamW and a cosine
/// schedule. The base model is random, so only the adapters and the head learn.
struct TinyTrainingRun {
    let steps: Int

    final class Block: Module {
        @ModuleInfo(key: "self_attn") var attention: MultiHeadAttention
        @ModuleInfo(key: "norm1") var norm1: LayerNorm
        @ModuleInfo(key: "norm2") var norm2: LayerNorm
        let fc1: Linear
        let fc2: Linear

        init(_ d: Int) {
            _attention.wrappedValue = MultiHeadAttention(dimensions: d, heads: 4)
            _norm1.wrappedValue = LayerNorm(dimensions: d)
            _norm2.wrappedValue = LayerNorm(dimensions: d)
            fc1 = Linear(d, 4 * d)
            fc2 = Linear(4 * d, d)
            super.init()
        }

        func callAsFunction(_ x: MLXArray) -> MLXArray {
            let h = x + attention(norm1(x), mask: .causal)
            return h + fc2(gelu(fc1(norm2(h))))
        }
    }

    final class LanguageModel: Module {
        @ModuleInfo(key: "embed_tokens") var embedding: Embedding
        let layers: [Block]
        @ModuleInfo(key: "lm_head") var head: Linear

        init(vocabulary: Int, dimensions d: Int) {
            _embedding.wrappedValue = Embedding(count: vocabulary, dimensions: d, key: MLXRandom.key(10))
            layers = (0 ..< 2).map { _ in Block(d) }
            _head.wrappedValue = Linear(d, vocabulary, key: MLXRandom.key(11))
            super.init()
        }

        func callAsFunction(_ ids: MLXArray) -> MLXArray {
            head(layers.reduce(embedding(ids)) { $1($0) })
        }
    }

    func run() throws {
        let vocabulary = 17
        MLXRandom.seed(0)
        let model = LanguageModel(vocabulary: vocabulary, dimensions: 64)
        let wrapped = try model.applyLoRA(LoRAConfiguration(r: 8, alpha: 16, targetModules: ["q_proj", "v_proj"]))
        model.unfreeze(matching: ["lm_head"])
        let trainable = model.trainableParameters().reduce(0) { $0 + $1.array.size }
        let total = model.parameters().reduce(0) { $0 + $1.array.size }
        Terminal.line("tiny training run: LoRA r=8 on \(wrapped.count) layers, \(trainable) of \(total) parameters trainable")

        let optimizer = AdamW(learningRate: 3e-3)
        let schedule = Schedules.cosine(3e-3, warmup: 5, totalSteps: steps)
        let progress = ProgressLine(total: steps, label: "train")
        var firstLoss: Float = 0
        var lastLoss: Float = 0
        for step in 0 ..< steps {
            let (inputs, targets) = batch(step: step, vocabulary: vocabulary)
            optimizer.learningRate = schedule(step)
            let (loss, grads) = try valueAndGrad(model: model) {
                crossEntropy(logits: model(inputs), targets: targets)
            }
            let (clipped, norm) = try clipGradientNorm(grads, maxNorm: 1)
            try optimizer.update(model: model, gradients: clipped)
            lastLoss = loss.item()
            if step == 0 { firstLoss = lastLoss }
            progress.update(step: step + 1, String(format: "loss %.4f  lr %.2e  grad-norm %.3f", lastLoss, optimizer.learningRate, norm))
        }
        model.train(false)
        let (inputs, targets) = batch(step: 10_000, vocabulary: vocabulary)
        let accuracy = (model(inputs).argMax(axis: -1) .== targets).asType(.float32).mean().item(Float.self)
        Terminal.line(String(format: "loss %.3f → %.3f; next-token accuracy on held-out sequences %.1f%%", firstLoss, lastLoss, accuracy * 100))
    }

    /// 16 sequences of 24 tokens with a random start; targets are the inputs shifted by one.
    private func batch(step: Int, vocabulary: Int) -> (MLXArray, MLXArray) {
        let starts = MLXRandom.randInt(0, vocabulary, [16, 1], key: MLXRandom.key(UInt64(step) &+ 1000))
        let positions = arange(25).reshaped(1, 25)
        let sequence = remainder(starts + positions * MLXArray(Int32(3)), MLXArray(Int32(vocabulary)))
        return (sequence.sliced(axis: 1, 0 ..< 24), sequence.sliced(axis: 1, 1 ..< 25))
    }
}
