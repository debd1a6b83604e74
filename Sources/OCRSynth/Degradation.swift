// Degradations: one enum case per effect (each a call into CRender), and the profile pipeline
// that draws which effects apply and how strongly from a seeded generator.

import CRender
import Foundation

// MARK: Single effects

/// One pixel-level effect with its parameters. Geometric effects may grow the canvas.
public enum Degradation: Sendable, Equatable {
    case gaussianBlur(sigma: Double)
    case motionBlur(length: Double, angle: Double)
    case rescale(factor: Double)
    case jpeg(quality: Int)
    case gaussianNoise(sigma: Double, seed: UInt64)
    case saltPepper(amount: Double, seed: UInt64)
    case contrastBrightness(contrast: Double, brightness: Double)
    case paper(tint: (UInt8, UInt8, UInt8), texture: Double, scale: Double, seed: UInt64)
    case rotateSkew(degrees: Double, shear: Double)
    case perspective(strength: Double, seed: UInt64)
    case elastic(alpha: Double, scale: Double, seed: UInt64)
    case binarize(threshold: Int)
    case inkBleed(radius: Int, strength: Double)

    public static func == (a: Degradation, b: Degradation) -> Bool { String(describing: a) == String(describing: b) }

    /// Applies the effect in place. `fill` is the color of new canvas area.
    public func apply(to img: PixelBuffer, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        var f: [UInt8] = [fill.0, fill.1, fill.2]
        switch self {
        case let .gaussianBlur(sigma): crender_gaussian_blur(&img.raw, sigma)
        case let .motionBlur(length, angle): crender_motion_blur(&img.raw, length, angle)
        case let .rescale(factor): crender_rescale(&img.raw, factor)
        case let .jpeg(quality): _ = crender_jpeg(&img.raw, Int32(quality))
        case let .gaussianNoise(sigma, seed): crender_gaussian_noise(&img.raw, sigma, seed)
        case let .saltPepper(amount, seed): crender_salt_pepper(&img.raw, amount, seed)
        case let .contrastBrightness(c, b): crender_contrast_brightness(&img.raw, c, b)
        case let .paper(tint, texture, scale, seed):
            var t: [UInt8] = [tint.0, tint.1, tint.2]
            crender_paper(&img.raw, &t, texture, scale, seed)
        case let .rotateSkew(degrees, shear): _ = crender_rotate_skew(&img.raw, degrees, shear, &f)
        case let .perspective(strength, seed): _ = crender_perspective(&img.raw, strength, seed, &f)
        case let .elastic(alpha, scale, seed): _ = crender_elastic(&img.raw, alpha, scale, seed, &f)
        case let .binarize(threshold): _ = crender_binarize(&img.raw, Int32(threshold))
        case let .inkBleed(radius, strength): crender_ink_bleed(&img.raw, Int32(radius), strength)
        }
    }
}

/// A parameter value for the metadata: rounded to 4 decimals, shortest form ("2", "0.8417").
/// (Cheaper than `String(format:)`, which shows up in profiles at hundreds of lines a second.)
public func formatParameter(_ v: Double) -> String {
    let r = (v * 10000).rounded() / 10000
    if r == r.rounded(), abs(r) < 1e15 { return String(Int(r)) }
    return String(r)
}

// MARK: Profile pipeline

/// Draws and applies a profile's degradations. Each effect has its own random stream (derived
/// from the sample seed and the effect's name), so changing one effect's settings leaves the
/// draws of the others unchanged.
public struct DegradationPipeline: Sendable {
    public var profile: SynthProfile
    /// Line height the profile's pixel amounts are scaled to (they are given at 48 px).
    public var lineHeight: Int

    public init(profile: SynthProfile, lineHeight: Int) {
        self.profile = profile
        self.lineHeight = lineHeight
    }

    private static func stream(_ name: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for b in name.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    /// Whether the effect `name` applies to this sample; if so its strength.
    private func draw(_ name: String, _ chance: Chance, seed: UInt64) -> (Double, SynthRandom)? {
        var rng = SynthRandom(seed: SynthRandom.derive(seed, DegradationPipeline.stream(name)))
        let hit = rng.unit() < chance.probability
        let value = rng.uniform(chance.min, chance.max)
        return hit ? (value, rng) : nil
    }

    /// Applies the profile to `img` (rendered on `background`), recording every applied effect
    /// and its value in `params` (keys are the snake_case effect names).
    public func apply(to img: PixelBuffer, background: (UInt8, UInt8, UInt8), seed: UInt64, params: inout [String: String]) {
        let p = profile
        let k = Double(lineHeight) / 48.0
        func note(_ key: String, _ v: Double) { params[key] = formatParameter(v) }
        if let (v, _) = draw("ink_bleed", p.inkBleed, seed: seed) {
            // Up to 1: one bleed of that strength; above 1 (heavy faces' strokes) full bleeds
            // first, then the remainder: 1.6 thickens by one full bleed and a 0.6 one.
            var left = v
            while left > 0 {
                Degradation.inkBleed(radius: max(1, Int((k).rounded())), strength: min(1, left)).apply(to: img)
                left -= 1
            }
            note("ink_bleed", v)
        }
        if let (v, r) = draw("elastic", p.elastic, seed: seed) {
            var r = r
            Degradation.elastic(alpha: v * k, scale: 0.6 * Double(lineHeight), seed: r.seed()).apply(to: img, fill: background)
            note("elastic", v)
        }
        let rot = draw("rotation", p.rotation, seed: seed)
        let skew = draw("skew", p.skew, seed: seed)
        if rot != nil || skew != nil {
            Degradation.rotateSkew(degrees: rot?.0 ?? 0, shear: skew?.0 ?? 0).apply(to: img, fill: background)
            if let r = rot { note("rotation", r.0) }
            if let s = skew { note("skew", s.0) }
        }
        if let (v, r) = draw("perspective", p.perspective, seed: seed) {
            var r = r
            Degradation.perspective(strength: v, seed: r.seed()).apply(to: img, fill: background)
            note("perspective", v)
        }
        let tint = draw("paper_tint", p.paperTint, seed: seed)
        let texture = draw("texture", p.texture, seed: seed)
        if tint != nil || texture != nil {
            let a = tint?.0 ?? 0
            let color = (UInt8(clamping: Int((255 - 0.15 * a).rounded())), UInt8(clamping: Int((255 - 0.45 * a).rounded())),
                         UInt8(clamping: Int((255 - a).rounded())))
            var r = texture?.1 ?? SynthRandom(seed: seed)
            Degradation.paper(tint: color, texture: texture?.0 ?? 0, scale: 0.8 * Double(lineHeight), seed: r.seed()).apply(to: img)
            if let t = tint { note("paper_tint", t.0) }
            if let t = texture { note("texture", t.0) }
        }
        if let (v, _) = draw("gaussian_blur", p.gaussianBlur, seed: seed) {
            Degradation.gaussianBlur(sigma: v * k).apply(to: img)
            note("gaussian_blur", v)
        }
        if let (v, r) = draw("motion_blur", p.motionBlur, seed: seed) {
            var r = r
            let angle = r.uniform(0, 180)
            Degradation.motionBlur(length: v * k, angle: angle).apply(to: img)
            note("motion_blur", v)
            note("motion_blur_angle", angle)
        }
        if let (v, _) = draw("rescale", p.rescale, seed: seed) {
            Degradation.rescale(factor: v).apply(to: img)
            note("rescale", v)
        }
        if let (v, r) = draw("gaussian_noise", p.gaussianNoise, seed: seed) {
            var r = r
            Degradation.gaussianNoise(sigma: v, seed: r.seed()).apply(to: img)
            note("gaussian_noise", v)
        }
        if let (v, r) = draw("salt_pepper", p.saltPepper, seed: seed) {
            var r = r
            Degradation.saltPepper(amount: v, seed: r.seed()).apply(to: img)
            note("salt_pepper", v)
        }
        let contrast = draw("contrast", p.contrast, seed: seed)
        let brightness = draw("brightness", p.brightness, seed: seed)
        if contrast != nil || brightness != nil {
            Degradation.contrastBrightness(contrast: contrast?.0 ?? 1, brightness: brightness?.0 ?? 0).apply(to: img)
            if let c = contrast { note("contrast", c.0) }
            if let b = brightness { note("brightness", b.0) }
        }
        if let (v, _) = draw("binarize", p.binarize, seed: seed) {
            let t = crender_binarize(&img.raw, Int32(v < 0 ? -1 : min(255, v.rounded())))
            params["binarize"] = String(t)
        }
        if let (v, _) = draw("jpeg", p.jpeg, seed: seed) {
            let q = Int(v.rounded())
            Degradation.jpeg(quality: q).apply(to: img)
            params["jpeg"] = String(q)
        }
    }
}
