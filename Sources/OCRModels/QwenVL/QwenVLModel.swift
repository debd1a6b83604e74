// The Qwen-VL conditional-generation model (both versions): `model.visual` (the version's tower),
// `model.language_model`, `lm_head` (absent when tied), the forward pass with the image-feature
// merge and DeepStack injection, and loading from a Hugging Face folder (single or sharded
// safetensors, the original Qwen2.5-VL key layout, bf16, 4/8-bit LM linears).
//
// Reference: transformers/models/qwen2_5_vl/modeling_qwen2_5_vl.py (Qwen2_5_VLModel.forward),
// transformers/models/qwen3_vl/modeling_qwen3_vl.py (Qwen3VLModel.forward, _deepstack_process).

import Foundation
import MLXEngine
import MLXNN

/// The ignored label of training batches (transformers' −100).
public let qwenIgnoreIndex = -100

// MARK: - Modules

/// `model`: the vision tower and the language model.
public final class QwenVLCore: Module {
    @ModuleInfo(key: "visual") public var visual: any QwenVisionTower
    @ModuleInfo(key: "language_model") public var languageModel: QwenTextModel

    init(_ config: QwenVLConfig) {
        switch config.modelType {
        case .qwen2_5: _visual.wrappedValue = Qwen25VisionTower(config.visionConfig)
        case .qwen3: _visual.wrappedValue = Qwen3VisionTower(config.visionConfig)
        }
        _languageModel.wrappedValue = QwenTextModel(config.textConfig, version: config.modelType)
        super.init()
    }
}

/// Qwen2.5-VL / Qwen3-VL for conditional generation. Parameter names are transformers 5's
/// (`model.visual.…`, `model.language_model.…`, `lm_head.weight`).
public final class QwenVLModel: Module {
    public let config: QwenVLConfig
    @ModuleInfo(key: "model") public var model: QwenVLCore
    @ModuleInfo(key: "lm_head") public var lmHead: Linear?

    public init(config: QwenVLConfig) {
        self.config = config
        _model.wrappedValue = QwenVLCore(config)
        let t = config.textConfig
        _lmHead.wrappedValue = config.tieWordEmbeddings ? nil : Linear(t.hiddenSize, t.vocabSize, bias: false)
        super.init()
    }

    /// A new KV cache per decoder layer.
    public func makeCaches() -> [KVCache] { model.languageModel.layers.map { _ in KVCache() } }

    // MARK: Positions

    /// M-RoPE positions [3, B, L] for rows of equal length, and each row's delta. Images are
    /// taken in order across the rows. `leftPadding[r]` leading tokens of row r are padding: they
    /// get position 0 and the rest is indexed as if unpadded (transformers' `get_rope_index` with
    /// an attention mask).
    public func ropePositions(
        inputIds: [[Int]], grids: [[Int]], leftPadding: [Int]? = nil
    ) throws -> (positions: MLXArray, deltas: [Int]) {
        var rows: [[[Int32]]] = []
        var deltas: [Int] = []
        var next = 0
        let merge = config.visionConfig.spatialMergeSize
        for (r, row) in inputIds.enumerated() {
            let pad = leftPadding?[r] ?? 0
            let ids = Array(row.dropFirst(pad))
            let runs = imageRunCount(ids)
            guard next + runs <= grids.count else {
                throw QwenVLInputError("the prompts have more image placeholder runs than the \(grids.count) images")
            }
            var (p, d) = try qwenRopeIndex(
                inputIds: ids, imageTokenID: config.imageTokenID, grids: Array(grids[next ..< next + runs]), mergeSize: merge)
            if pad > 0 { p = p.map { [Int32](repeating: 0, count: pad) + $0 } }
            next += runs
            rows.append(p)
            deltas.append(d)
        }
        let (b, l) = (inputIds.count, inputIds.first?.count ?? 0)
        var flat: [Int32] = []
        for axis in 0 ..< 3 { for r in rows { flat += r[axis] } }
        return (MLXArray(flat, [3, b, l]), deltas)
    }

    private func imageRunCount(_ ids: [Int]) -> Int {
        var runs = 0
        var previous = false
        for id in ids {
            let isImage = id == config.imageTokenID
            if isImage && !previous { runs += 1 }
            previous = isImage
        }
        return runs
    }

    // MARK: Forward

    /// Token embeddings with the image features at the `<|image_pad|>` positions, and the
    /// DeepStack hook (Qwen3-VL) adding the tower's extra features after the first layers.
    public func embed(
        inputIds: [[Int]], pixels: MLXArray?, grids: [[Int]]
    ) throws -> (embeddings: MLXArray, deepstack: ((Int, MLXArray) -> MLXArray)?) {
        let (b, l) = (inputIds.count, inputIds.first?.count ?? 0)
        let ids = MLXArray(inputIds.flatMap { $0.map(Int32.init) }, [b, l])
        let text = model.languageModel.embedTokens(ids)
        guard let pixels, !grids.isEmpty else { return (text, nil) }
        let (index, count) = imageMergeIndex(inputIds: inputIds, imageTokenID: config.imageTokenID)
        let merge = config.visionConfig.spatialMergeSize
        let features = grids.reduce(0) { $0 + ($1.count == 3 ? $1[0] * $1[1] * $1[2] / (merge * merge) : 0) }
        guard count == features else {
            throw QwenVLInputError("\(count) image placeholder tokens for \(features) image features (did the text contain image tokens?)")
        }
        let vision = model.visual(pixels, grids: grids)
        let d = text.dim(-1)
        let gather = MLXArray(index, [index.count])
        let merged = concatenated([text.reshaped(b * l, d), vision.embeddings.asType(text.dtype)], axis: 0)
            .take(gather, axis: 0).reshaped(b, l, d)
        guard !vision.deepstack.isEmpty else { return (merged, nil) }
        let textZeros = zeros([b * l, d], dtype: text.dtype)
        let extra = vision.deepstack.map { ds in
            concatenated([textZeros, ds.asType(text.dtype)], axis: 0).take(gather, axis: 0).reshaped(b, l, d)
        }
        return (merged, { i, h in i < extra.count ? h + extra[i] : h })
    }

    /// Final hidden states [B, L, D].
    public func hiddenStates(
        embeddings: MLXArray, positions: MLXArray, mask: AttentionMask, caches: [KVCache]?,
        deepstack: ((Int, MLXArray) -> MLXArray)? = nil
    ) -> MLXArray {
        model.languageModel(embeddings: embeddings, positions: positions, mask: mask, caches: caches, deepstack: deepstack)
    }

    /// Logits of hidden states.
    public func logits(_ hidden: MLXArray) -> MLXArray {
        if let lmHead { return lmHead(hidden) }
        return model.languageModel.embedTokens.asLinear(hidden)
    }

    /// Logits [B, L, vocab] of a full (prefill) pass, causal, from an empty or given cache.
    public func callAsFunction(
        inputIds: [[Int]], pixels: MLXArray?, grids: [[Int]], caches: [KVCache]? = nil
    ) throws -> MLXArray {
        logits(try hiddenStates(inputIds: inputIds, pixels: pixels, grids: grids, caches: caches))
    }

    /// Mean cross-entropy of `labels` [B, L] (`qwenIgnoreIndex` where unscored): the logits at
    /// position t predict the label at t + 1. The LM head runs only at the scored positions (as
    /// transformers' `logits_to_keep`): on answer-only batches they are a few percent of the
    /// sequence, and the head (vocab × hidden, 151,936 × 2048 on the 3B) would otherwise be most of
    /// a LoRA step's products, forward and backward.
    public func loss(inputIds: [[Int]], pixels: MLXArray?, grids: [[Int]], labels: MLXArray) throws -> MLXArray {
        let hidden = try hiddenStates(inputIds: inputIds, pixels: pixels, grids: grids)
        let (b, l, d) = (hidden.dim(0), hidden.dim(1), hidden.dim(2))
        let targets = labels.sliced(axis: 1, from: 1)
        let scored = targets.asArray(Int32.self).enumerated().filter { $0.element != Int32(qwenIgnoreIndex) }
        guard !scored.isEmpty else {
            return crossEntropy(
                logits: logits(hidden.sliced(axis: 1, from: 0, to: l - 1)), targets: targets, ignoreIndex: qwenIgnoreIndex)
        }
        // Row r · (L − 1) + t of the flattened positions 0 ..< L − 1 predicts label t + 1 of row r.
        let rows = MLXArray(scored.map { Int32($0.offset) }, [scored.count])
        let picked = hidden.sliced(axis: 1, from: 0, to: l - 1).reshaped(b * (l - 1), d).take(rows, axis: 0)
        return crossEntropy(logits: logits(picked), targets: MLXArray(scored.map(\.element), [scored.count]))
    }

    /// Final hidden states [B, L, D] of a full (prefill) pass, causal: the pass before the LM head.
    public func hiddenStates(
        inputIds: [[Int]], pixels: MLXArray?, grids: [[Int]], caches: [KVCache]? = nil
    ) throws -> MLXArray {
        let (embeddings, deepstack) = try embed(inputIds: inputIds, pixels: pixels, grids: grids)
        let (positions, _) = try ropePositions(inputIds: inputIds, grids: grids)
        let mask: AttentionMask = embeddings.dim(1) > 1 ? .causal : .none
        return hiddenStates(embeddings: embeddings, positions: positions, mask: mask, caches: caches, deepstack: deepstack)
    }
}

// MARK: - Loading

/// How to load a Qwen-VL folder.
public struct QwenVLLoadOptions: Sendable {
    /// Dtype of the floating-point weights (float32, bfloat16, float16); nil keeps the checkpoint's,
    /// except on the CPU, where half-precision weights are widened to float32: MLX's CPU matmul
    /// uses BLAS only for float32 (bf16 ran 17× slower in bench/results/qwenvl.json).
    public var dtype: DType?
    /// 4 or 8 to quantize the language model's linears (group-wise affine), nil to keep them.
    public var quantizationBits: Int?
    public var quantizationGroupSize: Int

    public init(dtype: DType? = nil, quantizationBits: Int? = nil, quantizationGroupSize: Int = 64) {
        self.dtype = dtype
        self.quantizationBits = quantizationBits
        self.quantizationGroupSize = quantizationGroupSize
    }
}

extension QwenVLModel {
    /// Maps checkpoint keys to ours: the original Qwen2.5-VL layout (`visual.…`, `model.layers.…`)
    /// becomes `model.visual.…` / `model.language_model.…`; a tied `lm_head.weight` is dropped.
    public static func sanitize(_ weights: [String: MLXArray], tied: Bool) -> [String: MLXArray] {
        var out: [String: MLXArray] = [:]
        for (key, value) in weights {
            var k = key
            if k.hasPrefix("visual.") {
                k = "model." + k
            } else if k.hasPrefix("model."), !k.hasPrefix("model.visual."), !k.hasPrefix("model.language_model.") {
                k = "model.language_model." + k.dropFirst("model.".count)
            }
            if tied && k == "lm_head.weight" { continue }
            out[k] = value
        }
        return out
    }

    /// Loads a Hugging Face Qwen2.5-VL / Qwen3-VL folder.
    public static func load(from folder: URL, options: QwenVLLoadOptions = .init()) throws -> QwenVLModel {
        let config = try ModelFolder.readConfig(QwenVLConfig.self, at: folder)
        let model = QwenVLModel(config: config)
        var weights: [String: MLXArray] = [:]
        let files = try ModelFolder.weightFiles(in: folder)
        for file in files {
            weights.merge(try loadSafeTensors(path: file.path).arrays) { a, _ in a }
        }
        weights = sanitize(weights, tied: config.tieWordEmbeddings)
        if let dtype = options.dtype {
            for (k, v) in weights where v.dtype.isFloatingPoint && v.dtype != dtype { weights[k] = v.asType(dtype) }
        } else if Device.defaultDevice == .cpu {
            for (k, v) in weights where v.dtype == .bfloat16 || v.dtype == .float16 { weights[k] = v.asType(.float32) }
        }
        try model.update(parameters: weights, verify: .all, source: files.map(\.path).joined(separator: ", "))
        if let bits = options.quantizationBits {
            try model.quantizeLinears(
                matching: ["model.language_model.layers.*"], groupSize: options.quantizationGroupSize, bits: bits)
        }
        try eval(model.parameters().map(\.array))
        return model
    }
}
