// Synthesis profiles: how a line is styled and degraded. Codable (snake_case keys) so a profile
// can be written as JSON, loaded with --profile-file, and overridden one field at a time.

import Foundation

// MARK: Chance

/// An effect applied with `probability`, its strength drawn uniformly from `min`...`max`.
public struct Chance: Codable, Sendable, Equatable {
    public var probability: Double
    public var min: Double
    public var max: Double

    public init(_ probability: Double, _ min: Double, _ max: Double) {
        self.probability = probability
        self.min = min
        self.max = max
    }

    /// Never applied.
    public static let off = Chance(0, 0, 0)

    /// Parses `P`, `P:V` or `P:MIN:MAX` (the form of --set overrides).
    public init?(parsing text: String) {
        let parts = text.split(separator: ":").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        let v = parts.map { $0! }
        guard (0...1).contains(v[0]) else { return nil }
        switch v.count {
        case 1: self.init(v[0], 0, 0)
        case 2: self.init(v[0], v[1], v[1])
        case 3: self.init(v[0], Swift.min(v[1], v[2]), Swift.max(v[1], v[2]))
        default: return nil
        }
    }
}

// MARK: Profile

/// Every knob of one line's look. Pixel amounts are at a 48-px line height and scale with it.
public struct SynthProfile: Codable, Sendable, Equatable {
    public var name: String

    // Text styling (always applied; values drawn from the ranges).
    /// Font size as a fraction of the line height.
    public var fontScale: ClosedRange<Double>
    /// Shift across the line, fraction of the line height.
    public var offset: ClosedRange<Double>
    /// Padding before and after the text, fraction of the line height.
    public var padding: ClosedRange<Double>
    /// Extra letter spacing, fraction of the font size (probability = how often).
    public var letterSpacing: Chance
    /// Ink gray level (0 = black).
    public var ink: ClosedRange<Double>
    /// Probability of a bold face.
    public var bold: Double

    // Degradations, in the order they are applied.
    public var underline: Chance          // rule width, px
    public var strikeThrough: Chance      // rule width, px
    public var inkBleed: Chance           // blend strength (radius 1 px at 48 px); above 1, repeated: 2 = two full bleeds
    public var elastic: Chance            // max displacement, px
    public var rotation: Chance           // degrees (signed range)
    public var skew: Chance               // shear factor (signed range)
    public var perspective: Chance        // corner displacement, fraction of the height
    public var paperTint: Chance          // yellowing amount, 0...60
    public var texture: Chance            // texture strength 0...1
    public var gaussianBlur: Chance       // sigma, px
    public var motionBlur: Chance         // length, px (random direction)
    public var rescale: Chance            // down-scale factor 0...1
    public var gaussianNoise: Chance      // sigma, gray levels
    public var saltPepper: Chance         // fraction of pixels
    public var contrast: Chance           // factor (1 = unchanged)
    public var brightness: Chance         // offset, gray levels
    public var binarize: Chance           // threshold 0...255 (negative = Otsu)
    public var jpeg: Chance               // quality 1...100

    enum CodingKeys: String, CodingKey {
        case name, fontScale = "font_scale", offset, padding, letterSpacing = "letter_spacing", ink, bold
        case underline, strikeThrough = "strike_through", inkBleed = "ink_bleed", elastic, rotation, skew
        case perspective, paperTint = "paper_tint", texture, gaussianBlur = "gaussian_blur"
        case motionBlur = "motion_blur", rescale, gaussianNoise = "gaussian_noise", saltPepper = "salt_pepper"
        case contrast, brightness, binarize, jpeg
    }

    /// The names of the degradations (the `--set NAME=...` keys), in application order.
    public static let degradationNames = [
        "underline", "strike_through", "ink_bleed", "elastic", "rotation", "skew", "perspective", "paper_tint",
        "texture", "gaussian_blur", "motion_blur", "rescale", "gaussian_noise", "salt_pepper", "contrast",
        "brightness", "binarize", "jpeg",
    ]

    private static let paths: [String: WritableKeyPath<SynthProfile, Chance>] = [
        "underline": \.underline, "strike_through": \.strikeThrough, "ink_bleed": \.inkBleed,
        "elastic": \.elastic, "rotation": \.rotation, "skew": \.skew, "perspective": \.perspective,
        "paper_tint": \.paperTint, "texture": \.texture, "gaussian_blur": \.gaussianBlur,
        "motion_blur": \.motionBlur, "rescale": \.rescale, "gaussian_noise": \.gaussianNoise,
        "salt_pepper": \.saltPepper, "contrast": \.contrast, "brightness": \.brightness,
        "binarize": \.binarize, "jpeg": \.jpeg, "letter_spacing": \.letterSpacing,
    ]

    /// The chance of a degradation by its snake_case name.
    public func chance(named name: String) -> Chance? { SynthProfile.paths[name].map { self[keyPath: $0] } }

    /// Applies `NAME=P[:MIN[:MAX]]` (the --set flag). Throws on an unknown name or a bad value.
    public mutating func override(_ assignment: String) throws {
        let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw SynthError.config("--set \(assignment): expected NAME=P[:MIN[:MAX]]") }
        guard let path = SynthProfile.paths[parts[0]] else {
            throw SynthError.config("--set \(assignment): unknown degradation '\(parts[0])' (one of \(SynthProfile.paths.keys.sorted().joined(separator: ", ")))")
        }
        guard let chance = Chance(parsing: parts[1]) else {
            throw SynthError.config("--set \(assignment): expected a probability in 0...1, then optional MIN and MAX")
        }
        self[keyPath: path] = chance
    }

    /// A profile with every degradation off, black ink, centered text.
    public static let clean = SynthProfile(
        name: "clean", fontScale: 0.62...0.62, offset: 0...0, padding: 0.25...0.25, letterSpacing: .off, ink: 0...0,
        bold: 0, underline: .off, strikeThrough: .off, inkBleed: .off, elastic: .off, rotation: .off, skew: .off,
        perspective: .off, paperTint: .off, texture: .off, gaussianBlur: .off, motionBlur: .off, rescale: .off,
        gaussianNoise: .off, saltPepper: .off, contrast: .off, brightness: .off, binarize: .off, jpeg: .off)

    /// A flatbed scan: slight rotation, paper tint and texture, mild blur, noise, JPEG.
    public static let scan: SynthProfile = {
        var p = clean
        p.name = "scan"
        p.fontScale = 0.5...0.7
        p.offset = -0.05...0.05
        p.padding = 0.1...0.5
        p.letterSpacing = Chance(0.2, 0, 0.08)
        p.ink = 0...60
        p.bold = 0.15
        p.underline = Chance(0.03, 1.5, 3)
        p.strikeThrough = Chance(0.01, 1.5, 3)
        p.inkBleed = Chance(0.2, 0.2, 0.6)
        p.rotation = Chance(0.5, -1.5, 1.5)
        p.skew = Chance(0.2, -0.1, 0.1)
        p.paperTint = Chance(0.7, 0, 30)
        p.texture = Chance(0.5, 0.03, 0.12)
        p.gaussianBlur = Chance(0.5, 0.3, 1.0)
        p.rescale = Chance(0.3, 0.55, 0.85)
        p.gaussianNoise = Chance(0.6, 2, 10)
        p.saltPepper = Chance(0.1, 0.001, 0.005)
        p.contrast = Chance(0.5, 0.7, 1.1)
        p.brightness = Chance(0.5, -15, 15)
        p.jpeg = Chance(0.5, 50, 95)
        return p
    }()

    /// A phone photo: perspective, motion blur, uneven lighting, strong JPEG.
    public static let photo: SynthProfile = {
        var p = scan
        p.name = "photo"
        p.rotation = Chance(0.8, -4, 4)
        p.perspective = Chance(0.7, 0.02, 0.12)
        p.texture = Chance(0.8, 0.05, 0.25)
        p.gaussianBlur = Chance(0.6, 0.4, 1.5)
        p.motionBlur = Chance(0.4, 1.5, 5)
        p.gaussianNoise = Chance(0.8, 3, 14)
        p.contrast = Chance(0.8, 0.5, 1.0)
        p.brightness = Chance(0.8, -40, 20)
        p.jpeg = Chance(0.9, 30, 80)
        return p
    }()

    /// A fax: low resolution, binarized, speckles.
    public static let fax: SynthProfile = {
        var p = scan
        p.name = "fax"
        p.paperTint = .off
        p.texture = .off
        p.inkBleed = Chance(0.4, 0.3, 0.8)
        p.rescale = Chance(1, 0.35, 0.6)
        p.gaussianNoise = Chance(0.5, 5, 15)
        p.saltPepper = Chance(0.6, 0.002, 0.01)
        p.binarize = Chance(1, -1, -1)
        p.jpeg = .off
        return p
    }()

    /// Handwriting-like: elastic distortion, slant, uneven strokes (use a handwriting font when
    /// one is installed; the distortion makes print look less regular).
    public static let handwriting: SynthProfile = {
        var p = clean
        p.name = "handwriting"
        p.fontScale = 0.55...0.72
        p.offset = -0.06...0.06
        p.padding = 0.1...0.4
        p.letterSpacing = Chance(0.4, -0.02, 0.1)
        p.ink = 0...90
        p.inkBleed = Chance(0.5, 0.2, 0.7)
        p.elastic = Chance(1, 1.0, 2.5)
        p.rotation = Chance(0.6, -2.5, 2.5)
        p.skew = Chance(0.8, -0.3, 0.15)
        p.paperTint = Chance(0.5, 0, 25)
        p.texture = Chance(0.3, 0.02, 0.08)
        p.gaussianBlur = Chance(0.4, 0.3, 0.8)
        p.gaussianNoise = Chance(0.4, 2, 6)
        return p
    }()

    /// Training augmentation: the scan profile widened toward what users' documents bring —
    /// more size, weight and stroke-width spread (bold, ink bleed), slight elastic and perspective
    /// warps, motion blur, stronger blur, texture, down-scaling and JPEG. Meant for training sets
    /// that must read fonts and scans they never saw (the demo's Persian recipe).
    public static let augment: SynthProfile = {
        var p = scan
        p.name = "augment"
        p.fontScale = 0.45...0.75
        p.letterSpacing = Chance(0.3, -0.02, 0.1)
        p.ink = 0...80
        p.bold = 0.3
        p.inkBleed = Chance(0.35, 0.2, 0.8)
        p.elastic = Chance(0.3, 0.5, 1.5)
        p.rotation = Chance(0.6, -2.5, 2.5)
        p.perspective = Chance(0.3, 0.01, 0.06)
        p.texture = Chance(0.6, 0.03, 0.2)
        p.gaussianBlur = Chance(0.6, 0.3, 1.4)
        p.motionBlur = Chance(0.2, 1, 3)
        p.rescale = Chance(0.4, 0.45, 0.85)
        p.gaussianNoise = Chance(0.7, 2, 12)
        p.contrast = Chance(0.6, 0.55, 1.1)
        p.brightness = Chance(0.6, -30, 20)
        p.jpeg = Chance(0.6, 35, 95)
        return p
    }()

    /// `augment` with heavier strokes: bold on 70% of the lines (the family's real bold face where
    /// it has one) and an ink bleed on 70% at strength 0.5–2.0 (up to two 1-px bleeds). The demo's
    /// training profile: it reads heavy display faces it never saw better (docs/persian-case.md;
    /// equal to bench/profiles/augment-bleed2.json, with which the recipe was measured).
    public static let augmentBold: SynthProfile = {
        var p = augment
        p.name = "augment-bold"
        p.bold = 0.7
        p.inkBleed = Chance(0.7, 0.5, 2.0)
        return p
    }()

    /// The built-in profiles by name.
    public static let builtIn: [String: SynthProfile] = [
        "clean": clean, "scan": scan, "photo": photo, "fax": fax, "handwriting": handwriting, "augment": augment,
        "augment-bold": augmentBold,
    ]

    /// A built-in profile, or a JSON profile file.
    public static func named(_ nameOrFile: String) throws -> SynthProfile {
        if let p = builtIn[nameOrFile] { return p }
        guard FileManager.default.fileExists(atPath: nameOrFile) else {
            throw SynthError.config("unknown profile '\(nameOrFile)' (built in: \(builtIn.keys.sorted().joined(separator: ", ")); or a JSON file)")
        }
        do {
            return try JSONDecoder().decode(SynthProfile.self, from: Data(contentsOf: URL(fileURLWithPath: nameOrFile)))
        } catch {
            throw SynthError.config("\(nameOrFile): not a profile: \(error)")
        }
    }
}
