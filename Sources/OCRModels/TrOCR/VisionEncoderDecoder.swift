// Vision encoder–decoder (reference: transformers' VisionEncoderDecoderModel): a ViT, DeiT or
// BEiT encoder, an optional `enc_to_dec_proj`, a TrOCR decoder; loading from a Hugging Face folder
// (safetensors only) and a decoding session for ``generate(_:prompts:options:)``.

import Foundation
import MLXEngine
import MLXNN

// MARK: - Encoder

/// The image encoder of a vision encoder–decoder: ``ViTEncoder`` (ViT, DeiT) or ``BEiTEncoder``.
public protocol VisionEncoder: Module {
    var config: VisionEncoderConfig { get }
    /// `pixels` [B, C, H, W] (the configured image size) → last hidden state [B, tokens, hidden].
    func callAsFunction(_ pixels: MLXArray) -> MLXArray
}

/// The encoder for `config.model_type`; `pooler`: whether the checkpoint has `pooler.*`.
func makeVisionEncoder(_ config: VisionEncoderConfig, pooler: Bool) throws -> any VisionEncoder {
    switch config.modelType {
    case "beit": try BEiTEncoder(config, pooler: pooler)
    default: try ViTEncoder(config, pooler: pooler)
    }
}

// MARK: - Model

public final class VisionEncoderDecoder: Module {
    @ModuleInfo(key: "encoder") public var encoder: any VisionEncoder
    @ModuleInfo(key: "enc_to_dec_proj") var encoderToDecoder: Linear?
    @ModuleInfo(key: "decoder") public var decoder: TrOCRDecoder
    public let config: VisionEncoderDecoderConfig

    /// Built in training mode (dropout on); ``load(from:)`` returns it in evaluation mode.
    /// `pooler` and `tiedOutput` follow the checkpoint (whether it has `encoder.pooler.*`, and
    /// whether it lacks `decoder.output_projection.weight`).
    public init(_ config: VisionEncoderDecoderConfig, pooler: Bool = false, tiedOutput: Bool? = nil) throws {
        self.config = config
        _encoder.wrappedValue = try makeVisionEncoder(config.encoder, pooler: pooler)
        _encoderToDecoder.wrappedValue = config.hasEncoderToDecoderProjection
            ? Linear(config.encoder.hiddenSize, config.decoder.dModel) : nil
        _decoder.wrappedValue = try TrOCRDecoder(config.decoder, tiedOutput: tiedOutput ?? config.decoder.tieWordEmbeddings)
        super.init()
    }

    /// The encoder output the decoder attends to: [B, tokens, D'] (after `enc_to_dec_proj`).
    public func encode(_ pixels: MLXArray) -> MLXArray {
        let h = encoder(pixels)
        return encoderToDecoder.map { $0(h) } ?? h
    }

    /// Teacher-forced logits [B, L, vocab] of decoder inputs `ids` [B, L] (int32).
    public func callAsFunction(_ pixels: MLXArray, decoderInputs ids: MLXArray) -> MLXArray {
        decoder(ids, encoder: encode(pixels))
    }

    /// A generation session over `encoderOutput` [B, S, D'] (from ``encode(_:)``).
    public func session(encoderOutput: MLXArray) -> VisionEncoderDecoderSession {
        VisionEncoderDecoderSession(decoder: decoder, encoderOutput: encoderOutput)
    }
}

// MARK: - Generation session

public final class VisionEncoderDecoderSession: IncrementalDecoder {
    let decoder: TrOCRDecoder
    var encoderOutput: MLXArray
    let cache: TrOCRDecoderCache

    init(decoder: TrOCRDecoder, encoderOutput: MLXArray) {
        self.decoder = decoder
        self.encoderOutput = encoderOutput
        cache = decoder.makeCache()
    }

    public var rows: Int { encoderOutput.dim(0) }

    public func step(_ tokens: MLXArray) -> MLXArray {
        let logits = decoder(tokens, encoder: encoderOutput, cache: cache)
        return logits.sliced(axis: 1, from: logits.dim(1) - 1).squeezed(axis: 1)
    }

    public func selectRows(_ indices: MLXArray) {
        encoderOutput = encoderOutput.take(indices, axis: 0)
        cache.selectRows(indices)
    }
}

// MARK: - Loading

extension VisionEncoderDecoder {
    /// Loads `config.json` and `model.safetensors` of a Hugging Face folder. A folder with only
    /// `pytorch_model.bin` is refused with the command that converts it.
    public static func load(from folder: URL) throws -> VisionEncoderDecoder {
        let config = try VisionEncoderDecoderConfig.load(from: folder)
        // Older BEiT checkpoints carry the derived `relative_position_index` buffers.
        let weights = try ModelFolder.readWeights(in: folder).filter { !$0.key.hasSuffix(".relative_position_index") }
        let model = try VisionEncoderDecoder(
            config, pooler: weights.keys.contains { $0.hasPrefix("encoder.pooler.") },
            tiedOutput: weights["decoder.output_projection.weight"] == nil)
        try model.update(parameters: weights, verify: .all, source: folder.appendingPathComponent(ModelFolder.weightsFile).path)
        model.train(false)  // inference mode (no dropout); the trainer switches it back
        return model
    }
}
