// report.html of an evaluation run.

import Foundation
import OCRMetrics

public enum HTMLReport {
    /// The worst samples shown: those with at least one character edit, highest CER first,
    /// at most `options.worstSamples`.
    public static func worstRecordIndices(_ records: [PredictionRecord], limit: Int) -> [Int] {
        records.indices.filter { records[$0].characterEdits > 0 }
            .sorted { (records[$0].cer, records[$0].characterEdits) > (records[$1].cer, records[$1].characterEdits) }
            .prefix(limit).map { $0 }
    }

    public static func render(_ result: EvaluationResult, info: RunInfo, options: EvaluationOptions) -> String {
        let records = result.records
        var body = "<h1>Evaluation: \(HTMLKit.escape(info.model))</h1>"
        body += "<p class=\"meta\">data \(HTMLKit.escape(info.data ?? "—")) · split \(HTMLKit.escape(info.split ?? "—")) · \(records.count) samples · \(HTMLKit.escape(info.createdAt))"
        if result.seconds > 0 { body += String(format: " · %.1f s (%.1f samples/s)", result.seconds, Double(records.count) / result.seconds) }
        body += "</p>"
        body += summary(result.report)
        body += "<h2>Per-sample CER</h2>" + HTMLKit.histogram(records.map(\.cer), bins: HTMLKit.cerBins)
        body += worst(result, limit: options.worstSamples)
        if let errors = result.report.errors { body += errorTables(errors) }
        body += widthTable(cerByWidth(result))
        body += "<p class=\"meta\">CER = character edits ÷ reference characters (corpus micro average over grapheme clusters unless configured otherwise); WER likewise over words. Definitions: <code>ocrtune score --help</code>.</p>"
        return HTMLKit.page(title: "ocrtune eval — \(info.model)", body: body)
    }

    static func summary(_ report: ScoreReport) -> String {
        guard let t = report.text else { return "" }
        let rows: [(String, String)] = [
            ("CER", HTMLKit.percent(t.cer)), ("CER (mean / median per sample)", "\(HTMLKit.percent(t.cerMean)) / \(HTMLKit.percent(t.cerMedian))"),
            ("WER", HTMLKit.percent(t.wer)), ("1 − NED", String(format: "%.4f", t.ned)), ("Exact match", HTMLKit.percent(t.exactMatch)),
            ("Character precision / recall / F1", String(format: "%.4f / %.4f / %.4f", t.charPrecision, t.charRecall, t.charF1)),
            ("BLEU", String(format: "%.2f", t.bleu)),
            ("Character edits / reference characters", "\(t.characterEdits) / \(t.referenceCharacters)"),
        ]
        return "<h2>Summary</h2><table class=\"summary\">" + rows.map { "<tr><th>\($0.0)</th><td class=\"num\">\($0.1)</td></tr>" }.joined() + "</table>"
    }

    static func worst(_ result: EvaluationResult, limit: Int) -> String {
        let indices = worstRecordIndices(result.records, limit: limit)
        guard !indices.isEmpty else {
            return "<h2>Worst samples</h2><p class=\"legend\">Every sample is read exactly.</p>"
        }
        var html = "<h2>Worst samples (\(indices.count))</h2>"
        html += "<p class=\"legend\"><span class=\"sub\">substituted</span><span class=\"del\">missing</span><span class=\"ins\">inserted</span></p>"
        html += "<table class=\"samples\"><tr><th>id</th><th>image</th><th>reference / prediction</th><th>CER</th></tr>"
        for i in indices {
            let r = result.records[i]
            let (ref, pred) = HTMLKit.diff(reference: r.reference, prediction: r.prediction)
            html += "<tr class=\"sample\"><td>\(HTMLKit.escape(r.id))</td>\(HTMLKit.imageCell(result.samples[i].imageBytes))"
            html += "<td><div class=\"text\" dir=\"auto\">\(ref)</div><div class=\"text\" dir=\"auto\">\(pred)</div></td>"
            html += "<td class=\"num\">\(HTMLKit.percent(r.cer, digits: 1))</td></tr>"
        }
        return html + "</table>"
    }

    /// CER by image width (pixels), in buckets: Σ edits ÷ Σ reference characters per bucket.
    public static func cerByWidth(_ result: EvaluationResult) -> [(label: String, count: Int, cer: Double)] {
        let edges = [0, 64, 128, 256, 512, 1024, Int.max]
        var buckets = Array(repeating: (count: 0, edits: 0, characters: 0), count: edges.count - 1)
        for (record, sample) in zip(result.records, result.samples) {
            guard let w = sample.width, let i = edges.indices.dropLast().last(where: { edges[$0] <= w }) else { continue }
            buckets[i].count += 1
            buckets[i].edits += record.characterEdits
            buckets[i].characters += record.referenceCharacters
        }
        return buckets.indices.compactMap { i in
            let b = buckets[i]
            guard b.count > 0 else { return nil }
            let label = edges[i + 1] == Int.max ? "≥\(edges[i]) px" : "\(edges[i])–\(edges[i + 1] - 1) px"
            return (label, b.count, Double(b.edits) / Double(max(b.characters, 1)))
        }
    }

    static func widthTable(_ rows: [(label: String, count: Int, cer: Double)]) -> String {
        guard !rows.isEmpty else { return "" }
        return "<h2>CER by image width</h2><table><tr><th>width</th><th>samples</th><th>CER</th></tr>"
            + rows.map { "<tr><td>\($0.label)</td><td class=\"num\">\($0.count)</td><td class=\"num\">\(HTMLKit.percent($0.cer))</td></tr>" }.joined()
            + "</table>"
    }

    static func errorTables(_ e: ErrorAnalysisReport) -> String {
        func table(_ title: String, _ header: [String], _ rows: [[String]]) -> String {
            guard !rows.isEmpty else { return "" }
            return "<h2>\(title)</h2><table><tr>" + header.map { "<th>\($0)</th>" }.joined() + "</tr>"
                + rows.map { "<tr>" + $0.map { "<td class=\"text\">\($0)</td>" }.joined() + "</tr>" }.joined() + "</table>"
        }
        // Characters with their code points: look-alikes (， and ,) are told apart.
        let q = { (s: String) in
            s.isEmpty ? "∅" : HTMLKit.escape(s) + " <span class=\"codepoint\">"
                + s.unicodeScalars.map { String(format: "U+%04X", $0.value) }.joined(separator: " ") + "</span>"
        }
        var html = table("Top confusions (reference → prediction)", ["reference", "prediction", "count"], e.confusions.map { [q($0.reference), q($0.prediction), "\($0.count)"] })
        html += table("Most inserted", ["character", "count"], e.insertions.map { [q($0.unit), "\($0.count)"] })
        html += table("Most deleted", ["character", "count"], e.deletions.map { [q($0.unit), "\($0.count)"] })
        html += table("CER by reference length", ["length", "samples", "CER"], e.cerByLength.map { [$0.label, "\($0.count)", HTMLKit.percent($0.cer)] })
        html += table("Never recognized (\(e.neverRecognizedCount) characters)", ["character", "occurrences"], e.neverRecognized.map { [q($0.unit), "\($0.count)"] })
        return html
    }
}
