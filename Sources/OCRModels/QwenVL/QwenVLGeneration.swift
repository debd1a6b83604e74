// Greedy decoding for Qwen-VL with a KV cache: one prefill pass over the prompt (images merged),
// then one token at a time with positions continuing M-RoPE (index + delta on all three axes).
// Stops on EOS / `<|im_end|>`, the token budget, or a repetition guard. The guard and the argmax
// step are small free functions so they can move to the shared Common/Generation.swift.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Options

public struct QwenVLGenerationOptions: Sendable {
    public var maxNewTokens: Int
    /// Generation stops after any of these (EOS, `<|im_end|>`); the stop token is not returned.
    public var stopTokenIds: Set<Int>
    /// Stops a degenerate loop; nil disables it.
    public var repetitionGuard: RepetitionGuard?

    public init(maxNewTokens: Int = 512, stopTokenIds: Set<Int> = [], repetitionGuard: RepetitionGuard? = .init()) {
        self.maxNewTokens = maxNewTokens
        self.stopTokenIds = stopTokenIds
        self.repetitionGuard = repetitionGuard
    }
}

/// Stops generation when the tail of the output is one chunk (period ≤ `maxPeriod` tokens)
/// repeated at least `minRepeats` times, the usual failure of OCR models on blank or noisy input.
public struct RepetitionGuard: Sendable, Equatable {
    public var maxPeriod: Int
    public var minRepeats: Int

    public init(maxPeriod: Int = 16, minRepeats: Int = 8) {
        self.maxPeriod = maxPeriod
        self.minRepeats = minRepeats
    }

    /// The period of the repeated tail of `tokens`, or nil when it does not repeat enough.
    public func repeatedPeriod(_ tokens: [Int]) -> Int? {
        for period in 1 ... Swift.max(1, maxPeriod) {
            let span = period * minRepeats
            guard tokens.count >= span else { break }
            let tail = tokens.suffix(span)
            let start = tail.startIndex
            if (0 ..< span).allSatisfy({ tail[start + $0] == tail[start + $0 % period] }) { return period }
        }
        return nil
    }

    /// `tokens` without the repeats beyond the first occurrence of the chunk, when the guard fires.
    public func trimmed(_ tokens: [Int]) -> [Int] {
        guard let p = repeatedPeriod(tokens) else { return tokens }
        return Array(tokens.prefix(tokens.count - p * (minRepeats - 1)))
    }
}

/// The argmax token of the last position of logits [1, L, V].
func greedyToken(_ logits: MLXArray) -> Int {
    let last = logits.sliced(axis: 1, from: logits.dim(1) - 1).reshaped(-1)
    return Int(last.argMax(axis: 0).item(Int32.self))
}

// MARK: - Greedy decoding

extension QwenVLModel {
    /// New token ids after the prompt (one sequence). `pixels` [N, C·T·P·P] and `grids` as the
    /// processor gives them.
    public func greedyGenerate(
        inputIds: [Int], pixels: MLXArray?, grids: [[Int]], options: QwenVLGenerationOptions
    ) throws -> [Int] {
        let caches = makeCaches()
        let (embeddings, deepstack) = embed(inputIds: [inputIds], pixels: pixels, grids: grids)
        let (positions, deltas) = ropePositions(inputIds: [inputIds], grids: grids)
        var logits = self.logits(hiddenStates(
            embeddings: embeddings, positions: positions, mask: inputIds.count > 1 ? .causal : .none,
            caches: caches, deepstack: deepstack))
        var out: [Int] = []
        var length = inputIds.count
        while out.count < options.maxNewTokens {
            try eval(logits)
            let token = greedyToken(logits)
            if options.stopTokenIds.contains(token) { break }
            out.append(token)
            if let guardrail = options.repetitionGuard, guardrail.repeatedPeriod(out) != nil {
                return guardrail.trimmed(out)
            }
            guard out.count < options.maxNewTokens else { break }
            let position = Int32(length + deltas[0])
            let step = MLXArray([Int32](repeating: position, count: 3), [3, 1, 1])
            let embedded = model.languageModel.embedTokens(MLXArray([Int32(token)], [1, 1]))
            logits = self.logits(hiddenStates(embeddings: embedded, positions: step, mask: .none, caches: caches))
            length += 1
        }
        return out
    }
}
