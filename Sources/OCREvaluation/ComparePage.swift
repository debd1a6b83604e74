// The page of `ocrtune compare`.

import Foundation

public enum ComparePage {
    public static func render(
        _ c: ComparisonResult, a: [PredictionRecord], b: [PredictionRecord], nameA: String, nameB: String,
        limit: Int = 100
    ) -> String {
        let bByID = Dictionary(b.map { ($0.id, $0) }, uniquingKeysWith: { x, _ in x })
        let aByID = Dictionary(a.map { ($0.id, $0) }, uniquingKeysWith: { x, _ in x })
        var body = "<h1>Compare: \(HTMLKit.escape(nameA)) → \(HTMLKit.escape(nameB))</h1>"
        body += "<p class=\"meta\">\(c.count) common samples"
        if c.onlyInA + c.onlyInB > 0 { body += " (\(c.onlyInA) only in A, \(c.onlyInB) only in B, not compared)" }
        body += " · 95% intervals from \(c.resamples) paired bootstrap resamples (seed \(c.seed))</p>"

        body += "<h2>Metrics</h2><table class=\"metrics\"><tr><th>metric</th><th>A</th><th>B</th><th>B − A</th><th>95% interval</th></tr>"
        for m in c.metrics {
            let lowerIsBetter = m.name != "exact_match"
            let better = lowerIsBetter ? m.high < 0 : m.low > 0
            let worse = lowerIsBetter ? m.low > 0 : m.high < 0
            let cls = better ? "good" : worse ? "bad" : ""
            body += "<tr><th>\(m.name)</th><td class=\"num\">\(HTMLKit.percent(m.a))</td><td class=\"num\">\(HTMLKit.percent(m.b))</td>"
            body += "<td class=\"num \(cls)\">\(String(format: "%+.2f", m.delta * 100)) pt</td>"
            body += "<td class=\"num\">[\(String(format: "%+.2f", m.low * 100)), \(String(format: "%+.2f", m.high * 100))] pt</td></tr>"
        }
        body += "</table>"
        body += "<p>fixed \(c.fixed.count) · broken \(c.broken.count) · CER improved on \(c.improved.count) · worsened on \(c.worsened.count)</p>"

        func section(_ title: String, _ ids: [String]) -> String {
            var html = "<h2>\(title) (\(ids.count))</h2>"
            guard !ids.isEmpty else { return html + "<p class=\"meta\">none</p>" }
            html += "<table class=\"samples\"><tr><th>id</th><th>reference</th><th>A</th><th>B</th><th>CER A → B</th></tr>"
            for id in ids.prefix(limit) {
                guard let ra = aByID[id], let rb = bByID[id] else { continue }
                let da = HTMLKit.diff(reference: ra.reference, prediction: ra.prediction).prediction
                let db = HTMLKit.diff(reference: rb.reference, prediction: rb.prediction).prediction
                html += "<tr class=\"sample\"><td>\(HTMLKit.escape(id))</td><td class=\"text\" dir=\"auto\">\(HTMLKit.escape(ra.reference))</td>"
                html += "<td class=\"text\" dir=\"auto\">\(da)</td><td class=\"text\" dir=\"auto\">\(db)</td>"
                html += "<td class=\"num\">\(HTMLKit.percent(ra.cer, digits: 1)) → \(HTMLKit.percent(rb.cer, digits: 1))</td></tr>"
            }
            if ids.count > limit { html += "<tr><td colspan=\"5\" class=\"meta\">… \(ids.count - limit) more</td></tr>" }
            return html + "</table>"
        }
        let fixedSet = Set(c.fixed)
        let brokenSet = Set(c.broken)
        body += section("Fixed", c.fixed)
        body += section("Broken", c.broken)
        body += section("Other improved", c.improved.filter { !fixedSet.contains($0) })
        body += section("Other worsened", c.worsened.filter { !brokenSet.contains($0) })
        return HTMLKit.page(title: "ocrtune compare", body: body)
    }
}
