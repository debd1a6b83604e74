// Documents with fields: receipt, invoice and form pages laid out with Pango, fields filled by
// generators, each field's ink box recorded as an annotation (bbox, text, category).

import CRender
import Foundation

// MARK: Configuration

public enum DocumentTemplate: String, CaseIterable, Codable, Sendable {
    case receipt, invoice, form
}

/// Settings of a document run (Codable, snake_case keys). Only photometric degradations apply
/// (geometric ones are switched off) so annotation boxes stay exact.
public struct DocumentSynthConfig: Codable, Sendable {
    public var count: Int
    public var seed: UInt64
    public var template: DocumentTemplate
    public var profile: SynthProfile
    public var threads: Int
    public var pngLevel: Int

    enum CodingKeys: String, CodingKey {
        case count, seed, template, profile, threads, pngLevel = "png_level"
    }

    public init(count: Int, seed: UInt64 = 0, template: DocumentTemplate, profile: SynthProfile = .clean, threads: Int = 0, pngLevel: Int = 3) {
        self.count = count
        self.seed = seed
        self.template = template
        self.profile = profile
        self.threads = threads
        self.pngLevel = pngLevel
    }
}

// MARK: Page builder

/// Draws text blocks on a page and collects the annotations and the reading-order text.
final class PageBuilder {
    let page: OpaquePointer
    let width: Int
    let family: String
    let boldWeight = 700
    var annotations: [SynthAnnotation] = []
    var lines: [String] = []
    var missingGlyph = false

    init(width: Int, height: Int, family: String) {
        var bg: [UInt8] = [255, 255, 255]
        page = crender_page_new(Int32(width), Int32(height), &bg)
        self.width = width
        self.family = family
    }

    /// Draws `text` at (x, y) (top-left; with `maxWidth`, aligned inside it). Returns the logical
    /// height. `category` nil = not annotated.
    @discardableResult
    func text(_ text: String, x: Double, y: Double, px: Double, bold: Bool = false, maxWidth: Double = 0,
              align: Int = 0, category: String? = nil, newLine: Bool = true) -> Int {
        var box = [Int32](repeating: 0, count: 4), extent = [Int32](repeating: 0, count: 2)
        var fg: [UInt8] = [20, 20, 20]
        let rc = crender_page_text(page, text, family, px, Int32(bold ? boldWeight : 400), x, y, maxWidth, Int32(align), &fg, &box, &extent)
        if rc != 0 { missingGlyph = true }
        if let category {
            // [x1, y1, x2, y2] (end exclusive), the document form `data build` imports.
            let (bx, by, bw, bh) = (Int(box[0]), Int(box[1]), Int(box[2]), Int(box[3]))
            annotations.append(SynthAnnotation(bbox: [bx, by, bx + bw, by + bh], text: text, category: category))
        }
        if newLine { lines.append(text) } else if let last = lines.popLast() { lines.append(last + " " + text) } else { lines.append(text) }
        return Int(extent[1])
    }

    func rule(y: Double, x0: Double, x1: Double, width: Double = 1) {
        var c: [UInt8] = [40, 40, 40]
        crender_page_rect(page, x0, y, x1 - x0, width, &c)
    }

    func frame(x: Double, y: Double, w: Double, h: Double) {
        var c: [UInt8] = [90, 90, 90]
        crender_page_frame(page, x, y, w, h, 1, &c)
    }

    func finish() -> PixelBuffer {
        var out = crender_image()
        _ = crender_page_finish(page, &out)
        return PixelBuffer(taking: out)
    }
}

// MARK: Synthesizer

public final class DocumentSynthesizer: @unchecked Sendable {
    public let config: DocumentSynthConfig
    public let fonts: FontLibrary
    private let pipeline: DegradationPipeline

    public init(config: DocumentSynthConfig, fonts: FontLibrary) {
        self.config = config
        self.fonts = fonts
        var p = config.profile
        for name in ["elastic", "rotation", "skew", "perspective", "underline", "strike_through"] { try? p.override("\(name)=0") }
        pipeline = DegradationPipeline(profile: p, lineHeight: 32)
    }

    @discardableResult
    public func run(into sink: SynthSink, progress: ((SynthProgress) -> Void)? = nil) throws -> SynthReport {
        try SynthRunner.run(count: config.count, threads: config.threads, sink: sink, progress: progress) { [self] i in
            try self.sample(at: i)
        }
    }

    static let vendorA = ["Golden", "Blue", "North", "Sunrise", "Green", "Metro", "Royal", "Union", "Harbor", "Maple"]
    static let vendorB = ["Bakery", "Market", "Coffee", "Hardware", "Books", "Pharmacy", "Electronics", "Supplies", "Deli", "Garage"]
    static let vendorC = ["", " Ltd", " GmbH", " & Co", " Inc."]
    static let firstNames = ["Anna", "Ben", "Chen", "Dara", "Elif", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Keiko", "Lena"]
    static let lastNames = ["Miller", "Nakamura", "Okafor", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka", "Usman", "Vargas"]
    static let streets = ["Main St", "Oak Avenue", "River Road", "Station Square", "Hill Lane", "Market Street"]
    static let cities = ["Springfield", "Riverton", "Lakeside", "Fairview", "Bridgeport", "Ashford"]

    static func pick(_ list: [String], _ r: inout SynthRandom) -> String { list[r.int(0, list.count - 1)] }
    static func money(_ cents: Int) -> String { String(format: "%d.%02d", cents / 100, cents % 100) }

    /// Makes document `index`.
    public func sample(at index: Int) throws -> SynthOutcome {
        var r = SynthRandom(seed: config.seed, index: index, stream: 5)
        let vendor = Self.pick(Self.vendorA, &r) + " " + Self.pick(Self.vendorB, &r) + Self.pick(Self.vendorC, &r)
        let address = "\(r.int(1, 999)) \(Self.pick(Self.streets, &r)), \(Self.pick(Self.cities, &r))"
        let date = FieldGenerator.date(&r)
        let number = FieldGenerator.identifier(&r)
        let person = Self.pick(Self.firstNames, &r) + " " + Self.pick(Self.lastNames, &r)
        let items: [(String, Int, Int)] = (0..<r.int(2, 6)).map { _ in
            (Self.pick(FieldGenerator.items, &r), r.int(1, 5), r.int(99, 9999))
        }
        // A font that covers everything this document says.
        let probe = vendor + address + date + number + person + items.map(\.0).joined() + "0123456789.,:#%-/×"
        let candidates = fonts.covering(probe)
        guard !candidates.isEmpty else {
            return .skipped(SynthSkip(index: index, text: vendor, reason: "no font covers the document's text"))
        }
        let family = candidates[r.int(0, candidates.count - 1)].family
        let subtotal = items.reduce(0) { $0 + $1.1 * $1.2 }
        let taxRate = [0, 5, 7, 10, 19, 20][r.int(0, 5)]
        let tax = subtotal * taxRate / 100
        let total = subtotal + tax

        let pg: PageBuilder
        switch config.template {
        case .receipt:
            let w = 384, px = 17.0, lh = 24.0
            pg = PageBuilder(width: w, height: 190 + items.count * 24 + 150, family: family)
            var y = 16.0
            pg.text(vendor, x: 12, y: y, px: 22, bold: true, maxWidth: Double(w - 24), align: 1, category: "vendor")
            y += 32
            pg.text(address, x: 12, y: y, px: 14, maxWidth: Double(w - 24), align: 1, category: "address")
            y += 28
            pg.text("Date: \(date)", x: 12, y: y, px: px)
            y += lh
            pg.text("Receipt #", x: 12, y: y, px: px)
            pg.text(number, x: 110, y: y, px: px, category: "invoice_number", newLine: false)
            y += lh + 6
            pg.rule(y: y, x0: 12, x1: Double(w - 12))
            y += 8
            for (name, qty, cents) in items {
                let line = "\(qty) × \(name)"
                pg.text(line, x: 12, y: y, px: px, category: "line_item")
                pg.text(Self.money(qty * cents), x: 12, y: y, px: px, maxWidth: Double(w - 24), align: 2, category: "line_item_amount", newLine: false)
                y += lh
            }
            pg.rule(y: y + 4, x0: 12, x1: Double(w - 12))
            y += 12
            pg.text("Subtotal", x: 12, y: y, px: px)
            pg.text(Self.money(subtotal), x: 12, y: y, px: px, maxWidth: Double(w - 24), align: 2, category: "subtotal", newLine: false)
            y += lh
            pg.text("Tax \(taxRate)%", x: 12, y: y, px: px)
            pg.text(Self.money(tax), x: 12, y: y, px: px, maxWidth: Double(w - 24), align: 2, category: "tax", newLine: false)
            y += lh
            pg.text("TOTAL", x: 12, y: y, px: 20, bold: true)
            pg.text(Self.money(total), x: 12, y: y, px: 20, bold: true, maxWidth: Double(w - 24), align: 2, category: "total", newLine: false)
            y += 40
            pg.text("Thank you!", x: 12, y: y, px: 15, maxWidth: Double(w - 24), align: 1)
        case .invoice:
            let w = 620, px = 15.0, lh = 22.0
            pg = PageBuilder(width: w, height: 420 + items.count * 22 + 120, family: family)
            pg.text(vendor, x: 30, y: 30, px: 24, bold: true, category: "vendor")
            pg.text(address, x: 30, y: 64, px: 14, category: "address")
            pg.text("INVOICE", x: 30, y: 30, px: 28, bold: true, maxWidth: Double(w - 60), align: 2)
            var y = 120.0
            pg.text("Invoice no.", x: 30, y: y, px: px)
            pg.text(number, x: 150, y: y, px: px, category: "invoice_number", newLine: false)
            y += lh
            pg.text("Date", x: 30, y: y, px: px)
            pg.text(date, x: 150, y: y, px: px, category: "date", newLine: false)
            y += lh
            pg.text("Bill to", x: 30, y: y, px: px)
            pg.text(person, x: 150, y: y, px: px, category: "customer", newLine: false)
            y += lh * 2
            pg.frame(x: 24, y: y - 4, w: Double(w - 48), h: Double(items.count + 1) * lh + 8)
            pg.text("Description", x: 30, y: y, px: px, bold: true)
            pg.text("Qty", x: 330, y: y, px: px, bold: true, newLine: false)
            pg.text("Amount", x: 30, y: y, px: px, bold: true, maxWidth: Double(w - 60), align: 2, newLine: false)
            y += lh
            for (name, qty, cents) in items {
                pg.text(name, x: 30, y: y, px: px, category: "line_item")
                pg.text(String(qty), x: 330, y: y, px: px, category: "line_item_quantity", newLine: false)
                pg.text(Self.money(qty * cents), x: 30, y: y, px: px, maxWidth: Double(w - 60), align: 2, category: "line_item_amount", newLine: false)
                y += lh
            }
            y += lh
            pg.text("Subtotal", x: 360, y: y, px: px)
            pg.text(Self.money(subtotal), x: 30, y: y, px: px, maxWidth: Double(w - 60), align: 2, category: "subtotal", newLine: false)
            y += lh
            pg.text("Tax \(taxRate)%", x: 360, y: y, px: px)
            pg.text(Self.money(tax), x: 30, y: y, px: px, maxWidth: Double(w - 60), align: 2, category: "tax", newLine: false)
            y += lh
            pg.text("Total due", x: 360, y: y, px: 17, bold: true)
            pg.text(Self.money(total), x: 30, y: y, px: 17, bold: true, maxWidth: Double(w - 60), align: 2, category: "total", newLine: false)
        case .form:
            let w = 560, px = 16.0
            let fields: [(String, String, String)] = [
                ("Full name", person, "name"), ("Date of birth", FieldGenerator.date(&r), "date"),
                ("ID number", number, "id"), ("Address", address, "address"),
                ("Phone", String(format: "+%d %03d %04d", r.int(1, 99), r.int(100, 999), r.int(0, 9999)), "phone"),
                ("Employer", vendor, "vendor"),
            ]
            pg = PageBuilder(width: w, height: 110 + fields.count * 56, family: family)
            pg.text("Registration form", x: 30, y: 24, px: 24, bold: true)
            var y = 80.0
            for (label, value, category) in fields {
                pg.text(label, x: 30, y: y, px: 13)
                pg.frame(x: 28, y: y + 18, w: Double(w - 56), h: 30)
                pg.text(value, x: 36, y: y + 22, px: px, category: category)
                y += 56
            }
        }
        let img = pg.finish()
        if pg.missingGlyph {
            return .skipped(SynthSkip(index: index, text: vendor, reason: "font '\(family)' lacks a glyph"))
        }
        var params: [String: String] = ["generator": "document", "template": config.template.rawValue, "font": family,
                                        "profile": config.profile.name, "seed": String(config.seed)]
        pipeline.apply(to: img, background: (255, 255, 255), seed: SynthRandom.derive(config.seed, UInt64(index), 3), params: &params)
        let png = try img.png(level: config.pngLevel)
        return .sample(SynthSample(index: index, png: png, width: img.width, height: img.height,
                                   text: pg.lines.joined(separator: "\n"), parameters: params, annotations: pg.annotations))
    }
}
