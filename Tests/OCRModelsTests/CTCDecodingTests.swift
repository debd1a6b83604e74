// CTC decoding and dictionaries against hand-worked examples.

import Foundation
import MLXEngine
import OCRModels
import XCTest

final class CTCDecodingTests: XCTestCase {
    let dictionary = CharacterDictionary(paddleCharacters: ["a", "b", "c"], useSpaceChar: true)  // 0 blank, 1 a, 2 b, 3 c, 4 " "

    /// [T, C] rows.
    func probs(_ rows: [[Float]]) -> MLXArray {
        MLXArray(rows.flatMap { $0 }, [1, rows.count, rows[0].count])
    }

    func testGreedyMergesRepeatsAndDropsBlanks() {
        // a a blank a b b blank → "aab"
        let (classes, confidence) = CTCDecoding.greedy(
            bestClasses: [1, 1, 0, 1, 2, 2, 0], bestProbabilities: [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
        XCTAssertEqual(classes, [1, 1, 2])
        XCTAssertEqual(dictionary.text(of: classes), "aab")
        // PaddleOCR: mean of the first step of each emitted run: (0.9 + 0.6 + 0.5) / 3.
        XCTAssertEqual(confidence, (0.9 + 0.6 + 0.5) / 3, accuracy: 1e-6)
        XCTAssertEqual(CTCDecoding.greedy(bestClasses: [0, 0], bestProbabilities: [1, 1]).confidence, 0)
    }

    func testDecodeOnTheEngineMatchesTheRule() throws {
        let p = probs([
            [0.1, 0.6, 0.1, 0.1, 0.1], [0.1, 0.6, 0.1, 0.1, 0.1], [0.7, 0.1, 0.1, 0.05, 0.05],
            [0.1, 0.1, 0.1, 0.1, 0.6], [0.1, 0.1, 0.1, 0.6, 0.1],
        ])
        let result = CTCDecoding.decode(probabilities: p, dictionary: dictionary, decoder: .greedy)[0]
        XCTAssertEqual(result.text, "a c")
        XCTAssertEqual(result.classes, [1, 4, 3])
        XCTAssertEqual(result.confidence, 0.6, accuracy: 1e-6)
    }

    func testBeamSearchFindsTheMoreProbableLabelling() {
        // Greedy reads blank,blank → "", but "a" has probability 1 − 0.6·0.6 = 0.64.
        let rows: [[Float]] = [[0.6, 0.4, 0, 0, 0], [0.6, 0.4, 0, 0, 0]]
        let greedy = CTCDecoding.decode(probabilities: probs(rows), dictionary: dictionary, decoder: .greedy)[0]
        XCTAssertEqual(greedy.text, "")
        let beam = CTCDecoding.decode(probabilities: probs(rows), dictionary: dictionary, decoder: .beamSearch(width: 4))[0]
        XCTAssertEqual(beam.text, "a")
        XCTAssertEqual(beam.confidence, 0.64, accuracy: 1e-5)
    }

    func testBeamSearchSumsPathsAndKeepsRepeatsApart() {
        let rows: [[Float]] = [[0.2, 0.8, 0, 0, 0], [0.5, 0.5, 0, 0, 0], [0.2, 0.8, 0, 0, 0]]
        let flat = rows.flatMap { $0 }
        let beams = flat.withUnsafeBufferPointer {
            CTCDecoding.beamSearch(probabilities: $0, steps: 3, classes: 5, beamWidth: 8, topK: 4)
        }
        let byText = Dictionary(uniqueKeysWithValues: beams.map { (dictionary.text(of: $0.classes), Foundation.exp($0.logProbability)) })
        // "aa" needs the blank in the middle: 0.8 · 0.5 · 0.8.
        XCTAssertEqual(byText["aa"]!, 0.32, accuracy: 1e-6)
        // "a": every other path with at least one a: 1 − P("") − P("aa") = 1 − 0.02 − 0.32.
        XCTAssertEqual(byText["a"]!, 0.66, accuracy: 1e-6)
        XCTAssertEqual(dictionary.text(of: beams[0].classes), "a")
    }

    func testWhitelistRestrictsGreedyAndBeam() throws {
        // Step 2 prefers "b", which is not allowed; "c" is next best.
        let p = probs([[0.1, 0.7, 0.1, 0.05, 0.05], [0.1, 0.05, 0.6, 0.2, 0.05]])
        let greedy = CTCDecoding.decode(probabilities: p, dictionary: dictionary, decoder: CTCDecoder(whitelist: ["a", "c"]))[0]
        XCTAssertEqual(greedy.text, "ac")
        let beam = CTCDecoding.decode(probabilities: p, dictionary: dictionary, decoder: .beamSearch(width: 5, whitelist: ["a", "c"]))[0]
        XCTAssertEqual(beam.text, "ac")
        let none = CTCDecoding.decode(probabilities: p, dictionary: dictionary, decoder: CTCDecoder(whitelist: []))[0]
        XCTAssertEqual(none.text, "")
    }

    // MARK: Dictionaries

    func testPaddleDictionaryLayoutAndFiles() throws {
        XCTAssertEqual(dictionary.classCount, 5)
        XCTAssertEqual(dictionary.label(ofClass: 0), "")
        XCTAssertEqual(dictionary.label(ofClass: 4), " ")
        XCTAssertNil(dictionary.label(ofClass: 5))
        XCTAssertEqual(dictionary.classIndex(of: "c"), 3)

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ctc-dict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let paddle = dir.appendingPathComponent("dict.txt")
        try Data("a\r\nb\nc\n".utf8).write(to: paddle)
        XCTAssertEqual(try CharacterDictionary.readPaddleCharacters(paddle), ["a", "b", "c"])

        let file = dir.appendingPathComponent("dictionary.txt")
        try dictionary.write(to: file)
        XCTAssertEqual(try String(contentsOf: file, encoding: .utf8), "a\nb\nc\n \n")
        XCTAssertEqual(try CharacterDictionary(contentsOf: file), dictionary)

        var extended = dictionary
        XCTAssertEqual(extended.append(["د", "a", "ی"]), ["د", "ی"])
        XCTAssertEqual(extended.classIndex(of: "ی"), 6)
        XCTAssertEqual(extended.classIndex(of: " "), 4, "old classes keep their indices")
        XCTAssertEqual(extended.unknownCharacters(in: "aدx"), ["x"])
    }
}
