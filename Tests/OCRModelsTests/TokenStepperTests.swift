// TokenStepper: generation one step at a time (what a server streams and interleaves) gives
// generate()'s greedy and sampled tokens exactly, reports each row's new token, and a finished
// row stops while the others go on.

import Foundation
import MLXEngine
import OCRImaging
import XCTest

@testable import OCRModels

final class TokenStepperTests: XCTestCase {
    func sessionInputs() throws -> (QwenVLTextRecognizer, [[Int]], MLXArray, [[Int]]) {
        let r = try QwenVLTextRecognizer(folder: QwenVLFixture.folder("qwen2_5_vl"))
        var prompts: [[Int]] = []
        var pixels: [MLXArray] = []
        var grids: [[Int]] = []
        for name in ["image0.png", "image1.png"] {
            let image = try ImageCodec.decode(contentsOf: QwenVLFixture.folder("qwen2_5_vl").appendingPathComponent("images/\(name)"))
            let (ids, p, g) = try r.inputs(images: [image], prompt: "Read.")
            prompts.append(ids)
            pixels.append(p!)
            grids += g
        }
        return (r, prompts, concatenated(pixels, axis: 0), grids)
    }

    func testSteppingEqualsGenerate() throws {
        let (r, prompts, pixels, grids) = try sessionInputs()
        for sample in [false, true] {
            var options = GenerationOptions(maxNewTokens: 12, eosTokenIDs: r.generation.eosTokenIDs, padTokenID: r.generation.padTokenID)
            options.doSample = sample
            options.temperature = 0.9
            options.topP = 0.95
            options.seed = 11
            let want = try r.model.generate(prompts: prompts, pixels: pixels, grids: grids, options: options)
            let session = try r.model.session(prompts: prompts, pixels: pixels, grids: grids, padTokenID: options.padTokenID!)
            let stepper = try TokenStepper(session, prompts: session.paddedPrompts, options: options)
            var streamed = [[Int]](repeating: [], count: prompts.count)
            while !stepper.isFinished {
                for (row, token) in stepper.step().enumerated() { if let token { streamed[row].append(token) } }
            }
            XCTAssertEqual(stepper.generated, want, "sample \(sample)")
            XCTAssertEqual(streamed, want, "the tokens handed out per step, sample \(sample)")
            XCTAssertEqual(stepper.step(), [nil, nil], "a finished stepper adds nothing")
        }
    }

    func testFinishedRowStops() throws {
        let (r, prompts, pixels, grids) = try sessionInputs()
        let options = GenerationOptions(maxNewTokens: 8, padTokenID: r.generation.padTokenID)
        let session = try r.model.session(prompts: prompts, pixels: pixels, grids: grids, padTokenID: options.padTokenID!)
        let stepper = try TokenStepper(session, prompts: session.paddedPrompts, options: options)
        stepper.step()
        stepper.step()
        stepper.finish(row: 0)
        while !stepper.isFinished { XCTAssertNil(stepper.step()[0]) }
        XCTAssertEqual(stepper.generated[0].count, 2)
        XCTAssertEqual(stepper.generated[1].count, 8)
        let alone = try r.model.generate(prompts: [prompts[1]], pixels: pixels.sliced(axis: 0, from: pixels.dim(0) - grids[1].reduce(1, *)), grids: [grids[1]], options: options)
        XCTAssertEqual(stepper.generated[1], alone[0], "the other row is unaffected")
        XCTAssertThrowsError(try TokenStepper(session, prompts: session.paddedPrompts, options: GenerationOptions(numBeams: 2)))
    }
}
