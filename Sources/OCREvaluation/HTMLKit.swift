// Small pieces shared by the report pages: escaping, character diffs, images, charts.

import Foundation
import OCRMetrics

enum HTMLKit {
    // MARK: Text

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func percent(_ x: Double, digits: Int = 2) -> String {
        String(format: "%.\(digits)f%%", x * 100)
    }

    // MARK: Character diff

    /// Reference and prediction marked up by a minimum-edit alignment of grapheme clusters:
    /// substitutions `<span class="sub">`, deletions (reference only) `<span class="del">`,
    /// insertions (prediction only) `<span class="ins">`.
    static func diff(reference: String, prediction: String) -> (reference: String, prediction: String) {
        let r = Array(reference)
        let p = Array(prediction)
        var ids: [Character: Int] = [:]
        func id(_ c: Character) -> Int {
            if let v = ids[c] { return v }
            ids[c] = ids.count
            return ids.count - 1
        }
        let ops = EditAlignment.align(r.map(id), p.map(id))
        var ref = ""
        var pred = ""
        for op in ops {
            switch op {
            case .match(let i, let j):
                ref += escape(String(r[i]))
                pred += escape(String(p[j]))
            case .substitution(let i, let j):
                ref += "<span class=\"sub\">\(escape(String(r[i])))</span>"
                pred += "<span class=\"sub\">\(escape(String(p[j])))</span>"
            case .deletion(let i):
                ref += "<span class=\"del\">\(escape(String(r[i])))</span>"
            case .insertion(let j):
                pred += "<span class=\"ins\">\(escape(String(p[j])))</span>"
            }
        }
        return (ref, pred)
    }

    // MARK: Images

    /// A data: URI for image formats browsers display, nil for others (TIFF) or none.
    static func imageURI(_ data: Data?) -> String? {
        guard let data, data.count >= 12 else { return nil }
        let b = [UInt8](data.prefix(12))
        let mime: String
        if b.starts(with: [0x89, 0x50, 0x4E, 0x47]) { mime = "image/png" }
        else if b.starts(with: [0xFF, 0xD8]) { mime = "image/jpeg" }
        else if b.starts(with: [0x47, 0x49, 0x46, 0x38]) { mime = "image/gif" }
        else if b.starts(with: [0x42, 0x4D]) { mime = "image/bmp" }
        else if b.starts(with: [0x52, 0x49, 0x46, 0x46]), b[8 ..< 12].elementsEqual([0x57, 0x45, 0x42, 0x50]) { mime = "image/webp" }
        else { return nil }
        return "data:\(mime);base64,\(data.base64EncodedString())"
    }

    static func imageCell(_ data: Data?) -> String {
        guard let uri = imageURI(data) else { return "<td class=\"img\">—</td>" }
        return "<td class=\"img\"><img src=\"\(uri)\" alt=\"\"></td>"
    }

    // MARK: Charts

    /// A bar chart (inline SVG) of per-sample values in the given bins (upper bounds, inclusive).
    static func histogram(_ values: [Double], bins: [(label: String, upper: Double)]) -> String {
        var counts = Array(repeating: 0, count: bins.count)
        for v in values {
            let i = bins.firstIndex { v <= $0.upper } ?? bins.count - 1
            counts[i] += 1
        }
        let maxCount = max(counts.max() ?? 1, 1)
        let barWidth = 56
        let height = 140
        var svg = "<svg class=\"hist\" width=\"\(bins.count * barWidth + 20)\" height=\"\(height + 56)\" role=\"img\">"
        for (i, c) in counts.enumerated() {
            let h = Int(Double(height) * Double(c) / Double(maxCount))
            let x = 10 + i * barWidth
            svg += "<rect x=\"\(x + 4)\" y=\"\(height - h + 26)\" width=\"\(barWidth - 8)\" height=\"\(h)\"></rect>"
            svg += "<text x=\"\(x + barWidth / 2)\" y=\"\(height - h + 21)\" text-anchor=\"middle\">\(c)</text>"
            svg += "<text x=\"\(x + barWidth / 2)\" y=\"\(height + 44)\" text-anchor=\"middle\">\(escape(bins[i].label))</text>"
        }
        return svg + "</svg>"
    }

    static let cerBins: [(label: String, upper: Double)] = [
        ("0", 0), ("≤5%", 0.05), ("≤10%", 0.10), ("≤20%", 0.20), ("≤40%", 0.40), ("≤70%", 0.70), ("≤100%", 1.0), (">100%", .infinity),
    ]

    // MARK: Page

    static func page(title: String, body: String) -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1d1d1f; }
        h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; }
        .meta { color: #666; font-size: 13px; }
        table { border-collapse: collapse; font-size: 14px; }
        th, td { border-bottom: 1px solid #e3e3e3; padding: 5px 10px; text-align: left; vertical-align: middle; }
        th { background: #f5f5f7; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        td.img img { max-height: 48px; max-width: 480px; image-rendering: auto; border: 1px solid #ddd; }
        .text { font-family: "Noto Sans", "Noto Sans CJK SC", "Noto Naskh Arabic", sans-serif; font-size: 16px; }
        .sub { background: #ffe08a; } .del { background: #ffb3b3; text-decoration: line-through; } .ins { background: #b3f0c2; }
        .good { color: #137333; } .bad { color: #b3261e; }
        svg.hist rect { fill: #4a7bd0; } svg.hist text { font-size: 11px; fill: #333; }
        .legend span { padding: 1px 6px; margin-right: 8px; }
        .codepoint { color: #888; font-size: .8em; font-family: monospace; }
        </style></head><body>
        \(body)
        </body></html>
        """
    }
}
