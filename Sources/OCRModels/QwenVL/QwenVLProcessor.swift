// The Qwen2-VL image processor (used by Qwen2.5-VL and Qwen3-VL): smart_resize to a multiple of
// patch × merge within [min_pixels, max_pixels], Pillow's bicubic resize (the C one in
// CImageCodecs, Pillow 13's pass order), rescale and normalize, and the
// patchify into rows of (C, T, P, P) values in merge-block order with the image repeated over the
// temporal patch; plus the `<|image_pad|>` placeholder expansion and the chat prompt (the model
// folder's chat template, with the hard-coded Qwen structure as the fallback for folders without one).
//
// Reference: transformers/models/qwen2_vl/image_processing_pil_qwen2_vl.py (smart_resize,
// patchify), processing_qwen2_5_vl.py (replace_image_token), Pillow's Resample.c (bicubic).

import Foundation
import MLXEngine
import OCRImaging
import OCRText

// MARK: - Errors

/// Inputs that do not fit together: image placeholders against the images, empty prompts.
public struct QwenVLInputError: InputRejection, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Images the processor cannot take (empty, too elongated) and prompts whose placeholders do not
/// match their images.
public struct QwenVLProcessorError: InputRejection, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Processor

public struct QwenVLImageProcessor: Sendable {
    public var config: QwenVLImageProcessorConfig

    public init(config: QwenVLImageProcessorConfig) { self.config = config }

    public var factor: Int { config.patchSize * config.mergeSize }

    /// Height and width that are multiples of `factor`, closest to the image's, with the pixel
    /// count inside [minPixels, maxPixels] (Python's round: half to even).
    public static func smartResize(
        height: Int, width: Int, factor: Int, minPixels: Int, maxPixels: Int
    ) throws -> (height: Int, width: Int) {
        guard height > 0, width > 0 else { throw QwenVLProcessorError("image of \(width)×\(height) is empty") }
        let ratio = Double(Swift.max(height, width)) / Double(Swift.min(height, width))
        guard ratio <= 200 else {
            throw QwenVLProcessorError("absolute aspect ratio must be smaller than 200, got \(ratio)")
        }
        let f = Double(factor)
        var h = Int((Double(height) / f).rounded(.toNearestOrEven)) * factor
        var w = Int((Double(width) / f).rounded(.toNearestOrEven)) * factor
        if h * w > maxPixels {
            let beta = (Double(height * width) / Double(maxPixels)).squareRoot()
            h = Swift.max(factor, Int((Double(height) / beta / f).rounded(.down)) * factor)
            w = Swift.max(factor, Int((Double(width) / beta / f).rounded(.down)) * factor)
        } else if h * w < minPixels {
            let beta = (Double(minPixels) / Double(height * width)).squareRoot()
            h = Int((Double(height) * beta / f).rounded(.up)) * factor
            w = Int((Double(width) * beta / f).rounded(.up)) * factor
        }
        return (h, w)
    }

    /// Patches [gh·gw, C·T·P·P] (float32) and the grid [1, gh, gw] of one image.
    /// The image at the size the model sees it (``smartResize(height:width:factor:minPixels:maxPixels:)``),
    /// resized as transformers' PIL backend does: Pillow's bicubic on 8 bits, Pillow 13's pass order.
    /// An image already at that size is returned as it is, so a caller may resize ahead (the server
    /// does, on its request threads) and hand the result to ``callAsFunction(_:)-(RGBImage)``.
    public func resizedForModel(_ image: RGBImage) throws -> RGBImage {
        let c = config
        let (h, w) = try Self.smartResize(
            height: image.height, width: image.width, factor: factor, minPixels: c.minPixels, maxPixels: c.maxPixels)
        return image.pillowResized(width: w, height: h, resampling: .bicubic, passOrder: .pillow13)
    }

    public func callAsFunction(_ image: RGBImage) throws -> (pixels: MLXArray, grid: [Int]) {
        let c = config
        let bytes = try resizedForModel(image)
        let (h, w) = (bytes.height, bytes.width)
        let resized = MLXArray(bytes.pixels, [h, w, 3]).asType(.float32)  // 0…255
        let mean = MLXArray(c.imageMean, [1, 1, 3])
        let std = MLXArray(c.imageStd, [1, 1, 3])
        let normalized = (resized * Double(c.rescaleFactor) - mean) / std
        let (p, m, t) = (c.patchSize, c.mergeSize, c.temporalPatchSize)
        let (gh, gw) = (h / p, w / p)
        let patches = normalized.transposed(2, 0, 1)  // [C, H, W]
            .reshaped([3, gh / m, m, p, gw / m, m, p])
            .transposed([1, 4, 2, 5, 0, 3, 6])  // [gh/m, gw/m, m, m, C, P, P]
            .expandedDimensions(axis: 5)
            .broadcast(to: [gh / m, gw / m, m, m, 3, t, p, p])
            .reshaped(gh * gw, 3 * t * p * p)
        return (patches, [1, gh, gw])
    }

    /// Patches of several images, concatenated, and their grids.
    public func callAsFunction(_ images: [RGBImage]) throws -> (pixels: MLXArray, grids: [[Int]]) {
        let each = try images.map { try self($0) }
        return (concatenated(each.map(\.pixels), axis: 0), each.map(\.grid))
    }

    /// Number of `<|image_pad|>` tokens an image of this grid takes.
    public func placeholderCount(grid: [Int]) -> Int {
        grid.reduce(1, *) / (config.mergeSize * config.mergeSize)
    }

    /// Visual tokens (placeholders in the prompt) of an image of this size, without decoding it:
    /// for the dataset's visual-token histogram.
    public func visualTokens(width: Int, height: Int) throws -> Int {
        let (h, w) = try Self.smartResize(
            height: height, width: width, factor: factor, minPixels: config.minPixels, maxPixels: config.maxPixels)
        return placeholderCount(grid: [1, h / config.patchSize, w / config.patchSize])
    }
}

// MARK: - Prompt

/// The Qwen chat prompt: the folder's chat template, or the hard-coded Qwen structure.
public enum QwenVLPrompt {
    public static let imagePad = "<|image_pad|>"
    public static let visionBlock = "<|vision_start|><|image_pad|><|vision_end|>"
    /// Qwen2.5-VL's template adds this system turn when none is given; Qwen3-VL's does not.
    public static let defaultSystem = "You are a helpful assistant."

    /// The prompt of one user turn (one image part per image, then the text) after an optional
    /// system turn, with the assistant turn opened: rendered by `template` as transformers'
    /// `apply_chat_template(add_generation_prompt=True)` does, or, without a template, the
    /// hard-coded structure with `fallbackSystem` when `system` is nil (Qwen2.5-VL's default turn).
    public static func render(
        template: ChatTemplate?, user text: String, images: Int, system: String?, fallbackSystem: String? = nil
    ) throws -> String {
        guard let template else { return chat(user: text, images: images, system: system ?? fallbackSystem) }
        var messages: [ChatMessage] = system.map { [.system($0)] } ?? []
        messages.append(.user([ChatMessage.Part](repeating: .image, count: images) + [.text(text)]))
        return try template.render(messages: messages, addGenerationPrompt: true)
    }

    /// `<|im_start|>user\n` + one vision block per image + the text, then the assistant turn opened.
    public static func chat(user text: String, images: Int, system: String?) -> String {
        var s = ""
        if let system { s += "<|im_start|>system\n\(system)<|im_end|>\n" }
        s += "<|im_start|>user\n" + String(repeating: visionBlock, count: images) + text + "<|im_end|>\n"
        s += "<|im_start|>assistant\n"
        return s
    }

    /// The prompt with the i-th `<|image_pad|>` repeated `counts[i]` times (the processor's expansion).
    public static func expandPlaceholders(_ text: String, counts: [Int]) throws -> String {
        let parts = text.components(separatedBy: imagePad)
        guard parts.count - 1 == counts.count else {
            throw QwenVLProcessorError("the prompt has \(parts.count - 1) \(imagePad) for \(counts.count) images")
        }
        var out = parts[0]
        for (n, rest) in zip(counts, parts.dropFirst()) { out += String(repeating: imagePad, count: n) + rest }
        return out
    }
}
