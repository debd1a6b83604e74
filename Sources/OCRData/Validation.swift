// Validation of one raw record: file, header (decompression-bomb guard), decode, size, text.

import Foundation
import OCRImaging

// MARK: - Options

/// Unicode normalization applied to every text.
public enum TextNormalization: String, Codable, Sendable, CaseIterable {
    case nfc, nfkc, none

    public func apply(_ s: String) -> String {
        switch self {
        case .nfc: return s.precomposedStringWithCanonicalMapping
        case .nfkc: return s.precomposedStringWithCompatibilityMapping
        case .none: return s
        }
    }
}

/// What a record must satisfy. JSON keys are snake_case.
public struct ValidationOptions: Codable, Sendable, Equatable {
    /// Smallest allowed width and height, in pixels.
    public var minSide: Int = 8
    /// Largest allowed width × height, read from the header before decoding (Pillow's default).
    public var maxPixels: Int = ImageCodec.defaultMaxPixels
    public var normalization: TextNormalization = .nfc

    public init(minSide: Int = 8, maxPixels: Int = ImageCodec.defaultMaxPixels, normalization: TextNormalization = .nfc) {
        self.minSide = minSide
        self.maxPixels = maxPixels
        self.normalization = normalization
    }

    enum CodingKeys: String, CodingKey {
        case minSide = "min_side", maxPixels = "max_pixels", normalization
    }
}

// MARK: - Result

/// A record that passed validation, with what later stages need.
public struct ValidatedRecord: Sendable {
    public var source: SourceLocation
    /// Original encoded bytes (PNG for `--crop-lines` crops).
    public var imageBytes: Data
    public var imagePath: String?
    /// Trimmed, normalized text.
    public var text: String
    public var metadata: [String: String]
    public var format: ImageFormat
    public var width: Int
    public var height: Int
    /// SHA-256 of `imageBytes` (exact-duplicate key).
    public var digest: Digest256
    /// Difference hash of the decoded image (leakage check).
    public var dhash: UInt64
    /// Whether normalization changed the text.
    public var normalized: Bool
}

/// Validation outcome.
public enum ValidationResult: Sendable {
    case accepted(ValidatedRecord)
    case rejected(Rejection)
}

// MARK: - Validator

/// Checks one record. Thread-safe (no state): the builder runs it on several threads.
public struct RecordValidator: Sendable {
    public let options: ValidationOptions

    public init(options: ValidationOptions) { self.options = options }

    public func validate(_ record: RawRecord) -> ValidationResult {
        let imageName: String?
        switch record.image {
        case .file(_, let name): imageName = name
        case .bytes(_, let name): imageName = name
        }
        func reject(_ reason: RejectReason, _ detail: String) -> ValidationResult {
            .rejected(Rejection(source: record.source, reason: reason, detail: detail, image: imageName))
        }

        // Text first: cheap, and a bad text needs no image work.
        var text: String
        switch record.text {
        case .missing: return reject(.emptyText, "no text")
        case .string(let s): text = s
        case .bytes(let b):
            guard let s = String(data: b, encoding: .utf8) else { return reject(.invalidUTF8, "text is not valid UTF-8") }
            text = s
        }
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return reject(.emptyText, "text is empty after trimming whitespace") }
        let normalizedText = options.normalization.apply(text)
        let changed = normalizedText.unicodeScalars.elementsEqual(text.unicodeScalars) == false

        // Bytes.
        var bytes: Data
        switch record.image {
        case .bytes(let data, _): bytes = data
        case .file(let url, _):
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
                return reject(.missingFile, "\(url.path) does not exist")
            }
            if isDir.boolValue { return reject(.unreadable, "\(url.path) is a folder, not an image file") }
            guard let data = try? Data(contentsOf: url) else { return reject(.unreadable, "\(url.path) cannot be read") }
            bytes = data
        }
        let where_ = imageName ?? record.source.description

        // Header (bomb guard) before any decoding.
        let info: ImageInfo
        do { info = try ImageCodec.probe(bytes, source: where_) } catch {
            return reject(.decodeError, "\(error)")
        }
        if options.maxPixels > 0, info.width * info.height > options.maxPixels {
            return reject(.tooLarge, "\(info.width)×\(info.height) = \(info.width * info.height) pixels exceeds \(options.maxPixels)")
        }
        var image: RGBImage
        do { image = try ImageCodec.decode(bytes, source: where_, maxPixels: options.maxPixels) } catch let e as ImageError {
            return reject(e.kind == .tooLarge ? .tooLarge : .decodeError, e.description)
        } catch {
            return reject(.decodeError, "\(error)")
        }
        var format = info.format
        if let box = record.crop {
            let x1 = Int(box[0].rounded(.down)), y1 = Int(box[1].rounded(.down))
            let x2 = Int(box[2].rounded(.up)), y2 = Int(box[3].rounded(.up))
            guard let crop = image.cropped(x: x1, y: y1, width: x2 - x1, height: y2 - y1) else {
                return reject(.tooSmall, "bbox \(box) lies outside the \(image.width)×\(image.height) image")
            }
            image = crop
            guard let png = try? ImageCodec.encodePNG(crop) else { return reject(.decodeError, "cannot encode the crop") }
            bytes = png
            format = .png
        }
        if image.width < options.minSide || image.height < options.minSide {
            return reject(.tooSmall, "\(image.width)×\(image.height) has a side below \(options.minSide) px")
        }
        return .accepted(ValidatedRecord(
            source: record.source, imageBytes: bytes, imagePath: imageName, text: normalizedText,
            metadata: record.metadata, format: format, width: image.width, height: image.height,
            digest: SHA256Digest.digest(bytes), dhash: image.differenceHash(), normalized: changed))
    }
}
