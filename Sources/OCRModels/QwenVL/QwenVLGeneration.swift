// Qwen-VL as a decoder for the shared generation (Common/Generation.swift): a session holds the
// KV caches and the prompts' merged embeddings (image features, DeepStack extras) and M-RoPE
// positions; its first step prefills the prompts, later steps continue the positions (index +
// delta on all three axes). Prompts of different lengths (images of different sizes) are
// left-padded into one batch, as transformers does with `padding_side="left"`: padding gets
// position 0, is hidden from every query by the attention mask in the prefill and at every
// decoding step, and each row's positions and delta are those of its unpadded prompt. Greedy,
// sampling, beam search, EOS / `<|im_end|>` stops per row and the repetition guard come from the
// shared code.
//
// Reference: transformers/models/qwen2_5_vl/modeling_qwen2_5_vl.py (get_rope_index with
// attention_mask, compute_3d_position_ids), generation/utils.py (position ids from the mask).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Padding mask

/// The boolean attention mask [B, 1, Lq, Lk] of `queries` new positions over `keys` cached ones
/// (the queries are the last `queries` of them) when row r starts with `leftPadding[r]` padding
/// positions: causal, padding keys hidden. A padding query sees itself only, so that its
/// (unused) output stays finite instead of a softmax over nothing.
func qwenPaddingMask(queries: Int, keys: Int, leftPadding: [Int]) -> MLXArray {
    let b = leftPadding.count
    let key = MLXArray((0 ..< keys).map(Int32.init), [1, 1, 1, keys])
    let query = MLXArray((0 ..< queries).map { Int32(keys - queries + $0) }, [1, 1, queries, 1])
    let pads = MLXArray(leftPadding.map(Int32.init), [b, 1, 1, 1])
    let causal = key .<= query
    let visible = logicalOr(key .>= pads, key .== query)
    return logicalAnd(causal, visible)
}

// MARK: - Session

/// A generation session over one or more prompts (left-padded to one length), one row each;
/// beam search repeats and reorders rows.
public final class QwenVLSession: IncrementalDecoder {
    public let model: QwenVLModel
    let caches: [KVCache]
    /// The prompts as fed to the first step: left-padded to one length.
    public let paddedPrompts: [[Int]]
    /// Leading padding positions of each row.
    public private(set) var leftPadding: [Int]
    /// Leading padding positions of each prompt (the prefill's rows, before any row selection).
    let promptPadding: [Int]
    /// rope delta of each row's prompt: its next position is `real tokens so far + delta`.
    private(set) var deltas: [Int]
    /// Real (unpadded) tokens of each row so far.
    private var realLengths: [Int]
    private var prefill: (embeddings: MLXArray, positions: MLXArray, deepstack: ((Int, MLXArray) -> MLXArray)?)?
    /// Rows asked for before the prefill (beam expansion): applied to its caches and logits.
    private var pendingRows: MLXArray?
    private var length = 0
    public private(set) var rows: Int

    /// `pixels` and `grids` hold the images of every prompt, in prompt order.
    init(model: QwenVLModel, prompts: [[Int]], pixels: MLXArray?, grids: [[Int]], padTokenID: Int) throws {
        guard let longest = prompts.map(\.count).max(), prompts.allSatisfy({ !$0.isEmpty }) else {
            throw QwenVLInputError("Qwen-VL: prompts must be non-empty")
        }
        self.model = model
        caches = model.makeCaches()
        leftPadding = prompts.map { longest - $0.count }
        promptPadding = leftPadding
        paddedPrompts = prompts.map { [Int](repeating: padTokenID, count: longest - $0.count) + $0 }
        realLengths = prompts.map(\.count)
        rows = prompts.count
        let (embeddings, deepstack) = try model.embed(inputIds: paddedPrompts, pixels: pixels, grids: grids)
        let (positions, deltas) = try model.ropePositions(inputIds: paddedPrompts, grids: grids, leftPadding: leftPadding)
        self.deltas = deltas
        prefill = (embeddings, positions, deepstack)
    }

    var isPadded: Bool { leftPadding.contains { $0 > 0 } }

    /// The first call takes the padded prompts (their image features are already merged) and
    /// fills the caches; later calls take new tokens [rows, n].
    public func step(_ tokens: MLXArray) -> MLXArray {
        let hidden: MLXArray
        if let p = prefill {
            let promptLength = paddedPrompts[0].count
            precondition(tokens.dim(1) == promptLength, "QwenVLSession: the first step takes the \(promptLength) prompt tokens")
            prefill = nil
            let mask: AttentionMask
            if promptPadding.contains(where: { $0 > 0 }) {
                mask = .array(qwenPaddingMask(queries: promptLength, keys: promptLength, leftPadding: promptPadding))
            } else {
                mask = promptLength > 1 ? .causal : .none
            }
            hidden = model.hiddenStates(
                embeddings: p.embeddings, positions: p.positions, mask: mask, caches: caches, deepstack: p.deepstack)
            length = promptLength
            if let pending = pendingRows {
                pendingRows = nil
                for cache in caches { cache.selectRows(pending) }
                let last = hidden.sliced(axis: 1, from: hidden.dim(1) - 1).take(pending, axis: 0)
                return model.logits(last).squeezed(axis: 1)
            }
        } else {
            let n = tokens.dim(1)
            var steps: [Int32] = []
            for r in 0 ..< rows { steps += (0 ..< n).map { Int32(realLengths[r] + deltas[r] + $0) } }
            let positions = MLXArray(steps, [1, rows, n]).broadcast(to: [3, rows, n])
            let embedded = model.model.languageModel.embedTokens(tokens)
            let mask: AttentionMask
            if isPadded {
                mask = .array(qwenPaddingMask(queries: n, keys: length + n, leftPadding: leftPadding))
            } else {
                mask = n > 1 ? .causal : .none
            }
            hidden = model.hiddenStates(embeddings: embedded, positions: positions, mask: mask, caches: caches)
            length += n
            realLengths = realLengths.map { $0 + n }
        }
        return model.logits(hidden.sliced(axis: 1, from: hidden.dim(1) - 1)).squeezed(axis: 1)
    }

    /// Keeps rows `indices` of every cache and per-row state. Before the prefill the selection
    /// is deferred: the prompts are prefilled once and their caches and logits expanded after.
    public func selectRows(_ indices: MLXArray) {
        let host = indices.asType(.int32).asArray(Int32.self).map(Int.init)
        if prefill != nil {
            pendingRows = pendingRows.map { $0.take(indices, axis: 0) } ?? indices
        } else {
            for cache in caches { cache.selectRows(indices) }
        }
        leftPadding = host.map { leftPadding[$0] }
        deltas = host.map { deltas[$0] }
        realLengths = host.map { realLengths[$0] }
        rows = host.count
    }
}

// MARK: - Generation

extension QwenVLModel {
    /// A session over one prompt: `pixels` [N, C·T·P·P] and `grids` as the processor gives them.
    public func session(inputIds: [Int], pixels: MLXArray?, grids: [[Int]]) throws -> QwenVLSession {
        try QwenVLSession(model: self, prompts: [inputIds], pixels: pixels, grids: grids, padTokenID: 0)
    }

    /// A session over several prompts of any lengths, left-padded with `padTokenID`; `pixels` and
    /// `grids` hold the images of all prompts, in order.
    public func session(prompts: [[Int]], pixels: MLXArray?, grids: [[Int]], padTokenID: Int) throws -> QwenVLSession {
        try QwenVLSession(model: self, prompts: prompts, pixels: pixels, grids: grids, padTokenID: padTokenID)
    }

    /// New token ids after the prompt (transformers' `generate` output without the prompt: a stop
    /// token that ended it is included).
    public func generate(inputIds: [Int], pixels: MLXArray?, grids: [[Int]], options: GenerationOptions) throws -> [Int] {
        try generate(prompts: [inputIds], pixels: pixels, grids: grids, options: options)[0]
    }

    /// New token ids of each prompt, generated in one left-padded batch (prompts of any lengths;
    /// the images of all prompts in order in `pixels` and `grids`). Padding is
    /// `options.padTokenID`, else the first EOS id, else 0; it is masked, so it only shows in
    /// the no-repeat n-gram history, as in transformers. Each row stops at its own EOS.
    public func generate(prompts: [[Int]], pixels: MLXArray?, grids: [[Int]], options: GenerationOptions) throws -> [[Int]] {
        let pad = options.padTokenID ?? options.eosTokenIDs.first ?? 0
        let session = try session(prompts: prompts, pixels: pixels, grids: grids, padTokenID: pad)
        return try OCRModels.generate(session, prompts: session.paddedPrompts, options: options)
    }
}
