// Metrics benchmark through the Swift API; bench/metrics.py runs it beside rapidfuzz and
// jiwer on the same pairs and writes bench/results/metrics.json.
//
// Usage: MetricsBench PAIRS.jsonl — prints {"pairs", "cer", "cer_seconds", "cer_codepoint_seconds",
// "report_seconds"} (best of 3 runs each).

import Foundation
import OCRMetrics

let path = CommandLine.arguments.dropFirst().first ?? "pairs.jsonl"
guard let data = FileManager.default.contents(atPath: path) else {
    FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
    exit(1)
}
var references: [String] = []
var predictions: [String] = []
for line in data.split(separator: 0x0A) where !line.isEmpty {
    let object = try JSONSerialization.jsonObject(with: Data(line)) as! [String: String]
    references.append(object["reference"]!)
    predictions.append(object["prediction"]!)
}

func best(_ body: () -> Double) -> (Double, Double) {
    var seconds = Double.infinity
    var value = 0.0
    for _ in 0 ..< 3 {
        let t = Date()
        value = body()
        seconds = min(seconds, Date().timeIntervalSince(t))
    }
    return (value, seconds)
}

let (cer, cerSeconds) = best { TextMetrics.cer(references: references, predictions: predictions) }
let (cerCP, cerCPSeconds) = best {
    TextMetrics.cer(references: references, predictions: predictions, options: .jiwerCompatible)
}
let pairs = zip(references, predictions).map { TextPair(reference: $0, prediction: $1) }
let (_, reportSeconds) = best { TextMetrics.evaluate(pairs).report.cer }
let result: [String: Any] = [
    "pairs": references.count, "cer": cer, "cer_codepoint": cerCP, "cer_seconds": cerSeconds,
    "cer_codepoint_seconds": cerCPSeconds, "report_seconds": reportSeconds,
]
print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
