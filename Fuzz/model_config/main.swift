// Fuzz/model_config — libFuzzer target for the families' `config.json` and processor files
// (Sources/OCRModels/*/*Config.swift with ModelFolderError.swift, compiled alone with swiftc over
// two small modules holding MLXNN's Activation / StrictStringEnum and OCRImaging's
// PillowResampling). Every input is decoded as each family's config type; what decodes must give
// the derived values the model builders read (head widths, grids, channels) without a trap, and a
// Codable config must decode again from its own encoding. Bad files throw DecodingError or
// ModelFolderError (the loader names the file); nothing may trap.

import Foundation

private func roundTrip<C: Codable & Equatable>(_ config: C) {
    guard let data = try? JSONEncoder().encode(config) else { return }  // e.g. an infinite Double
    do {
        let again = try JSONDecoder().decode(C.self, from: data)
        precondition(again == config, "\(C.self) changed through its own encoding")
    } catch {
        fatalError("\(C.self) does not decode its own encoding: \(error)")
    }
}

private func decode<C: Decodable>(_ type: C.Type, _ data: Data, _ use: (C) throws -> Void) {
    do {
        try use(try JSONDecoder().decode(C.self, from: data))
    } catch is DecodingError {
    } catch is ModelFolderError {
    } catch {
        fatalError("untyped error from \(C.self): \(error)")
    }
}

/// What the SVTR necks compute from their config (SVTRNeck.swift, PPOCRV6Network.swift).
private func neckSizes(hidden: Int, heads: Int, depth: Int, mlpRatio: Double) {
    _ = (hidden / heads, Int(Double(hidden) * mlpRatio), (0 ..< depth).count)
}

/// What PP-LCNetV4's builder computes from its config (PPLCNetV4.swift).
private func lcnetV4Sizes(_ c: PPLCNetV4Config) {
    _ = (c.outputChannels, c.stemChannels[1] / 2, 2 * c.stemChannels[1], c.stemStrides[4])
    for stage in c.blockConfigs { for block in stage { _ = (block.depthwiseActivation, block.inChannels / c.reduction) } }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelConfig(_ bytes: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let data = Data(bytes.map { UnsafeBufferPointer(start: $0, count: size) } ?? UnsafeBufferPointer(start: nil, count: 0))
    decode(PPOCRRecognizerConfig.self, data) { c in
        _ = c.neckInputChannels
        for stage in c.backboneConfig.blockConfigs {
            for block in stage { _ = (block.depthwiseActivation, c.backboneConfig.scaled(block.outChannels) / c.backboneConfig.reduction) }
        }
        neckSizes(hidden: c.hiddenSize, heads: c.numAttentionHeads, depth: c.depth, mlpRatio: c.mlpRatio)
        _ = (c.imageWidth / c.poolKernelSize[1], c.convKernelSize[0] / 2, c.convKernelSize[1] / 2, c.blankIndex % c.headOutChannels)
        roundTrip(c)
    }
    decode(PPOCRV6RecognizerConfig.self, data) { c in
        lcnetV4Sizes(c.backboneConfig)
        neckSizes(hidden: c.hiddenSize, heads: c.numAttentionHeads, depth: c.depth, mlpRatio: c.mlpRatio)
        _ = (c.convKernelSize[0] / 2, c.convKernelSize[1] / 2)
        roundTrip(c)
    }
    decode(PPOCRV6DetConfig.self, data) { c in
        lcnetV4Sizes(c.backboneConfig)
        // The neck's squeeze-excitations and the head's kernels, as PPOCRV6Detector builds them.
        _ = (c.neckOutChannels / c.reduction, c.neckOutChannels / 4 / c.reduction, c.kernelList[0] / 2, c.dilatedKernelSize / 2)
        precondition(c.neckOutChannels / 4 / c.reduction >= 1, "a squeeze-excitation of no channels")
        for channels in c.layerListOutChannels { _ = channels / c.reduction }
        roundTrip(c)
    }
    decode(QwenVLConfig.self, data) { c in
        _ = c.textConfig.resolvedHeadDim
        roundTrip(c.textConfig)
        roundTrip(c.visionConfig)
    }
    decode(QwenVLImageProcessorConfig.self, data) { c in roundTrip(c) }
    decode(DeepSeekOCRConfig.self, data) { c in
        _ = (c.visionWidth, c.text.headDim, c.sam.grid, c.sam.headDim, c.clip?.grid, c.encoder?.headDim)
        roundTrip(c.text)
    }
    decode(LatexJuniaConfig.self, data) { c in
        try c.validate()
        _ = c.patchGrid
        roundTrip(c)
    }
    decode(LatexJuniaPreprocessorConfig.self, data) { c in roundTrip(c) }
    decode(LatexJuniaGenerationConfig.self, data) { c in roundTrip(c) }
    decode(VisionEncoderDecoderConfig.self, data) { c in
        _ = (c.startTokenID, c.crossAttentionInput, c.hasEncoderToDecoderProjection, c.encoder.prefixTokens)
        roundTrip(c)
    }
    decode(ViTImageProcessorConfig.self, data) { c in roundTrip(c) }
    return 0
}
