// Whole pages for bench/pages.py and the detector parity check (see main.swift's usage).

import Foundation
import MLXEngine
import OCRImaging
import OCRModels

func runPagesMode(_ mode: String) throws {
    guard let detectorPath = arguments["detector"] else { fail("--detector DIR is required") }
    let detector = try PPOCRTextDetector(folder: URL(fileURLWithPath: detectorPath))
    if mode == "detmap" {
        guard let image = arguments["image"], let out = arguments["out"] else { fail("--image PNG and --out FILE are required") }
        let page = try ImageCodec.decode(contentsOf: URL(fileURLWithPath: image))
        guard let pixels = detector.preprocess(page), let map = try detector.probabilityMap(page) else { fail("empty page") }
        try saveSafeTensors(["pixels": pixels.squeezed(axis: 0), "map": map], to: out)
        return
    }
    guard let modelPath = arguments["model"], let list = arguments["images"] else { fail("--model DIR and --images LIST are required") }
    let recognizer = try PPOCRTextRecognizer(folder: URL(fileURLWithPath: modelPath))
    let reader = PageReader(detector: detector, recognizer: recognizer)
    if let b = arguments["batch"].flatMap(Int.init) { reader.recognition.batchSize = b }
    let pages = try String(contentsOfFile: list, encoding: .utf8).split(separator: "\n").map {
        try ImageCodec.decode(contentsOf: URL(fileURLWithPath: String($0)))
    }
    let seconds = Double(arguments["seconds"] ?? "20") ?? 20
    _ = try reader.read(pages[0])  // warm-up
    var done = 0, lines = 0
    let (start, cpu0) = (Date(), cpuSeconds())
    while Date().timeIntervalSince(start) < seconds || done < pages.count {
        lines += try reader.read(pages[done % pages.count]).count
        done += 1
        if done >= pages.count && Date().timeIntervalSince(start) >= seconds { break }
    }
    let wall = Date().timeIntervalSince(start)
    printJSON([
        "pages": done, "lines": lines, "seconds": wall, "pages_per_second": Double(done) / wall,
        "cpu_seconds_per_page": (cpuSeconds() - cpu0) / Double(done),
    ])
}
