// LaTeX formatting that does not change the formula: the first and last steps of
// `LaTeX.normalizedTokens`. Models trained on arXiv sources (e.g. latex-ocr-junia) wrap
// formulas in `\begin{equation*}`, restyle symbols with `\mathrm`/`\boldsymbol`, write
// `x^a_b` for `x_b^a`; a label written as plain space-separated tokens is the same formula.

// MARK: - Vocabulary

extension LaTeX {
    /// Math-mode delimiters dropped as formatting (`$$` is two `$` tokens).
    public static let mathDelimiters: Set<String> = ["$", "\\[", "\\]", "\\(", "\\)"]

    /// Display-math environments whose `\begin{…}` / `\end{…}` are dropped as formatting.
    public static let mathEnvironments: Set<String> = {
        var set: Set<String> = []
        for name in ["equation", "align", "gather", "multline", "displaymath", "math", "eqnarray", "flalign"] {
            set.insert(name)
            set.insert(name + "*")
        }
        return set
    }()

    /// Declarations dropped as formatting: math styles, limits placement, text font and size switches.
    public static let styleDeclarations: Set<String> = [
        "\\displaystyle", "\\textstyle", "\\scriptstyle", "\\scriptscriptstyle", "\\limits", "\\nolimits",
        "\\rm", "\\it", "\\bf", "\\sf", "\\tt", "\\boldmath", "\\unboldmath", "\\normalfont",
        "\\tiny", "\\scriptsize", "\\footnotesize", "\\small", "\\normalsize",
        "\\large", "\\Large", "\\LARGE", "\\huge", "\\Huge",
    ]

    /// One-argument commands that only restyle their argument (weight, shape, family, spacing
    /// class): dropped, the argument kept.
    public static let styleCommands: Set<String> = [
        "\\mathrm", "\\mathit", "\\mathbf", "\\mathsf", "\\mathtt", "\\mathnormal",
        "\\boldsymbol", "\\bm", "\\pmb", "\\operatorname",
        "\\mathop", "\\mathbin", "\\mathrel", "\\mathord",
    ]

    /// One-argument commands whose argument is invisible or only space: dropped with it
    /// (a starred form's `*` too).
    public static let invisibleCommands: Set<String> = [
        "\\hspace", "\\vspace", "\\phantom", "\\hphantom", "\\vphantom",
    ]

    /// Names that `\mathrm{name}` / `\operatorname{name}` spell as the command `\name`.
    public static let operatorNames: Set<String> = [
        "sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh", "coth",
        "arcsin", "arccos", "arctan", "log", "ln", "lg", "exp", "lim", "liminf", "limsup",
        "sup", "inf", "max", "min", "det", "dim", "ker", "deg", "arg", "gcd", "Pr", "hom",
    ]

    /// Text boxes unwrapped when they hold nothing but math (`\mbox{\boldmath $B$}`).
    public static let textBoxes: Set<String> = ["\\mbox", "\\hbox", "\\text"]
}

// MARK: - Removal

extension LaTeX {
    /// Step 0 of ``normalizedTokens(_:)``: drops math wrappers, style declarations, invisible
    /// material and restyling commands (see ``LaTeX``). `\begin{name}` / `\end{name}` become
    /// one token each (`"\\begin{array}"`), whatever the environment.
    public static func removingFormatting(_ input: [String]) -> [String] {
        let tokens = unwrappingMathBoxes(groupingEnvironments(input))
        var output: [String] = []
        output.reserveCapacity(tokens.count)
        // Closing braces of unwrapped groups still to skip, by group depth.
        var depth = 0
        var skipClosingAt: Set<Int> = []
        var i = 0
        while i < tokens.count {
            let token = tokens[i]
            i += 1
            switch token {
            case "{":
                depth += 1
                output.append(token)
            case "}":
                if skipClosingAt.remove(depth) == nil { output.append(token) }
                depth -= 1
            case _ where mathDelimiters.contains(token) || styleDeclarations.contains(token)
                || isMathEnvironmentBoundary(token):
                continue
            case _ where invisibleCommands.contains(token):
                if i < tokens.count, tokens[i] == "*" { i += 1 }
                if i < tokens.count, tokens[i] == "{", let close = matchingBrace(tokens, from: i) { i = close + 1 }
            case _ where styleCommands.contains(token):
                guard i < tokens.count, tokens[i] == "{" else { continue }  // `\mathrm d`: the next token stays
                if let close = matchingBrace(tokens, from: i), token == "\\mathrm" || token == "\\operatorname",
                   let name = operatorName(tokens[(i + 1)..<close]) {
                    output.append("\\" + name)
                    i = close + 1
                } else if output.last != "^" && output.last != "_" {
                    // `\mathbf{ab}` → `a b`; as a script (`x^\mathrm{ab}`) the group stays a group.
                    i += 1
                    depth += 1
                    skipClosingAt.insert(depth)
                }
            default:
                output.append(token)
            }
        }
        return output
    }

    /// `\begin` `{` `n` `a` `m` `e` `}` → `\begin{name}` (the same for `\end`).
    static func groupingEnvironments(_ tokens: [String]) -> [String] {
        var output: [String] = []
        var i = 0
        while i < tokens.count {
            if tokens[i] == "\\begin" || tokens[i] == "\\end", i + 1 < tokens.count, tokens[i + 1] == "{",
               let close = tokens[(i + 2)...].firstIndex(of: "}"),
               tokens[(i + 2)..<close].allSatisfy({ !$0.hasPrefix("\\") && $0 != "{" }) {
                output.append(tokens[i] + "{" + tokens[(i + 2)..<close].joined() + "}")
                i = close + 1
            } else {
                output.append(tokens[i])
                i += 1
            }
        }
        return output
    }

    /// `\mbox{…$…$…}` → its content when the content, without style declarations, is one
    /// `$…$` math group; other text boxes stay.
    static func unwrappingMathBoxes(_ tokens: [String]) -> [String] {
        var output: [String] = []
        var i = 0
        while i < tokens.count {
            if textBoxes.contains(tokens[i]), i + 1 < tokens.count, tokens[i + 1] == "{",
               let close = matchingBrace(tokens, from: i + 1) {
                let content = Array(tokens[(i + 2)..<close])
                let core = content.filter { !styleDeclarations.contains($0) }
                if core.count >= 2, core.first == "$", core.last == "$",
                   core.dropFirst().dropLast().allSatisfy({ $0 != "$" }) {
                    output.append(contentsOf: unwrappingMathBoxes(content))
                    i = close + 1
                    continue
                }
            }
            output.append(tokens[i])
            i += 1
        }
        return output
    }

    private static func isMathEnvironmentBoundary(_ token: String) -> Bool {
        for prefix in ["\\begin{", "\\end{"] where token.hasPrefix(prefix) && token.hasSuffix("}") {
            return mathEnvironments.contains(String(token.dropFirst(prefix.count).dropLast()))
        }
        return false
    }

    /// The name spelled by single-letter tokens, when it is one of ``operatorNames``.
    private static func operatorName(_ tokens: ArraySlice<String>) -> String? {
        guard tokens.allSatisfy({ $0.count == 1 && $0 != "{" && $0 != "}" }) else { return nil }
        let name = tokens.joined()
        return operatorNames.contains(name) ? name : nil
    }

    /// Index of the `}` closing the `{` at `open`, or nil when it is unbalanced.
    static func matchingBrace(_ tokens: [String], from open: Int) -> Int? {
        var depth = 0
        for j in open..<tokens.count {
            if tokens[j] == "{" { depth += 1 }
            if tokens[j] == "}" {
                depth -= 1
                if depth == 0 { return j }
            }
        }
        return nil
    }
}

// MARK: - Groups and scripts

extension LaTeX {
    /// Removes `{` `}` pairs, repeatedly, unless they follow `^`, `_` or a control word (an
    /// empty argument): `{}_{x}` → `_{x}`, `\frac{}{x}` stays.
    public static func removingEmptyGroups(_ input: [String]) -> [String] {
        rewritingUntilStable(input) { tokens, i, output in
            i + 1 < tokens.count && tokens[i] == "{" && tokens[i + 1] == "}" && !isArgumentPosition(after: output.last)
                ? (2, []) : nil
        }
    }

    /// `^ A _ B` → `_ B ^ A`, where A and B are one token or one braced group.
    public static func canonicalScriptOrder(_ input: [String]) -> [String] {
        var tokens = input
        var i = 0
        while i < tokens.count {
            if tokens[i] == "^", let superEnd = scriptArgumentEnd(tokens, from: i + 1),
               superEnd + 1 < tokens.count, tokens[superEnd + 1] == "_",
               let subEnd = scriptArgumentEnd(tokens, from: superEnd + 2) {
                let upper = tokens[i...superEnd], lower = tokens[(superEnd + 1)...subEnd]
                tokens.replaceSubrange(i...subEnd, with: Array(lower) + Array(upper))
            }
            i += 1
        }
        return tokens
    }

    /// Last index of the script argument starting at `start`: the token, or its group's `}`.
    private static func scriptArgumentEnd(_ tokens: [String], from start: Int) -> Int? {
        guard start < tokens.count, tokens[start] != "}", tokens[start] != "^", tokens[start] != "_" else { return nil }
        return tokens[start] == "{" ? matchingBrace(tokens, from: start) : start
    }

    private static func isArgumentPosition(after token: String?) -> Bool {
        guard let token else { return false }
        if token == "^" || token == "_" { return true }
        return token.count > 1 && token.hasPrefix("\\") && token.dropFirst().allSatisfy { $0.isASCII && $0.isLetter }
    }
}
