// Decoding of latex-ocr-junia on the shared generation module (`Common/Generation.swift`): a
// session over the decoder's key/value caches, and the package's `LatexOCRModel.generate`
// settings as ``GenerationOptions`` — pad and BOS suppressed on the logits (−1e9), at most
// `max_length` tokens counting the BOS, greedy (batched) or the package's pooled beam search
// (length-normalized scores). The package recomputes the whole prefix at each step; the
// logits with the cache are the same.
//
// Reference: latex_ocr_junia/model.py (_greedy_generate, _beam_search_one, generate).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Session

/// The decoder bound to the cross-attention keys/values of encoder states [B, N, D]; one
/// self-attention cache per decoder block.
public final class LatexJuniaSession: IncrementalDecoder {
    let model: LatexJuniaModel
    var memory: [(keys: MLXArray, values: MLXArray)]
    let caches: [KVCache]

    public init(model: LatexJuniaModel, encoderStates: MLXArray) {
        self.model = model
        memory = model.crossMemory(encoderStates)
        caches = model.decoder_blocks.map { _ in KVCache() }
    }

    public var rows: Int { memory.first?.keys.dim(0) ?? 0 }

    public func step(_ tokens: MLXArray) -> MLXArray {
        let logits = model.decodeSteps(tokens, memory: memory, mask: nil, caches: caches)
        return logits.sliced(axis: 1, from: logits.dim(1) - 1).squeezed(axis: 1)
    }

    public func selectRows(_ indices: MLXArray) {
        memory = memory.map { (keys: $0.keys.take(indices, axis: 0), values: $0.values.take(indices, axis: 0)) }
        for cache in caches { cache.selectRows(indices) }
    }
}

// MARK: - Options

extension LatexJuniaDecodingOptions {
    /// The package's decoding as shared generation options for a model with `config`:
    /// `maxLength` (capped by the config's) counts the BOS, so `maxLength − 1` new tokens.
    public func generationOptions(config: LatexJuniaConfig) -> GenerationOptions {
        let length = Swift.min(maxLength ?? config.maxLength, config.maxLength)
        return GenerationOptions(
            maxNewTokens: length - 1, numBeams: Swift.max(1, numBeams), lengthPenalty: lengthPenalty,
            eosTokenIDs: [config.eosTokenID], padTokenID: config.padTokenID,
            suppressTokenIDs: [config.padTokenID, config.bosTokenID], beamStrategy: .pooled)
    }
}
