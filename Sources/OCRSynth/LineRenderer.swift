// Rendering one text line (horizontal, or a vertical CJK column) through CRender (Pango + Cairo).

import CRender
import Foundation

// MARK: Style

/// Everything that decides how one line is drawn before degradation.
public struct LineStyle: Sendable, Equatable {
    public var family: String
    /// Font size in pixels (em).
    public var fontPx: Double
    /// Canvas height of a horizontal line (width of a vertical column), pixels.
    public var lineHeight: Int
    public var padBefore: Int = 0
    public var padAfter: Int = 0
    /// Shift across the line from centered, pixels.
    public var offset: Double = 0
    public var letterSpacing: Double = 0
    public var weight: Int = 400
    public var italic: Bool = false
    public var vertical: Bool = false
    /// Underline rule width in pixels (nil: none).
    public var underline: Double? = nil
    /// Strike-through rule width in pixels (nil: none).
    public var strike: Double? = nil
    public var ink: (UInt8, UInt8, UInt8) = (0, 0, 0)
    public var background: (UInt8, UInt8, UInt8) = (255, 255, 255)

    public init(family: String, fontPx: Double, lineHeight: Int) {
        self.family = family
        self.fontPx = fontPx
        self.lineHeight = lineHeight
    }

    public static func == (a: LineStyle, b: LineStyle) -> Bool {
        a.family == b.family && a.fontPx == b.fontPx && a.lineHeight == b.lineHeight && a.padBefore == b.padBefore
            && a.padAfter == b.padAfter && a.offset == b.offset && a.letterSpacing == b.letterSpacing
            && a.weight == b.weight && a.italic == b.italic && a.vertical == b.vertical && a.underline == b.underline
            && a.strike == b.strike && a.ink == b.ink && a.background == b.background
    }
}

/// Where the ink landed.
public struct LineInfo: Sendable, Equatable {
    /// Ink box (x, y, width, height) on the canvas.
    public var inkBox: [Int]
    public var baseline: Int
    /// Font size used (smaller than asked when the ink would not fit the line height).
    public var fontPx: Double
    /// Whether the paragraph resolved right to left (Arabic, Persian, Hebrew).
    public var rightToLeft: Bool
}

/// The outcome of rendering one line.
public enum LineRender {
    case rendered(PixelBuffer, LineInfo)
    /// The font lacks a glyph of the text (Pango found unknown glyphs with fallback disabled).
    case missingGlyph
    /// The text has no visible ink.
    case empty
}

// MARK: Renderer

public enum LineRenderer {
    /// Renders `text` in `style`. Font fallback is disabled: a font without some glyph yields
    /// `.missingGlyph`, never boxes.
    public static func render(_ text: String, style: LineStyle) throws -> LineRender {
        var p = crender_line_params()
        p.font_px = style.fontPx
        p.line_height = Int32(style.lineHeight)
        p.pad_before = Int32(style.padBefore)
        p.pad_after = Int32(style.padAfter)
        p.offset = style.offset
        p.letter_spacing = style.letterSpacing
        p.weight = Int32(style.weight)
        p.italic = style.italic ? 1 : 0
        p.vertical = style.vertical ? 1 : 0
        p.underline = style.underline == nil ? 0 : 1
        p.strike = style.strike == nil ? 0 : 1
        p.rule_width = style.underline ?? style.strike ?? 0
        p.fg = (style.ink.0, style.ink.1, style.ink.2)
        p.bg = (style.background.0, style.background.1, style.background.2)
        var out = crender_image()
        var info = crender_line_info()
        var err = [CChar](repeating: 0, count: 512)
        let rc = text.withCString { t in
            style.family.withCString { f in
                p.text = t
                p.family = f
                return crender_render_line(&p, &out, &info, &err, err.count)
            }
        }
        switch Int(rc) {
        case Int(CRENDER_OK):
            let li = LineInfo(
                inkBox: [Int(info.ink_x), Int(info.ink_y), Int(info.ink_width), Int(info.ink_height)],
                baseline: Int(info.baseline), fontPx: info.font_px, rightToLeft: info.rtl != 0)
            return .rendered(PixelBuffer(taking: out), li)
        case Int(CRENDER_MISSING_GLYPH): return .missingGlyph
        case Int(CRENDER_EMPTY): return .empty
        default: throw SynthError.render("rendering '\(text.prefix(40))' in '\(style.family)': \(String(cString: err))")
        }
    }
}
