// DeepSeek-OCR 2's vision encoder ("qwen2_model"): a Qwen2 decoder stack run over the SAM features
// followed by learned queries (144 for a 768 tile's 12 × 12 features, 256 for the 1024 view's
// 16 × 16), with a hybrid mask — the image features attend to each other bidirectionally, the
// queries causally to everything before them — and 1-D rotary positions; its output at the query
// positions is the image's features. The blocks are Qwen-VL's (QwenDecoderLayer: q/k/v biases,
// SwiGLU MLP, RMSNorm). Key names are DeepSeek's (`qwen2_model.model.model.layers.N`,
// `qwen2_model.query_768`); transformers' (`vision_tower.vision_encoder.layers.N`,
// `vision_tower.query_768_resolution`) are mapped at load.
//
// Reference: transformers/models/deepseek_ocr2/modeling_deepseek_ocr2.py (DeepseekOcr2VisionModel,
// DeepseekOcr2VisionEncoder with create_causal_mask + block_sequence_ids).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Stack

final class OCR2EncoderStack: Module {
    let layers: [QwenDecoderLayer]
    @ModuleInfo(key: "norm") var norm: RMSNorm

    init(_ c: DeepSeekOCR2EncoderConfig) throws {
        let qwen = try Self.qwenConfig(c)
        layers = (0 ..< c.layers).map { _ in QwenDecoderLayer(qwen, version: .qwen2_5) }
        _norm.wrappedValue = RMSNorm(dimensions: c.hiddenSize, eps: Float(c.rmsNormEps))
        super.init()
    }

    /// The Qwen2 layer settings of the encoder (biases on q/k/v, none on o; no M-RoPE sections
    /// are used, positions are 1-D).
    static func qwenConfig(_ c: DeepSeekOCR2EncoderConfig) throws -> QwenVLTextConfig {
        let json: [String: Any] = [
            "vocab_size": 1, "hidden_size": c.hiddenSize, "intermediate_size": c.intermediateSize,
            "num_hidden_layers": c.layers, "num_attention_heads": c.heads, "num_key_value_heads": c.kvHeads,
            "rms_norm_eps": c.rmsNormEps,
            "rope_parameters": ["rope_theta": c.ropeTheta, "mrope_section": [c.headDim / 2, 0, 0]],
        ]
        return try JSONDecoder().decode(QwenVLTextConfig.self, from: JSONSerialization.data(withJSONObject: json))
    }
}

final class OCR2EncoderModel: Module {
    @ModuleInfo(key: "model") var model: OCR2EncoderStack

    init(_ c: DeepSeekOCR2EncoderConfig) throws {
        _model.wrappedValue = try OCR2EncoderStack(c)
        super.init()
    }
}

final class LearnedQueries: Module {
    let weight: MLXArray

    init(count: Int, width: Int) {
        weight = zeros([count, width])
        super.init()
    }
}

// MARK: - Encoder

/// `qwen2_model`: SAM features [B, h, w, D] → query features [B, Q, D].
public final class DeepSeekOCR2Encoder: Module {
    @ModuleInfo(key: "model") var model: OCR2EncoderModel
    @ModuleInfo(key: "query_768") var query768: LearnedQueries
    @ModuleInfo(key: "query_1024") var query1024: LearnedQueries
    let config: DeepSeekOCR2EncoderConfig
    private let _invFreq: MLXArray

    init(_ c: DeepSeekOCR2EncoderConfig) throws {
        config = c
        _model.wrappedValue = try OCR2EncoderModel(c)
        _query768.wrappedValue = LearnedQueries(count: 144, width: c.hiddenSize)
        _query1024.wrappedValue = LearnedQueries(count: 256, width: c.hiddenSize)
        let dim = c.headDim
        _invFreq = MLXArray((0 ..< dim / 2).map { Float(1 / pow(c.ropeTheta, Double(2 * $0) / Double(dim))) }, [dim / 2])
        super.init()
    }

    public func callAsFunction(_ samFeatures: MLXArray) -> MLXArray {
        let (b, h, w, d) = (samFeatures.dim(0), samFeatures.dim(1), samFeatures.dim(2), samFeatures.dim(3))
        let n = h * w
        let queries = (n <= 144 ? query768.weight : query1024.weight).asType(samFeatures.dtype)
        let q = queries.dim(0)
        let length = n + q
        var x = concatenated(
            [samFeatures.reshaped(b, n, d), queries.expandedDimensions(axis: 0).broadcast(to: [b, q, d])], axis: 1)
        // Rotary positions 0 ..< n + q.
        let freqs = arange(Double(0), Double(length)).reshaped(length, 1) * _invFreq
        let emb = concatenated([freqs, freqs], axis: -1).reshaped(1, 1, length, -1)
        let (cos, sin) = (MLXEngine.cos(emb).asType(x.dtype), MLXEngine.sin(emb).asType(x.dtype))
        // Causal, plus the image block (positions < n) bidirectional within itself.
        let rows = arange(length).reshaped(length, 1)
        let cols = arange(length).reshaped(1, length)
        let allowed = logicalOr(cols .<= rows, logicalAnd(rows .< Double(n), cols .< Double(n)))
        for layer in model.model.layers { x = layer(x, cos: cos, sin: sin, mask: .array(allowed), cache: nil) }
        return model.model.norm(x).sliced(axis: 1, from: n)
    }
}
