// Each degradation changes pixels, and only within its bounds.

import Foundation
import OCRImaging
import XCTest

@testable import OCRSynth

final class DegradationTests: XCTestCase {
    /// A clean rendered line (black on white).
    func line() throws -> PixelBuffer {
        var style = LineStyle(family: "Noto Sans", fontPx: 30, lineHeight: 48)
        style.padBefore = 10
        style.padAfter = 10
        guard case let .rendered(img, _) = try LineRenderer.render("Degradation 123 test", style: style) else {
            XCTFail("no render")
            throw SynthError.render("")
        }
        return img
    }

    func apply(_ d: Degradation, to base: PixelBuffer) -> RGBImage {
        let copy = base.copy()
        d.apply(to: copy)
        return copy.image
    }

    func meanAbsDiff(_ a: RGBImage, _ b: RGBImage) -> Double {
        precondition(a.width == b.width && a.height == b.height)
        return Double(zip(a.pixels, b.pixels).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }) / Double(a.pixels.count)
    }

    func testBlursSoftenWithoutMovingInk() throws {
        let base = try line(), src = base.image
        for d in [Degradation.gaussianBlur(sigma: 1.2), .motionBlur(length: 4, angle: 0), .rescale(factor: 0.5)] {
            let out = apply(d, to: base)
            XCTAssertEqual([out.width, out.height], [src.width, src.height], "\(d)")
            let diff = meanAbsDiff(src, out)
            XCTAssertGreaterThan(diff, 1, "\(d) changed nothing")
            XCTAssertLessThan(diff, 40, "\(d) changed too much")
            XCTAssertLessThan(out.gradient, src.gradient, "\(d) did not soften")
            // Ink stays where it was: column ink centroid within 2 px.
            func centroid(_ i: RGBImage) -> Double {
                let c = i.columnInk(threshold: 200)
                return Double(c.enumerated().reduce(0) { $0 + $1.0 * $1.1 }) / Double(max(1, c.reduce(0, +)))
            }
            XCTAssertEqual(centroid(out), centroid(src), accuracy: 2, "\(d)")
        }
    }

    func testJPEGKeepsSizeAndIsClose() throws {
        let base = try line(), src = base.image
        let out = apply(.jpeg(quality: 30), to: base)
        XCTAssertEqual([out.width, out.height], [src.width, src.height])
        let diff = meanAbsDiff(src, out)
        XCTAssertGreaterThan(diff, 0.5)
        XCTAssertLessThan(diff, 15)
    }

    func testGaussianNoiseHasItsSigma() {
        let gray = PixelBuffer(width: 200, height: 100, fill: (128, 128, 128))
        let out = apply(.gaussianNoise(sigma: 8, seed: 42), to: gray)
        let d = out.pixels.map { Double($0) - 128 }
        let mean = d.reduce(0, +) / Double(d.count)
        let sd = (d.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(d.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.5)
        XCTAssertEqual(sd, 8, accuracy: 0.5)
        XCTAssertNotEqual(out.pixels, apply(.gaussianNoise(sigma: 8, seed: 43), to: gray).pixels)
        XCTAssertEqual(out.pixels, apply(.gaussianNoise(sigma: 8, seed: 42), to: gray).pixels)
    }

    func testSaltPepperHitsItsFraction() {
        let gray = PixelBuffer(width: 200, height: 100, fill: (128, 128, 128))
        let out = apply(.saltPepper(amount: 0.05, seed: 1), to: gray)
        var changed = 0
        for i in stride(from: 0, to: out.pixels.count, by: 3) where out.pixels[i] != 128 {
            changed += 1
            XCTAssertTrue(out.pixels[i] == 0 || out.pixels[i] == 255)
        }
        XCTAssertEqual(Double(changed) / 20000, 0.05, accuracy: 0.01)
    }

    func testContrastBrightnessFollowsItsFormula() throws {
        let base = try line(), src = base.image
        let out = apply(.contrastBrightness(contrast: 0.5, brightness: 20), to: base)
        for (a, b) in zip(src.pixels, out.pixels) {
            let expected = min(255, max(0, (Double(a) - 128) * 0.5 + 148))
            XCTAssertEqual(Double(b), expected.rounded(), accuracy: 1)
        }
    }

    func testPaperOnlyDarkensWithinTint() throws {
        let base = try line(), src = base.image
        let tint: (UInt8, UInt8, UInt8) = (250, 240, 220)
        let out = apply(.paper(tint: tint, texture: 0.1, scale: 40, seed: 9), to: base)
        XCTAssertNotEqual(out.pixels, src.pixels)
        let t = [tint.0, tint.1, tint.2].map(Double.init)
        for i in 0..<src.pixels.count {
            let a = Double(src.pixels[i]), b = Double(out.pixels[i])
            XCTAssertLessThanOrEqual(b, a * t[i % 3] / 255 + 1)
            XCTAssertGreaterThanOrEqual(b, a * t[i % 3] / 255 * 0.9 - 1)
        }
    }

    func testRotationGrowsCanvasAndKeepsInk() throws {
        let base = try line(), src = base.image
        let out = apply(.rotateSkew(degrees: 3, shear: 0), to: base)
        let a = 3.0 * Double.pi / 180
        let expectedH = Double(src.width) * sin(a) + Double(src.height) * cos(a)
        XCTAssertEqual(Double(out.height), expectedH, accuracy: 2)
        XCTAssertEqual(Double(out.inkCount()), Double(src.inkCount()), accuracy: Double(src.inkCount()) * 0.15)
        let skewed = apply(.rotateSkew(degrees: 0, shear: 0.2), to: base)
        XCTAssertEqual(Double(skewed.width), Double(src.width) + 0.2 * Double(src.height), accuracy: 2)
        XCTAssertEqual(skewed.height, src.height)
    }

    func testPerspectiveStaysWithinCornerBounds() throws {
        let base = try line(), src = base.image
        let out = apply(.perspective(strength: 0.1, seed: 5), to: base)
        let bound = 2 * 0.1 * Double(src.height) + 2
        XCTAssertLessThanOrEqual(Double(out.width), Double(src.width) + bound)
        XCTAssertLessThanOrEqual(Double(out.height), Double(src.height) + bound)
        XCTAssertNotEqual(out.pixels.count == src.pixels.count ? meanAbsDiff(src, out) : 1, 0)
        XCTAssertEqual(Double(out.inkCount()), Double(src.inkCount()), accuracy: Double(src.inkCount()) * 0.25)
    }

    func testElasticMovesInkAtMostAlpha() throws {
        let base = try line(), src = base.image
        let alpha = 2.0
        let out = apply(.elastic(alpha: alpha, scale: 24, seed: 3), to: base)
        XCTAssertEqual([out.width, out.height], [src.width, src.height])
        XCTAssertGreaterThan(meanAbsDiff(src, out), 1)
        let r = Int(alpha.rounded(.up)) + 1
        for y in 0..<out.height {
            for x in 0..<out.width where out.luma(x, y) < 100 {
                var found = false
                for yy in max(0, y - r)...min(src.height - 1, y + r) {
                    for xx in max(0, x - r)...min(src.width - 1, x + r) where src.luma(xx, yy) < 160 {
                        found = true
                    }
                }
                XCTAssertTrue(found, "ink at (\(x), \(y)) moved more than \(r) px")
                if !found { return }
            }
        }
    }

    func testBinarizeLeavesTwoLevels() throws {
        let base = try line()
        Degradation.gaussianNoise(sigma: 10, seed: 1).apply(to: base)
        let src = base.image
        let out = apply(.binarize(threshold: -1), to: base)
        XCTAssertTrue(out.pixels.allSatisfy { $0 == 0 || $0 == 255 })
        XCTAssertEqual(Double(out.inkCount()), Double(src.inkCount()), accuracy: Double(src.inkCount()) * 0.3)
    }

    func testInkBleedThickensStrokes() throws {
        let base = try line(), src = base.image
        let out = apply(.inkBleed(radius: 1, strength: 1), to: base)
        XCTAssertTrue(zip(src.pixels, out.pixels).allSatisfy { $1 <= $0 }, "bleed must only darken")
        XCTAssertGreaterThan(out.inkCount(), src.inkCount())
        XCTAssertLessThan(out.inkCount(), src.inkCount() * 3)
    }

    /// A profile's ink bleed above 1 bleeds again: 2 equals two full bleeds, 1 one (as before).
    func testProfileInkBleedAboveOneRepeats() throws {
        func bled(_ strength: Double) throws -> RGBImage {
            var p = SynthProfile.clean
            try p.override("ink_bleed=1:\(strength):\(strength)")
            let img = try line()
            var params: [String: String] = [:]
            DegradationPipeline(profile: p, lineHeight: 48).apply(to: img, background: (255, 255, 255), seed: 3, params: &params)
            XCTAssertEqual(params["ink_bleed"], formatParameter(strength))
            return img.image
        }
        let once = apply(.inkBleed(radius: 1, strength: 1), to: try line())
        let base = try line()
        Degradation.inkBleed(radius: 1, strength: 1).apply(to: base)
        let twice = apply(.inkBleed(radius: 1, strength: 1), to: base)
        XCTAssertEqual(try bled(1).pixels, once.pixels)
        XCTAssertEqual(try bled(2).pixels, twice.pixels)
        let between = try bled(1.6)
        XCTAssertGreaterThan(between.inkCount(), once.inkCount())
        XCTAssertLessThan(between.inkCount(), twice.inkCount())
    }

    func testUnderlineAndStrike() throws {
        var style = LineStyle(family: "Noto Sans", fontPx: 30, lineHeight: 48)
        style.padBefore = 10
        style.padAfter = 10
        guard case let .rendered(plain, info) = try LineRenderer.render("under", style: style) else { return XCTFail() }
        style.underline = 2
        guard case let .rendered(under, _) = try LineRenderer.render("under", style: style) else { return XCTFail() }
        style.underline = nil
        style.strike = 2
        guard case let .rendered(strike, _) = try LineRenderer.render("under", style: style) else { return XCTFail() }
        // A row whose dark run spans (nearly) the whole ink width.
        func longestRow(_ img: RGBImage) -> (row: Int, length: Int) {
            var best = (0, 0)
            for y in 0..<img.height {
                let n = (0..<img.width).reduce(0) { $0 + (img.luma($1, y) < 128 ? 1 : 0) }
                if n > best.1 { best = (y, n) }
            }
            return best
        }
        let width = info.inkBox[2]
        XCTAssertLessThan(longestRow(plain.image).length, width * 3 / 4)
        let u = longestRow(under.image), s = longestRow(strike.image)
        XCTAssertGreaterThan(u.length, width * 9 / 10)
        XCTAssertGreaterThan(s.length, width * 9 / 10)
        XCTAssertGreaterThanOrEqual(u.row, info.inkBox[1] + info.inkBox[3] - 2, "underline below the ink")
        XCTAssertTrue((info.inkBox[1]...(info.inkBox[1] + info.inkBox[3])).contains(s.row), "strike through the ink")
    }

    func testProfileDrawsAreIndependentPerEffect() throws {
        // Turning one effect off leaves the draws (and recorded values) of the others unchanged.
        var params1: [String: String] = [:], params2: [String: String] = [:]
        var p = SynthProfile.scan
        for name in SynthProfile.degradationNames { try p.override("\(name)=1:0.5:0.5") }
        try p.override("jpeg=1:80")
        try p.override("binarize=0")
        DegradationPipeline(profile: p, lineHeight: 48).apply(to: try line(), background: (255, 255, 255), seed: 77, params: &params1)
        try p.override("gaussian_blur=0")
        DegradationPipeline(profile: p, lineHeight: 48).apply(to: try line(), background: (255, 255, 255), seed: 77, params: &params2)
        XCTAssertNotNil(params1["gaussian_blur"])
        XCTAssertNil(params2["gaussian_blur"])
        params1["gaussian_blur"] = nil
        XCTAssertEqual(params1, params2)
    }
}
