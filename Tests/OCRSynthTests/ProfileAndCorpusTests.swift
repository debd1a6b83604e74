// Profiles (Codable, overrides) and text sources (hunspell, fortune files, generators).

import Foundation
import XCTest

@testable import OCRSynth

final class ProfileAndCorpusTests: XCTestCase {
    func testProfilesRoundTripAsSnakeCaseJSON() throws {
        for (name, profile) in SynthProfile.builtIn {
            let data = try JSONEncoder().encode(profile)
            let json = String(decoding: data, as: UTF8.self)
            XCTAssertTrue(json.contains("\"gaussian_blur\""), name)
            XCTAssertEqual(try JSONDecoder().decode(SynthProfile.self, from: data), profile)
        }
    }

    func testOverrides() throws {
        var p = SynthProfile.scan
        try p.override("jpeg=0.25:40:60")
        XCTAssertEqual(p.jpeg, Chance(0.25, 40, 60))
        try p.override("rotation=1:2")
        XCTAssertEqual(p.rotation, Chance(1, 2, 2))
        XCTAssertThrowsError(try p.override("wobble=1"))
        XCTAssertThrowsError(try p.override("jpeg=2"))
        XCTAssertThrowsError(try p.override("jpeg"))
        XCTAssertThrowsError(try SynthProfile.named("nope"))
        XCTAssertEqual(try SynthProfile.named("fax").name, "fax")
    }

    func testHunspellWordsLoseFlags() throws {
        let words = try CorpusLoader.hunspellWords(file: Fixture.path("tiny_fa.dic"))
        XCTAssertEqual(words, ["سلام", "کتاب", "دنیا", "خانه"])
    }

    func testFortuneLinesLoseEscapesAndSeparators() throws {
        let lines = try CorpusLoader.load(file: Fixture.path("tiny_fortune"))
        XCTAssertEqual(lines, ["《春晓》", "作者：孟浩然", "春眠不觉晓，处处闻啼鸟。", "夜来风雨声，花落知多少。"])
    }

    func testCorpusErrorsNameTheLine() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ocrsynth-bad-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: file) }
        try (Data("good\nalso good\n".utf8) + Data([0xFF, 0xFE, 0x0A])).write(to: file)
        XCTAssertThrowsError(try CorpusLoader.lines(file: file.path)) { error in
            XCTAssertEqual(error as? SynthError, .corpus(file: file.path, line: 3, message: "not valid UTF-8"))
        }
    }

    func testWordCorpusAndGeneratorsAreDeterministic() {
        let words = WordCorpus(words: ["a", "b", "c"], length: 2...4)
        var r1 = SynthRandom(seed: 1, index: 5), r2 = SynthRandom(seed: 1, index: 5)
        let t = words.text(at: 5, rng: &r1)
        XCTAssertEqual(t, words.text(at: 5, rng: &r2))
        XCTAssertTrue((2...4).contains(t.split(separator: " ").count))
        for kind in FieldGenerator.Kind.allCases {
            var a = SynthRandom(seed: 9, index: 1), b = SynthRandom(seed: 9, index: 1)
            let g = FieldGenerator(kind)
            XCTAssertEqual(g.text(at: 1, rng: &a), g.text(at: 1, rng: &b))
            XCTAssertFalse(g.text(at: 1, rng: &a).isEmpty)
        }
        var r = SynthRandom(seed: 3)
        for _ in 0..<50 {
            let date = FieldGenerator.date(&r)
            XCTAssertTrue(date.contains(where: \.isNumber), date)
        }
    }

    func testRandomStreamsDiffer() {
        var a = SynthRandom(seed: 1, index: 0), b = SynthRandom(seed: 1, index: 1), c = SynthRandom(seed: 2, index: 0)
        let x = a.next(), y = b.next(), z = c.next()
        XCTAssertNotEqual(x, y)
        XCTAssertNotEqual(x, z)
        var u = SynthRandom(seed: 4)
        for _ in 0..<1000 {
            let v = u.unit()
            XCTAssertTrue(v >= 0 && v < 1)
        }
    }
}
