// Fonts by script (`data synth --font-family-of`) and the `augment` training profile. Relies on
// the fonts tools/setup.sh installs (fonts-farsiweb, fonts-noto-core, fonts-noto-cjk).

import Foundation
import XCTest

@testable import OCRSynth

final class FontSelectionTests: XCTestCase {
    func testFamiliesForPersianIncludeTheFarsiwebAndNotoFacesOnly() throws {
        let fa = try FontSelection.families(forLanguage: "fa")
        for family in ["Nazli", "Homa", "Titr", "Noto Naskh Arabic", "Noto Sans Arabic"] {
            XCTAssertTrue(fa.contains(family), "\(family) missing from \(fa)")
        }
        XCTAssertFalse(fa.contains("Noto Sans CJK SC"))
        XCTAssertEqual(fa, fa.sorted())
        XCTAssertEqual(Set(fa).count, fa.count)
        XCTAssertTrue(try FontSelection.families(forLanguage: "zh-cn").contains("Noto Sans CJK SC"))
        XCTAssertEqual(try FontSelection.families(forLanguage: "qq-zz"), [])
    }

    func testSelectionExcludesHeldOutFacesAndDropsFontsThatMissTheCorpus() throws {
        let persian = FontSelection.characterCounts(of: ["سلام دنیا", "کتاب خانه", "پژوهش گچ"])
        XCTAssertEqual(persian["ا"], 4)  // سلام، دنیا، کتاب، خانه
        XCTAssertNil(persian[" "])
        let (kept, dropped) = try FontSelection.select(languages: ["fa"], exclude: ["titr", "Homa"], characters: persian)
        let names = kept.map(\.family)
        XCTAssertTrue(names.contains("Nazli"))
        XCTAssertFalse(names.contains("Titr"))
        XCTAssertFalse(names.contains("Homa"))
        XCTAssertTrue(kept.allSatisfy { $0.coverage >= 0.99 })
        XCTAssertTrue(dropped.allSatisfy { $0.coverage < 0.99 })
        // A corpus in another script: the Persian faces cover none of it.
        let chinese = FontSelection.characterCounts(of: ["春眠不觉晓"])
        let cjk = try FontSelection.select(languages: ["fa"], exclude: [], characters: chinese)
        XCTAssertFalse(cjk.kept.contains { $0.family == "Nazli" })
        XCTAssertEqual(cjk.dropped.first { $0.family == "Nazli" }?.coverage, 0)
    }

    func testSelectionErrorsNameTheLanguageAndTheUnknownExclusion() {
        XCTAssertThrowsError(try FontSelection.select(languages: ["qq-zz"], exclude: [], characters: [:])) { error in
            XCTAssertTrue("\(error)".contains("qq-zz"), "\(error)")
        }
        XCTAssertThrowsError(try FontSelection.select(languages: ["fa"], exclude: ["Titrr"], characters: [:])) { error in
            XCTAssertTrue("\(error)".contains("Titrr"), "\(error)")
        }
    }

    /// The built-in `augment-bold` is the JSON profile the demo's recipe was measured with.
    func testAugmentBoldEqualsTheMeasuredProfileFile() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("bench/profiles/augment-bleed2.json")
        var measured = try JSONDecoder().decode(SynthProfile.self, from: Data(contentsOf: file))
        measured.name = "augment-bold"
        let builtIn = try SynthProfile.named("augment-bold")
        XCTAssertEqual(builtIn, measured)
        XCTAssertEqual(builtIn.inkBleed.max, 2)
    }

    func testAugmentProfileTurnsOnTheWarpsScanLacks() throws {
        let p = try SynthProfile.named("augment")
        XCTAssertEqual(p.name, "augment")
        for name in ["elastic", "perspective", "motion_blur"] {
            XCTAssertEqual(SynthProfile.scan.chance(named: name)?.probability, 0, name)
            XCTAssertGreaterThan(p.chance(named: name)?.probability ?? 0, 0, name)
        }
        XCTAssertGreaterThan(p.bold, SynthProfile.scan.bold)
        // Deterministic per seed, and its lines still render in the held-out-free Persian faces.
        func render() throws -> [SynthSample] {
            let sink = MemorySink()
            try LineSynthesizer(config: LineSynthConfig(count: 6, seed: 4, profile: p), fonts: FontLibrary(specs: ["Nazli", "Noto Naskh Arabic"]),
                                source: LineCorpus(lines: ["سلام دنیا", "کتاب خانه"])).run(into: sink)
            return sink.samples
        }
        let a = try render(), b = try render()
        XCTAssertEqual(a.count, 6)
        XCTAssertEqual(a.sorted { $0.index < $1.index }.map(\.png), b.sorted { $0.index < $1.index }.map(\.png))
        XCTAssertTrue(a.contains { $0.parameters["elastic"] != nil || $0.parameters["perspective"] != nil || $0.parameters["motion_blur"] != nil })
    }
}
