// Qwen-VL as a decoder for the shared generation (Common/Generation.swift): a session holds the
// KV caches and the prompt's merged embeddings (image features, DeepStack extras) and M-RoPE
// positions; its first step prefills the prompt, later steps continue the positions (index +
// delta on all three axes). Greedy, sampling, beam search, EOS / `<|im_end|>` stops and the
// repetition guard come from the shared code.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Session

/// A generation session for one prompt (rows are copies of it, for beam search).
public final class QwenVLSession: IncrementalDecoder {
    public let model: QwenVLModel
    let caches: [KVCache]
    let promptLength: Int
    /// rope delta of the prompt: decoding positions are `length + delta`.
    let delta: Int
    private var prefill: (embeddings: MLXArray, positions: MLXArray, deepstack: ((Int, MLXArray) -> MLXArray)?)?
    private var length = 0
    public private(set) var rows = 1

    init(model: QwenVLModel, inputIds: [Int], pixels: MLXArray?, grids: [[Int]]) {
        self.model = model
        caches = model.makeCaches()
        promptLength = inputIds.count
        let (embeddings, deepstack) = model.embed(inputIds: [inputIds], pixels: pixels, grids: grids)
        let (positions, deltas) = model.ropePositions(inputIds: [inputIds], grids: grids)
        delta = deltas[0]
        prefill = (embeddings, positions, deepstack)
    }

    /// The first call takes the prompt (its image features are already merged) and fills the
    /// caches; later calls take new tokens [rows, n].
    public func step(_ tokens: MLXArray) -> MLXArray {
        let hidden: MLXArray
        if let p = prefill {
            precondition(tokens.dim(1) == promptLength, "QwenVLSession: the first step takes the \(promptLength) prompt tokens")
            prefill = nil
            hidden = model.hiddenStates(
                embeddings: p.embeddings, positions: p.positions, mask: promptLength > 1 ? .causal : .none,
                caches: caches, deepstack: p.deepstack)
            length = promptLength
        } else {
            let n = tokens.dim(1)
            let steps = (0 ..< n).map { Int32(length + delta + $0) }
            let positions = MLXArray(steps, [1, 1, n]).broadcast(to: [3, tokens.dim(0), n])
            let embedded = model.model.languageModel.embedTokens(tokens)
            hidden = model.hiddenStates(embeddings: embedded, positions: positions, mask: n > 1 ? .causal : .none, caches: caches)
            length += n
        }
        return model.logits(hidden.sliced(axis: 1, from: hidden.dim(1) - 1)).squeezed(axis: 1)
    }

    /// Before the prefill, picks rows of the prompt (all equal: the DeepStack extras broadcast);
    /// after it, rows of every cache.
    public func selectRows(_ indices: MLXArray) {
        if var p = prefill {
            p.embeddings = p.embeddings.take(indices, axis: 0)
            p.positions = p.positions.take(indices, axis: 1)
            prefill = p
        } else {
            for cache in caches { cache.selectRows(indices) }
        }
        rows = indices.dim(0)
    }
}

// MARK: - Generation

extension QwenVLModel {
    /// A session over one prompt: `pixels` [N, C·T·P·P] and `grids` as the processor gives them.
    public func session(inputIds: [Int], pixels: MLXArray?, grids: [[Int]]) -> QwenVLSession {
        QwenVLSession(model: self, inputIds: inputIds, pixels: pixels, grids: grids)
    }

    /// New token ids after the prompt (transformers' `generate` output without the prompt: a stop
    /// token that ended it is included).
    public func generate(inputIds: [Int], pixels: MLXArray?, grids: [[Int]], options: GenerationOptions) throws -> [Int] {
        let session = session(inputIds: inputIds, pixels: pixels, grids: grids)
        return try OCRModels.generate(session, prompts: [inputIds], options: options)[0]
    }
}
