// Every family's fine-tuning recipe, end to end on tiny models: a few LoRA steps through the
// shared run driver, export of the run through the shared restore path (equal to the model the
// run wrote), and resume across epoch boundaries — stopped in the first epoch and in a later
// one, with and without validation — ending bit-identical to the uninterrupted run.

import Foundation
import MLXEngine
import OCRData
import OCRFineTune
import OCRImaging
import OCRModels
import OCRTestSupport
import OCRTraining
import XCTest

final class FineTuneRecipeTests: XCTestCase {
    struct Case {
        let family: any FineTunableFamily.Type
        let model: URL
        let data: URL
        let probe: RGBImage
    }

    // MARK: The families

    /// `fullWidth`: PP-OCRv5's backbone and neck widths, 12 training lines of varied widths.
    func ppocr(fullWidth: Bool = false) throws -> Case {
        let texts = ["12", "305", "7", "4460", "81", "9", "23", "570", "66", "1", "88", "406", "5", "31", "902", "74"]
        let data = fullWidth
            ? try FineTuneFixtures.dataset(texts: texts, widths: (0 ..< 16).map { 96 + 37 * ($0 % 6) }, height: 40, split: (12, 2, 2))
            : try FineTuneFixtures.dataset(texts: Array(texts.prefix(10)), width: 96, height: 32, split: (6, 2, 2))
        return Case(family: PPOCRFamily.self, model: try FineTuneFixtures.ppocrModel(fullWidth: fullWidth), data: data,
                    probe: FineTuneFixtures.image(width: 96, height: 32, seed: 40))
    }

    func trocr() throws -> Case {
        let texts = ["hello", "world", "the cat", "a dog", "red", "blue", "sun", "moon", "one", "two"]
        let data = try FineTuneFixtures.dataset(texts: texts, width: 64, height: 32, split: (6, 2, 2))
        return Case(family: VisionEncoderDecoderFamily.self, model: ModelFixtures.url("trocr-vit"), data: data,
                    probe: FineTuneFixtures.image(width: 64, height: 32, seed: 40))
    }

    func latexJunia() throws -> Case {
        let texts = ["x^{2}", "a+b", "\\frac{a}{b}", "y_{1}", "x+y", "a^{2}", "b", "c+d", "z", "1+2"]
        let data = try FineTuneFixtures.dataset(texts: texts, width: 80, height: 40, split: (6, 2, 2))
        return Case(family: LatexJuniaFamily.self, model: ModelFixtures.url("latex-junia-tiny/model"), data: data,
                    probe: FineTuneFixtures.image(width: 80, height: 40, seed: 40))
    }

    func qwenVL() throws -> Case {
        let texts = ["Invoice 42", "Total 17.30", "Date 2024", "cat", "dog", "red fox", "sun", "moon", "one", "two"]
        let data = try FineTuneFixtures.dataset(texts: texts, width: 56, height: 56, split: (6, 2, 2), metadata: ["prompt": "Free OCR."])
        return Case(family: QwenVLFamily.self, model: ModelFixtures.qwenVL("qwen2_5_vl"), data: data,
                    probe: FineTuneFixtures.image(width: 56, height: 56, seed: 40))
    }

    func deepSeekOCR2() throws -> Case {
        let texts = ["Invoice 42", "Total 17.30", "Date 2024", "cat", "dog", "red fox", "sun", "moon", "one", "two"]
        let data = try FineTuneFixtures.dataset(texts: texts, width: 64, height: 48, split: (6, 2, 2))
        return Case(family: DeepSeekOCRFamily.self, model: ModelFixtures.url("deepseek_ocr2-tiny"), data: data,
                    probe: FineTuneFixtures.image(width: 64, height: 48, seed: 40))
    }

    // MARK: Runs

    @discardableResult
    func train(
        _ c: Case, run: URL, configuration: TrainingConfiguration, resume: Bool = false, stopAt: Int? = nil
    ) throws -> (TrainingSession, TrainingSummary) {
        var request = TrainingRequest(model: c.model, data: c.data, run: run, configuration: configuration)
        request.resume = resume
        let session = try c.family.prepareTraining(request)
        let summary = try session.run { $0.event == .step && $0.step == stopAt ? .stop : .proceed }
        return (session, summary)
    }

    func weights(_ folder: URL, file: String) throws -> [String: MLXArray] {
        try loadSafeTensors(path: folder.appendingPathComponent(file).path).arrays
    }

    func assertSameWeights(_ a: [String: MLXArray], _ b: [String: MLXArray], _ message: String) {
        XCTAssertEqual(Set(a.keys), Set(b.keys), message)
        for (key, value) in a {
            guard let other = b[key] else { continue }
            XCTAssertEqual(abs(value.asType(.float32) - other.asType(.float32)).max().item(Float.self), 0, "\(message): \(key)")
        }
    }

    // MARK: Prepare, train, restore, export

    func checkRoundTrip(_ c: Case) throws {
        let run = FineTuneFixtures.temporaryFolder("run")
        let (session, summary) = try train(c, run: run, configuration: FineTuneFixtures.configuration(steps: 4, evalEvery: 2, saveEvery: 2))
        XCTAssertEqual(summary.ending, .completed)
        XCTAssertEqual(summary.steps, 4)
        XCTAssertTrue(summary.finalLoss.isFinite)
        XCTAssertFalse(session.setupNotes.isEmpty)
        let model = run.appendingPathComponent("model")
        try session.writeModel(to: model)

        // The shared restore path rebuilds the same model from the run's adapter…
        let export = try c.family.restore(run: run, from: nil)
        let exported = FineTuneFixtures.temporaryFolder("export").appendingPathComponent("model")
        try export.writeModel(to: exported)
        assertSameWeights(try weights(model, file: ModelFolder.weightsFile), try weights(exported, file: ModelFolder.weightsFile), "export")
        var reading = ReadingOptions()
        if c.family.readingOptions.contains(.tokenLimits) { reading.maxNewTokens = 12 }
        let a = try ModelFamilies.reader(at: model, options: reading).read([c.probe])
        let b = try ModelFamilies.reader(at: exported, options: reading).read([c.probe])
        XCTAssertEqual(a, b)

        // …and any checkpoint: step 2 is another model.
        let early = FineTuneFixtures.temporaryFolder("export2").appendingPathComponent("model")
        try c.family.restore(run: run, from: run.appendingPathComponent("checkpoints/step-000002")).writeModel(to: early)
        let lora = try weights(early, file: ModelFolder.weightsFile)
        let final = try weights(exported, file: ModelFolder.weightsFile)
        XCTAssertTrue(lora.contains { key, value in
            (final[key].map { abs(value - $0).max().item(Float.self) } ?? 0) > 0
        }, "the step-2 export differs from the final one")

        // A second run into the same folder is refused; --overwrite replaces it.
        XCTAssertThrowsError(try train(c, run: run, configuration: FineTuneFixtures.configuration(steps: 1, evalEvery: 0, saveEvery: 0)))
        var request = TrainingRequest(model: c.model, data: c.data, run: run, configuration: FineTuneFixtures.configuration(steps: 1, evalEvery: 0, saveEvery: 0))
        request.overwrite = true
        let replaced = try c.family.prepareTraining(request).run { _ in .proceed }
        XCTAssertEqual(replaced.steps, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: model.path), "the old run's model/ is gone")
    }

    func testPPOCRRecipe() throws { try checkRoundTrip(try ppocr()) }
    func testVisionEncoderDecoderRecipe() throws { try checkRoundTrip(try trocr()) }
    func testLatexJuniaRecipe() throws { try checkRoundTrip(try latexJunia()) }
    func testQwenVLRecipe() throws { try checkRoundTrip(try qwenVL()) }
    func testDeepSeekOCRRecipe() throws { try checkRoundTrip(try deepSeekOCR2()) }

    // MARK: Resume across epochs

    /// 3 steps an epoch (6 training samples in batches of 2, or 12 in batches of `batch` 4); 8
    /// steps cross two epoch boundaries.
    func checkResume(_ c: Case, validation: Bool, batch: Int = 2) throws {
        var config = FineTuneFixtures.configuration(steps: 8, evalEvery: validation ? 2 : 0, saveEvery: 0)
        config.batchSize = batch
        let reference = FineTuneFixtures.temporaryFolder("whole")
        try train(c, run: reference, configuration: config)
        let expected = try weights(reference.appendingPathComponent("adapter"), file: "adapter_model.safetensors")
        for stop in [2, 5] {
            let run = FineTuneFixtures.temporaryFolder("stopped")
            let (_, stopped) = try train(c, run: run, configuration: config, stopAt: stop)
            XCTAssertEqual(stopped.ending, .stoppedOnRequest)
            let (session, resumed) = try train(c, run: run, configuration: config, resume: true)
            XCTAssertEqual(session.resumePoint?.step, stop)
            XCTAssertEqual(resumed.steps, 8)
            assertSameWeights(
                try weights(run.appendingPathComponent("adapter"), file: "adapter_model.safetensors"), expected,
                "stopped at step \(stop)\(validation ? " with validation" : "")")
        }
    }

    /// At PP-OCRv5's widths, with the backbone frozen (LoRA's default) and its features cached:
    /// a run resumed in a later epoch starts with an empty cache.
    /// (Batches of 4 at these widths: the product of a row of 4 lines rounds differently from the
    /// same row computed for fewer lines.)
    func testPPOCRResumesBitExactlyAcrossEpochs() throws {
        let c = try ppocr(fullWidth: true)
        try checkResume(c, validation: false, batch: 4)
        try checkResume(c, validation: true, batch: 4)
    }

    func testVisionEncoderDecoderResumesBitExactlyAcrossEpochs() throws {
        let c = try trocr()
        try checkResume(c, validation: false)
        try checkResume(c, validation: true)
    }

    func testLatexJuniaResumesBitExactlyAcrossEpochs() throws {
        let c = try latexJunia()
        try checkResume(c, validation: false)
        try checkResume(c, validation: true)
    }

    func testQwenVLResumesBitExactlyAcrossEpochs() throws {
        let c = try qwenVL()
        try checkResume(c, validation: false)
        try checkResume(c, validation: true)
    }

    func testDeepSeekOCRResumesBitExactlyAcrossEpochs() throws {
        let c = try deepSeekOCR2()
        try checkResume(c, validation: false)
        try checkResume(c, validation: true)
    }

    // MARK: Run folders

    func testResumeWithoutACheckpointIsRefused() throws {
        let c = try ppocr()
        let run = FineTuneFixtures.temporaryFolder("empty")
        XCTAssertThrowsError(try train(c, run: run, configuration: FineTuneFixtures.configuration(steps: 2, evalEvery: 0, saveEvery: 0), resume: true)) {
            XCTAssertTrue("\($0)".contains("no complete checkpoint"), "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: run.path), [], "a failed start leaves nothing")
    }
}
