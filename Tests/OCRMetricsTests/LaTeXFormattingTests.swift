import XCTest
@testable import OCRMetrics

/// Formatting-invariance of ``LaTeX/normalizedTokens(_:)``: math wrappers, style declarations and
/// style-only font commands, as arXiv-trained models (latex-ocr-junia) emit them.
final class LaTeXFormattingTests: XCTestCase {
    // MARK: Wrappers

    func testMathWrappersAreDropped() {
        let bare = LaTeX.normalizedTokens("n = q")
        XCTAssertEqual(bare, ["n", "=", "q"])
        for wrapped in ["$n=q$", "$$n=q$$", "\\[n=q\\]", "\\(n = q\\)", "\\begin{align*}n=q\\end{align*}",
                        "\\begin{equation*} n=q \\end{equation*}", "\\begin{equation}n=q\\end{equation}"] {
            XCTAssertEqual(LaTeX.normalizedTokens(wrapped), bare, wrapped)
        }
    }

    func testOtherEnvironmentsStayAsOneTokenEach() {
        XCTAssertEqual(LaTeX.normalizedTokens("\\begin{array}{c} 4 \\end{array}"),
                       ["\\begin{array}", "c", "4", "\\end{array}"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\begin{pmatrix*}a\\end{pmatrix*}"),
                       ["\\begin{pmatrix*}", "a", "\\end{pmatrix*}"])
        // A \begin without a plain name is left as tokens.
        XCTAssertEqual(LaTeX.normalizedTokens("\\begin{\\x}"), ["\\begin", "\\x"])
    }

    // MARK: Declarations and font commands

    func testStyleDeclarationsAreDropped() {
        XCTAssertEqual(LaTeX.normalizedTokens("\\textstyle\\sum\\limits_{j=1}^{m} {\\bf x}"),
                       LaTeX.normalizedTokens("\\sum _ { j = 1 } ^ { m } x"))
        XCTAssertEqual(LaTeX.normalizedTokens("2^{\\scriptscriptstyle D}"), ["2", "^", "D"])
    }

    func testStyleOnlyFontCommandsAreUnwrapped() {
        XCTAssertEqual(LaTeX.normalizedTokens("\\mathrm{G}"), ["G"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\pmb{\\tau}_7"), ["\\tau", "_", "7"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\mathbf{ab}+c"), ["a", "b", "+", "c"])
        XCTAssertEqual(LaTeX.normalizedTokens("{\\mathit{d}x}"), ["{", "d", "x", "}"])
        // As a script the group is the argument: its braces stay.
        XCTAssertEqual(LaTeX.normalizedTokens("x^\\mathrm{ab}"), ["x", "^", "{", "a", "b", "}"])
        XCTAssertEqual(LaTeX.normalizedTokens("x_\\mathbf{a}"), ["x", "_", "a"])
        // Without a group the next token is the argument.
        XCTAssertEqual(LaTeX.normalizedTokens("\\mathrm d x"), ["d", "x"])
        // Alphabets that make another symbol stay.
        XCTAssertEqual(LaTeX.normalizedTokens("\\mathfrak{c}"), ["\\mathfrak", "c"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\mathbb{R}"), ["\\mathbb", "R"])
    }

    func testOperatorNamesAndSpacingClasses() {
        XCTAssertEqual(LaTeX.normalizedTokens("\\mathrm{cos} E"), ["\\cos", "E"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\operatorname{exp} x"), ["\\exp", "x"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\mathop{\\mathrm{exp}}\\nolimits\\pi"), ["\\exp", "\\pi"])
        XCTAssertEqual(LaTeX.normalizedTokens("a\\mathop{\\scriptstyle\\geq} b"), ["a", "\\geq", "b"])
        // Not an operator name: the letters stay letters.
        XCTAssertEqual(LaTeX.normalizedTokens("\\mathrm{ep}"), ["e", "p"])
    }

    func testInvisibleMaterialIsDropped() {
        XCTAssertEqual(LaTeX.normalizedTokens("\\hspace{-1.5cm}\\lambda"), ["\\lambda"])
        XCTAssertEqual(LaTeX.normalizedTokens("a\\hspace*{2em}b\\vphantom{X}"), ["a", "b"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\sigma_{\\phantom{\\phantom{x}}}"), ["\\sigma", "_", "{", "}"])
    }

    func testEmptyGroupsAndScriptOrder() {
        XCTAssertEqual(LaTeX.normalizedTokens("{}^{X^{s}}"), ["^", "{", "X", "^", "s", "}"])
        XCTAssertEqual(LaTeX.normalizedTokens("{{}}a"), ["a"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\frac{}{x}"), ["\\frac", "{", "}", "x"])  // an empty argument stays
        XCTAssertEqual(LaTeX.normalizedTokens("E^i_t"), LaTeX.normalizedTokens("E _ { t } ^ { i }"))
        XCTAssertEqual(LaTeX.normalizedTokens("6^{q}_{\\pi}"), ["6", "_", "\\pi", "^", "q"])
        XCTAssertEqual(LaTeX.normalizedTokens("B^{c+1}_{G}"), ["B", "_", "G", "^", "{", "c", "+", "1", "}"])
        // Nested: both levels ordered.
        XCTAssertEqual(LaTeX.normalizedTokens("x^{a^b_c}_d"), ["x", "_", "d", "^", "{", "a", "_", "c", "^", "b", "}"])
        // A lone superscript or subscript is untouched.
        XCTAssertEqual(LaTeX.normalizedTokens("x^a+y_b"), ["x", "^", "a", "+", "y", "_", "b"])
    }

    func testTextBoxesHoldingMathAreUnwrapped() {
        XCTAssertEqual(LaTeX.normalizedTokens("h + \\mbox{\\boldmath $B$}^8"), ["h", "+", "B", "^", "8"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\text{$x+1$}"), ["x", "+", "1"])
        // Text stays text.
        XCTAssertEqual(LaTeX.normalizedTokens("\\text{if}"), ["\\text", "{", "i", "f", "}"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\mbox{a $b$}"), ["\\mbox", "{", "a", "b", "}"])
    }

    func testEquivalentFractionsAndRelations() {
        XCTAssertEqual(LaTeX.normalizedTokens("\\dfrac{1}{2} \\lt \\tfrac12 \\gt 0"),
                       ["\\frac", "1", "2", "<", "\\frac", "1", "2", ">", "0"])
    }

    // MARK: Whole predictions

    /// A latex-ocr-junia prediction on a clean rendering of a synthetic label: only formatting differs.
    func testModelOutputMatchesSpacedLabel() {
        var scorer = LaTeXScorer()
        let label = "\\frac { \\rho _ { 0 } } { \\left ( k ^ { 0 } \\right ) } - p \\cdot \\sum _ { k = 1 } ^ { 1 0 } \\epsilon ^ { h } = l"
        let prediction = "\\begin{equation*}\\frac{\\rho_0}{(k^0)}-p\\cdot\\sum_{k=1}^{10}\\epsilon^h=l\\end{equation*}"
        XCTAssertEqual(scorer.score(reference: label, prediction: prediction),
                       LaTeXSampleScore(tokenEdits: 0, referenceTokens: 33, predictionTokens: 33))
        // A real recognition error still counts: \mathfrak{c} for \epsilon is 2 edits (1 substitution, 1 insertion).
        let wrong = prediction.replacingOccurrences(of: "\\epsilon", with: "\\mathfrak{c}")
        XCTAssertEqual(scorer.score(reference: label, prediction: wrong).tokenEdits, 2)
    }

    func testUnbalancedInputIsKept() {
        XCTAssertEqual(LaTeX.normalizedTokens("\\mathrm{ab"), ["a", "b"])
        XCTAssertEqual(LaTeX.normalizedTokens("a}}"), ["a", "}", "}"])
        XCTAssertEqual(LaTeX.normalizedTokens("\\mbox{$x$"), ["\\mbox", "{", "x"])
    }
}
