// DeepSeek-OCR (v1) and DeepSeek-OCR 2 for generation: `model.sam_model`, the second vision stage
// (`model.vision_model`, v1's CLIP on SAM; `model.qwen2_model`, v2's query encoder), the linear
// `model.projector`, `model.image_newline` (v1) and `model.view_seperator`, the MoE language model
// (`model.embed_tokens`, `model.layers`, `model.norm`) and `lm_head`. An image's features, in token
// order: its tiles (v1: with a newline after every row of the tiled grid), its global view (v1: a
// newline after every row), the view separator — scattered into the `<image>` positions. Loading
// takes DeepSeek's original key names (what the published checkpoints and transformers'
// save_pretrained write) or transformers' own (`save_original_format=False`), single or sharded
// safetensors, bf16 widened to float32 on the CPU, and 4/8-bit language-model linears.
//
// Reference: the Hub's modeling_deepseekocr.py (DeepseekOCRModel.forward); transformers/models/
// deepseek_ocr2/modeling_deepseek_ocr2.py (DeepseekOcr2Model.get_image_features, forward) and
// conversion_mapping.py ("deepseek_ocr2": the two key layouts).

import Foundation
import MLXEngine
import MLXNN

/// Labels that are not scored (transformers' ignore index).
public let deepSeekIgnoreIndex = -100

// MARK: - Modules

final class DeepSeekProjector: Module {
    @ModuleInfo(key: "layers") var layers: Linear

    init(input: Int, output: Int) {
        _layers.wrappedValue = Linear(input, output)
        super.init()
    }
}

/// `model`: the vision stages, the projector, the special embeddings and the language model.
public final class DeepSeekOCRCore: Module {
    @ModuleInfo(key: "sam_model") public var sam: DeepSeekSAMEncoder
    @ModuleInfo(key: "vision_model") public var clip: DeepSeekCLIPOnSAM?
    @ModuleInfo(key: "qwen2_model") public var encoder: DeepSeekOCR2Encoder?
    @ModuleInfo(key: "projector") var projector: DeepSeekProjector
    @ParameterInfo(key: "image_newline") var imageNewline: MLXArray?
    @ParameterInfo(key: "view_seperator") var viewSeparator: MLXArray
    @ModuleInfo(key: "embed_tokens") public var embedTokens: Embedding
    /// Plain property (not @ModuleInfo) so LoRA and quantization can replace layers inside.
    let layers: [DeepSeekDecoderLayer]
    @ModuleInfo(key: "norm") var norm: RMSNorm

    init(_ c: DeepSeekOCRConfig) throws {
        let t = c.text
        _sam.wrappedValue = DeepSeekSAMEncoder(c.sam)
        _clip.wrappedValue = c.clip.map { DeepSeekCLIPOnSAM($0) }
        _encoder.wrappedValue = try c.encoder.map { try DeepSeekOCR2Encoder($0) }
        _projector.wrappedValue = DeepSeekProjector(input: c.visionWidth, output: t.hiddenSize)
        _imageNewline.wrappedValue = c.version == .v1 ? zeros([t.hiddenSize]) : nil
        _viewSeparator.wrappedValue = zeros([t.hiddenSize])
        _embedTokens.wrappedValue = Embedding(count: t.vocabSize, dimensions: t.hiddenSize)
        layers = t.sparseLayers.map { DeepSeekDecoderLayer(t, sparse: $0) }
        _norm.wrappedValue = RMSNorm(dimensions: t.hiddenSize, eps: Float(t.rmsNormEps))
        super.init()
    }
}

/// One image as the processor prepares it: the global view [S, S, 3] (normalized, channels-last),
/// the tiles [n, T, T, 3] or nil, the tile grid (columns, rows) and its `<image>` token count.
public struct DeepSeekOCRImageInput {
    public let global: MLXArray
    public let tiles: MLXArray?
    public let grid: (columns: Int, rows: Int)
    public let tokenCount: Int
}

// MARK: - Model

public final class DeepSeekOCRModel: Module {
    public let config: DeepSeekOCRConfig
    @ModuleInfo(key: "model") public var model: DeepSeekOCRCore
    @ModuleInfo(key: "lm_head") public var lmHead: Linear?
    /// The `<image>` placeholder id (the recognizer aligns it with the tokenizer's).
    public var imageTokenID: Int
    private let _rotary: DeepSeekRotary

    public init(config: DeepSeekOCRConfig) throws {
        self.config = config
        imageTokenID = config.imageTokenID
        _model.wrappedValue = try DeepSeekOCRCore(config)
        let t = config.text
        _lmHead.wrappedValue = config.tieWordEmbeddings ? nil : Linear(t.hiddenSize, t.vocabSize, bias: false)
        _rotary = DeepSeekRotary(headDim: t.headDim, theta: t.ropeTheta)
        super.init()
    }

    public var version: DeepSeekOCRVersion { config.version }

    /// A new KV cache per decoder layer.
    public func makeCaches() -> [KVCache] { model.layers.map { _ in KVCache() } }

    // MARK: Vision

    /// Projected features [B, tokens, hidden] of views [B, S, S, 3]: SAM, then CLIP on SAM with
    /// the SAM features concatenated (v1) or the query encoder (v2), then the projector.
    public func encodeViews(_ pixels: MLXArray) -> MLXArray {
        let sam = model.sam(pixels.asType(model.embedTokens.weight.dtype))
        let features: MLXArray
        if let clip = model.clip {
            features = clip.features(sam)
        } else {
            features = model.encoder!(sam)
        }
        return model.projector.layers(features)
    }

    /// The features of each image in token order (tiles, global view, separator; v1 with its
    /// newline tokens), concatenated over the images: [Σ tokenCount, hidden]. Images are encoded
    /// one at a time (global view, then its tiles together), which bounds the memory of SAM's
    /// global attention (heads × 4096² scores per 1024 view) without costing speed: its products
    /// are large already.
    public func imageFeatures(_ images: [DeepSeekOCRImageInput]) -> MLXArray {
        guard !images.isEmpty else { return zeros([0, config.text.hiddenSize]) }
        var pieces: [MLXArray] = []
        for image in images {
            let global = encodeViews(image.global.expandedDimensions(axis: 0)).squeezed(axis: 0)  // [s·s, D]
            if let tiles = image.tiles { pieces.append(arrangeTiles(encodeViews(tiles), grid: image.grid)) }
            pieces.append(arrangeGlobal(global))
            pieces.append(model.viewSeparator.reshaped(1, global.dim(1)).asType(global.dtype))
        }
        return concatenated(pieces, axis: 0)
    }

    /// v1: a newline after each row of the square feature grid; v2: the features as they are.
    func arrangeGlobal(_ features: MLXArray) -> MLXArray {
        guard let newline = model.imageNewline else { return features }
        let d = features.dim(1)
        let side = Int(Double(features.dim(0)).squareRoot())
        return withNewlines(features.reshaped(side, side, d), newline: newline)
    }

    /// v1: the tiles' grids joined into one (rows × columns of tiles) with a newline after each
    /// row; v2: the tiles' features in order.
    func arrangeTiles(_ tiles: MLXArray, grid: (columns: Int, rows: Int)) -> MLXArray {
        let (n, q, d) = (tiles.dim(0), tiles.dim(1), tiles.dim(2))
        guard let newline = model.imageNewline else { return tiles.reshaped(n * q, d) }
        let side = Int(Double(q).squareRoot())
        let joined = tiles.reshaped(grid.rows, grid.columns, side, side, d).transposed(0, 2, 1, 3, 4)
            .reshaped(grid.rows * side, grid.columns * side, d)
        return withNewlines(joined, newline: newline)
    }

    private func withNewlines(_ grid: MLXArray, newline: MLXArray) -> MLXArray {
        let (h, w, d) = (grid.dim(0), grid.dim(1), grid.dim(2))
        let column = newline.asType(grid.dtype).reshaped(1, 1, d).broadcast(to: [h, 1, d])
        return concatenated([grid, column], axis: 1).reshaped(h * (w + 1), d)
    }

    // MARK: Forward

    /// Token embeddings [B, L, D] with each image's features at the `<image>` positions (images in
    /// row order). `features` (``imageFeatures(_:)`` of the same images, computed earlier) skips
    /// the vision pass.
    public func embed(inputIds: [[Int]], images: [DeepSeekOCRImageInput], features: MLXArray? = nil) throws -> MLXArray {
        let (b, l) = (inputIds.count, inputIds.first?.count ?? 0)
        let ids = MLXArray(inputIds.flatMap { $0.map(Int32.init) }, [b, l])
        let text = model.embedTokens(ids)
        guard !images.isEmpty || features != nil else { return text }
        let features = features ?? imageFeatures(images)
        let (index, count) = imageMergeIndex(inputIds: inputIds, imageTokenID: imageTokenID)
        guard count == features.dim(0) else {
            throw DeepSeekOCRError("\(count) <image> tokens in the prompts for \(features.dim(0)) image features")
        }
        let d = text.dim(-1)
        return concatenated([text.reshaped(b * l, d), features.asType(text.dtype)], axis: 0)
            .take(MLXArray(index, [index.count]), axis: 0).reshaped(b, l, d)
    }

    /// Final hidden states [B, L, D] for positions [B, L] (int32).
    public func hiddenStates(embeddings: MLXArray, positions: MLXArray, mask: AttentionMask, caches: [KVCache]?) -> MLXArray {
        let (cos, sin) = _rotary(positions: positions, dtype: embeddings.dtype)
        var h = embeddings
        for (i, layer) in model.layers.enumerated() { h = layer(h, cos: cos, sin: sin, mask: mask, cache: caches?[i]) }
        return model.norm(h)
    }

    public func logits(_ hidden: MLXArray) -> MLXArray {
        if let lmHead { return lmHead(hidden) }
        return model.embedTokens.asLinear(hidden)
    }

    /// Positions 0 ..< L for every row.
    static func positions(rows: Int, length: Int) -> MLXArray {
        arange(length).reshaped(1, length).broadcast(to: [rows, length])
    }

    /// Final hidden states of a full causal pass (no padding).
    public func hiddenStates(
        inputIds: [[Int]], images: [DeepSeekOCRImageInput], features: MLXArray? = nil, caches: [KVCache]? = nil
    ) throws -> MLXArray {
        let embeddings = try embed(inputIds: inputIds, images: images, features: features)
        let (b, l) = (embeddings.dim(0), embeddings.dim(1))
        return hiddenStates(
            embeddings: embeddings, positions: Self.positions(rows: b, length: l), mask: l > 1 ? .causal : .none, caches: caches)
    }

    /// Logits [B, L, vocab] of a full causal pass.
    public func callAsFunction(inputIds: [[Int]], images: [DeepSeekOCRImageInput], features: MLXArray? = nil) throws -> MLXArray {
        logits(try hiddenStates(inputIds: inputIds, images: images, features: features))
    }

    /// Mean cross-entropy of `labels` [B, L] (`deepSeekIgnoreIndex` where unscored; the logits at
    /// t predict the label at t + 1), the LM head run at the scored positions only.
    public func loss(
        inputIds: [[Int]], images: [DeepSeekOCRImageInput], features: MLXArray? = nil, labels: MLXArray
    ) throws -> MLXArray {
        let hidden = try hiddenStates(inputIds: inputIds, images: images, features: features)
        let (b, l, d) = (hidden.dim(0), hidden.dim(1), hidden.dim(2))
        let targets = labels.sliced(axis: 1, from: 1)
        let scored = targets.asArray(Int32.self).enumerated().filter { $0.element != Int32(deepSeekIgnoreIndex) }
        guard !scored.isEmpty else {
            return crossEntropy(
                logits: logits(hidden.sliced(axis: 1, from: 0, to: l - 1)), targets: targets, ignoreIndex: deepSeekIgnoreIndex)
        }
        let rows = MLXArray(scored.map { Int32($0.offset) }, [scored.count])
        let picked = hidden.sliced(axis: 1, from: 0, to: l - 1).reshaped(b * (l - 1), d).take(rows, axis: 0)
        return crossEntropy(logits: logits(picked), targets: MLXArray(scored.map(\.element), [scored.count]))
    }
}

public struct DeepSeekOCRError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = "DeepSeek-OCR: " + description }
}
