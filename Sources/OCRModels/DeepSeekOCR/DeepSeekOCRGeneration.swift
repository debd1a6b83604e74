// DeepSeek-OCR as a decoder for the shared generation (Common/Generation.swift): a session holds
// the KV caches and the prompts' embeddings with the image features merged; its first step
// prefills them, later steps feed one token per row. Prompts of different lengths (images with
// different token counts) are left-padded into one batch as transformers' generate does: padding
// is hidden by the attention mask (Qwen-VL's `qwenPaddingMask`) and positions count the real
// tokens only (attention_mask.cumsum − 1).
//
// Reference: transformers generation/utils.py (position ids from the attention mask),
// modeling_deepseek_ocr2.py (the cache-driven decoder).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Session

public final class DeepSeekOCRSession: IncrementalDecoder {
    public let model: DeepSeekOCRModel
    let caches: [KVCache]
    /// The prompts as fed to the first step: left-padded to one length.
    public let paddedPrompts: [[Int]]
    public private(set) var leftPadding: [Int]
    let promptPadding: [Int]
    /// Real (unpadded) tokens of each row so far: the next position.
    private var realLengths: [Int]
    private var prefill: MLXArray?
    private var pendingRows: MLXArray?
    private var length = 0
    public private(set) var rows: Int

    /// `images` holds the images of every prompt, in prompt order (or `features`, their
    /// ``DeepSeekOCRModel/imageFeatures(_:)`` computed earlier).
    init(model: DeepSeekOCRModel, prompts: [[Int]], images: [DeepSeekOCRImageInput], features: MLXArray?, padTokenID: Int) throws {
        guard !prompts.isEmpty, prompts.allSatisfy({ !$0.isEmpty }) else { throw GenerationError("DeepSeek-OCR: empty prompt") }
        self.model = model
        caches = model.makeCaches()
        let longest = prompts.map(\.count).max()!
        leftPadding = prompts.map { longest - $0.count }
        promptPadding = leftPadding
        paddedPrompts = prompts.map { [Int](repeating: padTokenID, count: longest - $0.count) + $0 }
        realLengths = prompts.map(\.count)
        rows = prompts.count
        prefill = try model.embed(inputIds: paddedPrompts, images: images, features: features)
    }

    var isPadded: Bool { leftPadding.contains { $0 > 0 } }

    public func step(_ tokens: MLXArray) -> MLXArray {
        let hidden: MLXArray
        if let embeddings = prefill {
            let promptLength = paddedPrompts[0].count
            precondition(tokens.dim(1) == promptLength, "DeepSeekOCRSession: the first step takes the \(promptLength) prompt tokens")
            prefill = nil
            // Positions count real tokens; padding gets 1 (masked anyway), as transformers.
            var positions: [Int32] = []
            for pad in promptPadding {
                positions += [Int32](repeating: 1, count: pad) + (0 ..< promptLength - pad).map(Int32.init)
            }
            let mask: AttentionMask = promptPadding.contains { $0 > 0 }
                ? .array(qwenPaddingMask(queries: promptLength, keys: promptLength, leftPadding: promptPadding))
                : (promptLength > 1 ? .causal : .none)
            hidden = model.hiddenStates(
                embeddings: embeddings, positions: MLXArray(positions, [promptPadding.count, promptLength]), mask: mask,
                caches: caches)
            length = promptLength
            if let pending = pendingRows {
                pendingRows = nil
                for cache in caches { cache.selectRows(pending) }
                return model.logits(hidden.sliced(axis: 1, from: hidden.dim(1) - 1).take(pending, axis: 0)).squeezed(axis: 1)
            }
        } else {
            let n = tokens.dim(1)
            var steps: [Int32] = []
            for r in 0 ..< rows { steps += (0 ..< n).map { Int32(realLengths[r] + $0) } }
            let mask: AttentionMask = isPadded
                ? .array(qwenPaddingMask(queries: n, keys: length + n, leftPadding: leftPadding))
                : (n > 1 ? .causal : .none)
            hidden = model.hiddenStates(
                embeddings: model.model.embedTokens(tokens), positions: MLXArray(steps, [rows, n]), mask: mask, caches: caches)
            length += n
            realLengths = realLengths.map { $0 + n }
        }
        return model.logits(hidden.sliced(axis: 1, from: hidden.dim(1) - 1)).squeezed(axis: 1)
    }

    public func selectRows(_ indices: MLXArray) {
        let host = indices.asType(.int32).asArray(Int32.self).map(Int.init)
        if prefill != nil {
            pendingRows = pendingRows.map { $0.take(indices, axis: 0) } ?? indices
        } else {
            for cache in caches { cache.selectRows(indices) }
        }
        leftPadding = host.map { leftPadding[$0] }
        realLengths = host.map { realLengths[$0] }
        rows = host.count
    }
}

// MARK: - Generation

extension DeepSeekOCRModel {
    /// A session over prompts of any lengths, left-padded with `padTokenID`; `images` holds the
    /// images of all prompts, in order.
    public func session(
        prompts: [[Int]], images: [DeepSeekOCRImageInput], features: MLXArray? = nil, padTokenID: Int
    ) throws -> DeepSeekOCRSession {
        try DeepSeekOCRSession(model: self, prompts: prompts, images: images, features: features, padTokenID: padTokenID)
    }

    /// New token ids of each prompt (a stop token that ended a row is included), generated in one
    /// left-padded batch.
    public func generate(
        prompts: [[Int]], images: [DeepSeekOCRImageInput], features: MLXArray? = nil, options: GenerationOptions
    ) throws -> [[Int]] {
        let pad = options.padTokenID ?? options.eosTokenIDs.first ?? 0
        let session = try session(prompts: prompts, images: images, features: features, padTokenID: pad)
        return try OCRModels.generate(session, prompts: session.paddedPrompts, options: options)
    }
}
