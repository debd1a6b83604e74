// Whole-page evaluation (`eval --task pages`): text detection scored with ICDAR 2015's protocol
// (a detection matches a reference box at IoU ≥ 0.5, one to one; references whose text is "###"
// are "don't care": detections on them count neither way) and end-to-end CER over the matched
// lines; metrics.json, predictions.jsonl (per page: boxes, texts, matches) and report.html with
// each page's boxes drawn over it (references green, detections red).
//
// Reference: ICDAR 2015 Robust Reading, Challenge 4 (incidental scene text) evaluation script
// (script.py: IoU > 0.5 by polygon areas, don't-care filtering at 0.5 of the detection's area).

import Foundation
import OCRImaging
import OCRMetrics
import OCRSupport

// MARK: - Inputs and results

/// A text region with its text: four (or more) corners in page pixels.
public struct PageRegion: Codable, Equatable, Sendable {
    public var points: [[Double]]
    public var text: String

    public init(points: [[Double]], text: String) {
        self.points = points
        self.text = text
    }

    /// A region from the document annotations `data build` imports: {"bbox": [x1, y1, x2, y2]} or
    /// {"points": [[x, y], …]}, with "text".
    public static func annotations(_ json: String) throws -> [PageRegion] {
        guard let data = json.data(using: .utf8), let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
            throw PageEvaluationError("the annotations are not a JSON list of objects")
        }
        return try list.map { item in
            let text = item["text"] as? String ?? ""
            if let b = item["bbox"] as? [Double], b.count == 4 {
                return PageRegion(points: [[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]], text: text)
            }
            if let p = item["points"] as? [[Double]], p.count >= 3, p.allSatisfy({ $0.count == 2 }) {
                return PageRegion(points: p, text: text)
            }
            throw PageEvaluationError("an annotation has neither \"bbox\" [x1, y1, x2, y2] nor \"points\" [[x, y], …]")
        }
    }
}

public struct PageEvaluationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Detection and end-to-end scores over pages.
public struct PageMetrics: Codable, Equatable, Sendable {
    public var pages: Int
    public var references: Int
    public var detections: Int
    public var matched: Int
    public var precision: Double
    public var recall: Double
    public var hmean: Double
    /// Σ edits / Σ reference characters over matched lines.
    public var endToEndCER: Double
    /// Exact text on matched lines.
    public var endToEndExactMatch: Double

    enum CodingKeys: String, CodingKey {
        case pages, references, detections, matched, precision, recall, hmean
        case endToEndCER = "end_to_end_cer"
        case endToEndExactMatch = "end_to_end_exact_match"
    }
}

/// One page's outcome.
public struct PageRecord: Codable, Sendable {
    public var id: String
    public var references: [PageRegion]
    public var detections: [PageRegion]
    /// (reference index, detection index, IoU) of each match.
    public var matches: [[Double]]
}

// MARK: - Scoring

public enum PageEvaluation {
    /// ICDAR 2015 matching of one page: pairs (reference, detection, IoU) at IoU ≥ `threshold`,
    /// one to one in reference order; detections mostly inside a "###" reference are ignored.
    public static func match(references: [PageRegion], detections: [PageRegion], threshold: Double = 0.5)
        -> (matches: [(Int, Int, Double)], careReferences: Int, careDetections: Int)
    {
        let dontCare = Set(references.indices.filter { references[$0].text == "###" })
        var ignoredDetections = Set<Int>()
        for (d, det) in detections.enumerated() {
            let area = polygonArea(det.points)
            for r in dontCare where area > 0 && intersectionArea(det.points, references[r].points) / area > 0.5 {
                ignoredDetections.insert(d)
            }
        }
        var usedR = Set<Int>(), usedD = Set<Int>()
        var matches: [(Int, Int, Double)] = []
        for r in references.indices where !dontCare.contains(r) {
            for d in detections.indices where !usedD.contains(d) && !ignoredDetections.contains(d) && !usedR.contains(r) {
                let v = iou(references[r].points, detections[d].points)
                if v >= threshold {
                    usedR.insert(r)
                    usedD.insert(d)
                    matches.append((r, d, v))
                }
            }
        }
        return (matches, references.count - dontCare.count, detections.count - ignoredDetections.count)
    }

    /// Scores pages: `read` returns a page's detected regions in reading order.
    public static func run(
        samples: [EvalSample], threshold: Double = 0.5, options: MetricOptions = .default,
        read: (RGBImage) throws -> [PageRegion], progress: ((Int) -> Void)? = nil
    ) throws -> (metrics: PageMetrics, records: [PageRecord]) {
        var records: [PageRecord] = []
        var (refs, dets, matched) = (0, 0, 0)
        var (references, predictions) = ([String](), [String]())
        for (i, sample) in samples.enumerated() {
            guard let json = sample.metadata["annotations"] else {
                throw PageEvaluationError("sample \(sample.id) has no \"annotations\" column (boxes with texts)")
            }
            let truth: [PageRegion]
            do { truth = try PageRegion.annotations(json) } catch { throw PageEvaluationError("sample \(sample.id): \(error)") }
            guard let load = sample.loadImage else { throw PageEvaluationError("sample \(sample.id) has no image") }
            let found = try read(try load())
            let m = match(references: truth, detections: found, threshold: threshold)
            refs += m.careReferences
            dets += m.careDetections
            matched += m.matches.count
            for (r, d, _) in m.matches {
                references.append(truth[r].text)
                predictions.append(found[d].text)
            }
            records.append(PageRecord(
                id: sample.id, references: truth, detections: found, matches: m.matches.map { [Double($0.0), Double($0.1), $0.2] }))
            progress?(i + 1)
        }
        let precision = dets > 0 ? Double(matched) / Double(dets) : 0
        let recall = refs > 0 ? Double(matched) / Double(refs) : 0
        let hmean = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
        let cer = TextMetrics.cer(references: references, predictions: predictions, options: options)
        let exact = references.isEmpty ? 0 : Double(zip(references, predictions).filter { $0 == $1 }.count) / Double(references.count)
        return (
            PageMetrics(
                pages: samples.count, references: refs, detections: dets, matched: matched, precision: precision, recall: recall,
                hmean: hmean, endToEndCER: cer, endToEndExactMatch: exact),
            records
        )
    }

    // MARK: Output

    /// Writes metrics.json, predictions.jsonl and report.html to `path` (replaced).
    public static func write(
        metrics: PageMetrics, records: [PageRecord], samples: [EvalSample], run: [String: String], to path: String
    ) throws {
        try AtomicDirectory.write(to: path) { dir in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            var object = try JSONSerialization.jsonObject(with: encoder.encode(metrics)) as! [String: Any]
            object["task"] = "pages"
            object["run"] = run
            let metricsData = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            try metricsData.write(to: URL(fileURLWithPath: dir).appendingPathComponent("metrics.json"))
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let lines = try records.map { String(decoding: try encoder.encode($0), as: UTF8.self) }.joined(separator: "\n") + "\n"
            try Data(lines.utf8).write(to: URL(fileURLWithPath: dir).appendingPathComponent("predictions.jsonl"))
            try Data(report(metrics: metrics, records: records, samples: samples).utf8)
                .write(to: URL(fileURLWithPath: dir).appendingPathComponent("report.html"))
        }
    }

    /// The report: the scores, then each page with references (green) and detections (red) drawn over it.
    static func report(metrics m: PageMetrics, records: [PageRecord], samples: [EvalSample]) -> String {
        var body = "<h1>Pages: detection and end-to-end recognition</h1>"
        body += "<table><tr><th>pages</th><th>references</th><th>detections</th><th>matched</th><th>precision</th><th>recall</th><th>hmean</th><th>end-to-end CER</th><th>exact lines</th></tr>"
        body += "<tr><td class=\"num\">\(m.pages)</td><td class=\"num\">\(m.references)</td><td class=\"num\">\(m.detections)</td><td class=\"num\">\(m.matched)</td>"
        body += [m.precision, m.recall, m.hmean, m.endToEndCER, m.endToEndExactMatch].map { "<td class=\"num\">\(HTMLKit.percent($0))</td>" }.joined()
        body += "</tr></table><p class=\"meta\">ICDAR 2015 protocol: IoU ≥ 0.5, one to one; references in green, detections in red.</p>"
        for (record, sample) in zip(records, samples) {
            body += "<h2>\(HTMLKit.escape(record.id))</h2>"
            guard let uri = HTMLKit.imageURI(sample.imageBytes), let image = try? sample.loadImage?() else { continue }
            let (w, h) = (image.width, image.height)
            func polygon(_ r: PageRegion, _ color: String) -> String {
                let pts = r.points.map { "\($0[0]),\($0[1])" }.joined(separator: " ")
                return "<polygon points=\"\(pts)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"><title>\(HTMLKit.escape(r.text))</title></polygon>"
            }
            body += "<svg width=\"\(min(w, 900))\" viewBox=\"0 0 \(w) \(h)\" style=\"border:1px solid #ddd\"><image href=\"\(uri)\" width=\"\(w)\" height=\"\(h)\"/>"
            body += record.references.map { polygon($0, "#1e9e3e") }.joined() + record.detections.map { polygon($0, "#d93025") }.joined()
            body += "</svg><table><tr><th>reference</th><th>read</th><th>IoU</th></tr>"
            for match in record.matches {
                let (r, d) = (Int(match[0]), Int(match[1]))
                let diff = HTMLKit.diff(reference: record.references[r].text, prediction: record.detections[d].text)
                body += "<tr><td class=\"text\">\(diff.reference)</td><td class=\"text\">\(diff.prediction)</td><td class=\"num\">\(String(format: "%.2f", match[2]))</td></tr>"
            }
            body += "</table>"
        }
        return HTMLKit.page(title: "ocrtune pages", body: body)
    }

    // MARK: Geometry

    /// Intersection over union of two polygons (convex; detection boxes and annotation rectangles).
    public static func iou(_ a: [[Double]], _ b: [[Double]]) -> Double {
        let inter = intersectionArea(a, b)
        let union = polygonArea(a) + polygonArea(b) - inter
        return union > 0 ? inter / union : 0
    }

    static func polygonArea(_ p: [[Double]]) -> Double {
        guard p.count >= 3 else { return 0 }
        var s = 0.0
        for i in p.indices {
            let (a, b) = (p[i], p[(i + 1) % p.count])
            s += a[0] * b[1] - b[0] * a[1]
        }
        return abs(s) / 2
    }

    /// Area of the intersection of two convex polygons (Sutherland–Hodgman clipping).
    static func intersectionArea(_ subject: [[Double]], _ clip: [[Double]]) -> Double {
        func oriented(_ p: [[Double]]) -> [[Double]] {
            var s = 0.0
            for i in p.indices { s += p[i][0] * p[(i + 1) % p.count][1] - p[(i + 1) % p.count][0] * p[i][1] }
            return s < 0 ? p.reversed() : p
        }
        var output = oriented(subject)
        let c = oriented(clip)
        guard c.count >= 3 else { return 0 }
        for i in c.indices {
            let (a, b) = (c[i], c[(i + 1) % c.count])
            func inside(_ p: [Double]) -> Bool { (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]) >= 0 }
            func crossing(_ p: [Double], _ q: [Double]) -> [Double] {
                let (x1, y1, x2, y2) = (p[0], p[1], q[0], q[1])
                let (x3, y3, x4, y4) = (a[0], a[1], b[0], b[1])
                let den = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
                guard den != 0 else { return q }
                let t = ((x1 - x3) * (y3 - y4) - (y1 - y3) * (x3 - x4)) / den
                return [x1 + t * (x2 - x1), y1 + t * (y2 - y1)]
            }
            let input = output
            output = []
            guard !input.isEmpty else { break }
            for j in input.indices {
                let (p, q) = (input[j], input[(j + 1) % input.count])
                if inside(q) {
                    if !inside(p) { output.append(crossing(p, q)) }
                    output.append(q)
                } else if inside(p) {
                    output.append(crossing(p, q))
                }
            }
        }
        return polygonArea(output)
    }
}
