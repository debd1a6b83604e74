// `ocrtune predict` for vision–language models (Qwen2.5-VL, Qwen3-VL): a prompt or task per
// image, generation settings from the command line, field answers parsed to JSON.

import ArgumentParser
import Foundation
import OCRImaging
import OCRModels
import OCRText

extension PredictCommand {
    // MARK: Options

    var usesVisionLanguageOptions: Bool { prompt != nil || task != nil || fields != nil || sample }

    /// The requested task: --prompt wins over --task; nil for the recognizer's default prompt.
    func visionLanguageTask() throws -> OCRTask? {
        let names = (fields ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        switch task {
        case nil:
            if fields != nil { throw ValidationError("--fields needs --task fields") }
            return prompt.map(OCRTask.custom)
        case "ocr"?: return prompt.map(OCRTask.custom) ?? .plainText
        case "latex"?: return prompt.map(OCRTask.custom) ?? .latex
        case "fields"?:
            guard !names.isEmpty else { throw ValidationError("--task fields needs --fields a,b,c") }
            return prompt.map(OCRTask.custom) ?? .fields(names)
        case let other?: throw ValidationError("--task \(other): expected ocr, latex or fields")
        }
    }

    func validateVisionLanguage() throws {
        _ = try visionLanguageTask()
        if fields != nil && task != "fields" { throw ValidationError("--fields needs --task fields") }
        if temperature <= 0 { throw ValidationError("--temperature must be positive") }
        if topK < 0 { throw ValidationError("--top-k must be at least 0") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p must be in (0, 1]") }
        if sample, let numBeams, numBeams > 1 { throw ValidationError("--sample takes one beam (drop --num-beams)") }
    }

    // MARK: Run

    func runVisionLanguage(_ folder: URL) throws {
        if beamWidth != nil || whitelist != nil || whitelistFile != nil || dumpLogits != nil || chunk {
            throw CLIError("predict: --beam-width, --whitelist, --whitelist-file, --dump-logits and --chunk are not for vision–language models")
        }
        let recognizer: QwenVLTextRecognizer
        do {
            recognizer = try QwenVLTextRecognizer(folder: folder)
        } catch {
            throw CLIError("predict: cannot load \(model): \(error)")
        }
        recognizer.generation = generationOptions(from: recognizer.generation)
        recognizer.batchSize = batchSize
        try predictVisionLanguage(decode: { recognizer.tokenizer.decode($0, skipSpecialTokens: true) }) {
            try recognizer.generateWithStop($0, prompt: $1)
        }
    }

    /// The recognizer's generation settings with the command line's.
    func generationOptions(from base: GenerationOptions) -> GenerationOptions {
        var options = base
        options.maxNewTokens = maxNewTokens
        options.minNewTokens = minNewTokens
        if let numBeams { options.numBeams = numBeams }
        if let lengthPenalty { options.lengthPenalty = lengthPenalty }
        if let noRepeatNgramSize { options.noRepeatNgramSize = noRepeatNgramSize }
        options.doSample = sample
        options.temperature = temperature
        options.topK = topK
        options.topP = topP
        options.seed = seed
        return options
    }

    /// Images are read and generated --batch-size at a time (similar sizes together, prompts
    /// left-padded); lines come out in argument order.
    func predictVisionLanguage(decode: ([Int]) -> String, generate: ([RGBImage], String?) throws -> [[Int]]) throws {
        let task = try visionLanguageTask()
        for first in stride(from: 0, to: images.count, by: batchSize) {
            let paths = Array(images[first ..< min(first + batchSize, images.count)])
            var loaded: [RGBImage] = []
            for path in paths {
                do { loaded.append(try loadImage(path: path)) } catch { throw CLIError("predict: cannot read \(path): \(error)") }
            }
            try printVisionLanguage(paths: paths, generated: generate(loaded, task?.prompt), decode: decode, task: task)
        }
    }

    private func printVisionLanguage(paths: [String], generated: [[Int]], decode: ([Int]) -> String, task: OCRTask?) throws {
        for (path, ids) in zip(paths, generated) {
            let text = decode(ids)
            if outputIds {
                try printJSON(["text": text, "token_ids": ids])
            } else if case let .fields(names)? = task {
                try printFields(path: path, text: text, names: names)
            } else if json {
                try printJSON(["image": path, "text": text])
            } else {
                Terminal.line("\(path)\t\(text)")
            }
        }
    }

    /// The parsed answer as one JSON object of the requested fields (null when missing); with
    /// --json, a line {"image", "text", "fields", "missing", "extra"} ("fields" null and "error"
    /// set when the answer holds no JSON object).
    private func printFields(path: String, text: String, names: [String]) throws {
        let answer: FieldAnswer
        do {
            answer = try FieldAnswerParser.parse(text, fields: names)
        } catch {
            if json {
                try printJSON(["image": path, "text": text, "fields": NSNull(), "error": "\(error)"])
            } else {
                FileHandle.standardError.write(Data("warning: \(path): \(error)\n".utf8))
                Terminal.line("\(path)\tnull")
            }
            return
        }
        var object: [String: Any] = [:]
        for name in names { object[name] = answer.values[name] ?? NSNull() }
        if json {
            try printJSON(["image": path, "text": text, "fields": object, "missing": answer.missing, "extra": answer.extra])
        } else {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            Terminal.line("\(path)\t\(String(decoding: data, as: UTF8.self))")
        }
    }
}
