// MARK: - Tokenizer and normalizer

/// LaTeX tokenization and normalization for formula recognition metrics.
///
/// Tokens: a control word (`\` followed by ASCII letters, e.g. `\alpha`), a
/// control symbol (`\` followed by one other character, e.g. `\{`, `\,`,
/// `\\`), or a single grapheme cluster (`x`, `2`, `{`, `^`). Whitespace
/// separates tokens and is dropped.
///
/// ``normalizedTokens(_:)`` then applies, in this order:
/// 0. Formatting removal (``removingFormatting(_:)``, LaTeXFormatting.swift): math-mode
///    wrappers (`$`, `\[`, `\begin{equation*}`…), text boxes holding only math
///    (`\mbox{$x$}` → `x`), style, size and limits declarations (`\displaystyle`,
///    `\limits`, `\bf`, `\tiny`…), invisible material (`\hspace{…}`, `\phantom{…}`) and
///    commands that only restyle their argument (`\mathrm{G}` → `G`, `\mathop{…}`;
///    `\mathrm{cos}` → `\cos`). Alphabets that make another symbol (`\mathcal`,
///    `\mathfrak`, `\mathbb`) stay.
/// 1. Spacing removal: `\,` `\:` `\;` `\!` `\ ` `~` `\quad` `\qquad` are dropped.
/// 2. Delimiter sizing removal: `\left` `\right` `\middle` `\big` `\Big`
///    `\bigg` `\Bigg` and their `l`/`r`/`m` variants are dropped; a `.` null
///    delimiter directly after one of them is dropped too.
/// 3. Equivalent commands are replaced by one spelling (``equivalentCommands``):
///    `\le`→`\leq`, `\ge`→`\geq`, `\ne`→`\neq`, `\to`→`\rightarrow`, …
/// 4. Empty groups that are no argument are removed (`{}_{x}` → `_x`), then redundant
///    braces around a single token, repeatedly: `x^{2}` → `x^2`, `{{a}}` → `a`,
///    `\frac{1}{n}` → `\frac 1 n`.
/// 5. Scripts in one order: `x^a_b` → `x_b^a` (``canonicalScriptOrder(_:)``).
public enum LaTeX {
    /// Command spellings and their canonical form.
    public static let equivalentCommands: [String: String] = [
        "\\le": "\\leq", "\\ge": "\\geq", "\\ne": "\\neq",
        "\\to": "\\rightarrow", "\\gets": "\\leftarrow",
        "\\lbrace": "\\{", "\\rbrace": "\\}", "\\lbrack": "[", "\\rbrack": "]",
        "\\vert": "|", "\\lvert": "|", "\\rvert": "|",
        "\\Vert": "\\|", "\\lVert": "\\|", "\\rVert": "\\|",
        "\\land": "\\wedge", "\\lor": "\\vee", "\\lnot": "\\neg",
        "\\dfrac": "\\frac", "\\tfrac": "\\frac", "\\lt": "<", "\\gt": ">",
    ]

    /// Tokens dropped as spacing.
    public static let spacingTokens: Set<String> = [
        "\\,", "\\:", "\\;", "\\!", "\\ ", "~", "\\quad", "\\qquad",
    ]

    /// Delimiter-sizing commands dropped (their delimiter stays).
    public static let sizingCommands: Set<String> = {
        var set: Set<String> = ["\\left", "\\right", "\\middle"]
        for size in ["big", "Big", "bigg", "Bigg"] {
            for suffix in ["", "l", "r", "m"] { set.insert("\\" + size + suffix) }
        }
        return set
    }()

    /// Raw tokens of a LaTeX string (no normalization besides dropping whitespace).
    public static func tokenize(_ source: String) -> [String] {
        let characters = Array(source)
        var tokens: [String] = []
        var i = 0
        while i < characters.count {
            let character = characters[i]
            if character.unicodeScalars.allSatisfy({ TextPreprocessor.isWhitespace($0.value) }) {
                i += 1
                continue
            }
            guard character == "\\", i + 1 < characters.count else {
                tokens.append(String(character))
                i += 1
                continue
            }
            var j = i + 1
            while j < characters.count, isASCIILetter(characters[j]) { j += 1 }
            if j == i + 1 {
                // Control symbol: exactly one character; `\` + any whitespace is a control space.
                j = i + 2
                let next = characters[i + 1]
                if next.unicodeScalars.allSatisfy({ TextPreprocessor.isWhitespace($0.value) }) {
                    tokens.append("\\ ")
                    i = j
                    continue
                }
            }
            tokens.append(String(characters[i..<j]))
            i = j
        }
        return tokens
    }

    /// Tokens after the normalization steps listed on ``LaTeX``.
    public static func normalizedTokens(_ source: String) -> [String] {
        var tokens: [String] = []
        var dropNullDelimiter = false
        for token in removingFormatting(tokenize(source)) {
            if dropNullDelimiter {
                dropNullDelimiter = false
                if token == "." { continue }
            }
            if spacingTokens.contains(token) { continue }
            if sizingCommands.contains(token) {
                dropNullDelimiter = true
                continue
            }
            tokens.append(equivalentCommands[token] ?? token)
        }
        return canonicalScriptOrder(removingRedundantBraces(removingEmptyGroups(tokens)))
    }

    /// Removes `{` `t` `}` → `t` for any single token `t` other than a brace,
    /// until no such group is left.
    public static func removingRedundantBraces(_ input: [String]) -> [String] {
        rewritingUntilStable(input) { tokens, i, _ in
            i + 2 < tokens.count && tokens[i] == "{" && tokens[i + 2] == "}" && tokens[i + 1] != "{" && tokens[i + 1] != "}"
                ? (3, [tokens[i + 1]]) : nil
        }
    }

    /// Passes over `input` left to right, where `rewrite(tokens, i, output)` may replace the
    /// `consumed` tokens at `i` by `emitted` (nil: keep token `i`; `output` is what the pass has
    /// written so far), repeated until a pass changes nothing.
    static func rewritingUntilStable(
        _ input: [String], _ rewrite: (_ tokens: [String], _ i: Int, _ output: [String]) -> (consumed: Int, emitted: [String])?
    ) -> [String] {
        var tokens = input
        var changed = true
        while changed {
            changed = false
            var output: [String] = []
            output.reserveCapacity(tokens.count)
            var i = 0
            while i < tokens.count {
                if let (consumed, emitted) = rewrite(tokens, i, output) {
                    output.append(contentsOf: emitted)
                    i += consumed
                    changed = true
                } else {
                    output.append(tokens[i])
                    i += 1
                }
            }
            tokens = output
        }
        return tokens
    }

    private static func isASCIILetter(_ character: Character) -> Bool {
        guard character.unicodeScalars.count == 1, let value = character.unicodeScalars.first?.value else { return false }
        return (0x41...0x5A).contains(value) || (0x61...0x7A).contains(value)
    }
}

// MARK: - Scores

/// Token counts of one LaTeX sample.
public struct LaTeXSampleScore: Codable, Sendable, Equatable {
    public var tokenEdits: Int
    public var referenceTokens: Int
    public var predictionTokens: Int

    enum CodingKeys: String, CodingKey {
        case tokenEdits = "token_edits"
        case referenceTokens = "ref_tokens"
        case predictionTokens = "pred_tokens"
    }
}

/// LaTeX-aware metrics: Levenshtein distance over ``LaTeX/normalizedTokens(_:)``
/// (token ids compare code point by code point, after the Unicode
/// normalization form of the options; case and the other options do not apply).
public struct LaTeXReport: Codable, Sendable, Equatable {
    public var count: Int
    public var tokenEdits: Int
    public var referenceTokens: Int
    public var predictionTokens: Int
    /// Σ token edits / max(Σ reference tokens, 1).
    public var tokenErrorRate: Double
    /// Mean of the per-sample token edits / max(reference tokens, 1).
    public var tokenErrorRateMean: Double
    /// 1 − mean(token edits / max(reference tokens, prediction tokens)).
    public var ned: Double
    /// Fraction of samples whose normalized token sequences are identical.
    public var exactMatch: Double

    enum CodingKeys: String, CodingKey {
        case count, ned
        case tokenEdits = "token_edits"
        case referenceTokens = "ref_tokens"
        case predictionTokens = "pred_tokens"
        case tokenErrorRate = "token_error_rate"
        case tokenErrorRateMean = "token_error_rate_mean"
        case exactMatch = "exact_match"
    }

    public init(samples: [LaTeXSampleScore]) {
        count = samples.count
        tokenEdits = samples.reduce(0) { $0 + $1.tokenEdits }
        referenceTokens = samples.reduce(0) { $0 + $1.referenceTokens }
        predictionTokens = samples.reduce(0) { $0 + $1.predictionTokens }
        guard count > 0 else {
            (tokenErrorRate, tokenErrorRateMean, ned, exactMatch) = (0, 0, 0, 0)
            return
        }
        tokenErrorRate = Double(tokenEdits) / Double(max(referenceTokens, 1))
        tokenErrorRateMean = MetricStatistics.mean(samples.map { Double($0.tokenEdits) / Double(max($0.referenceTokens, 1)) })
        ned = 1 - MetricStatistics.mean(samples.map {
            let longest = max($0.referenceTokens, $0.predictionTokens)
            return longest == 0 ? 0 : Double($0.tokenEdits) / Double(longest)
        })
        exactMatch = Double(samples.filter { $0.tokenEdits == 0 }.count) / Double(count)
    }
}

/// Scores LaTeX pairs with a shared token vocabulary.
public struct LaTeXScorer: Sendable {
    public let normalization: UnicodeNormalization
    private var vocabulary = UnitVocabulary()

    public init(normalization: UnicodeNormalization = .nfc) {
        self.normalization = normalization
    }

    public mutating func score(reference: String, prediction: String) -> LaTeXSampleScore {
        let ref = ids(reference)
        let pred = ids(prediction)
        return LaTeXSampleScore(
            tokenEdits: Levenshtein.distance(ref, pred), referenceTokens: ref.count, predictionTokens: pred.count)
    }

    private mutating func ids(_ source: String) -> [Int] {
        LaTeX.normalizedTokens(TextPreprocessor.applyNormalization(source, normalization)).map { vocabulary.id(for: $0) }
    }

    /// Scores every pair and aggregates.
    public static func evaluate(_ pairs: [TextPair], normalization: UnicodeNormalization = .nfc) -> LaTeXReport {
        var scorer = LaTeXScorer(normalization: normalization)
        return LaTeXReport(samples: pairs.map { scorer.score(reference: $0.reference, prediction: $0.prediction) })
    }
}
