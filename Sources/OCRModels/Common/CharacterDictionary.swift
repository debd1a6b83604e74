// The label of each output class of a CTC recognizer, and its files.
//
// Reference: PaddleOCR ppocr/postprocess/rec_postprocess.py (BaseRecLabelDecode: dictionary
// lines stripped of "\n" / "\r\n", a space class appended when `use_space_char`, the blank
// class inserted first by CTCLabelDecode).
//
// Model-folder format (`dictionary.txt`): one label per line, "\n"-separated, for classes
// 1, 2, … in order (the blank, class 0, is not written); a space class is a line holding " ".
// Appending a line appends a class, which is how vocabulary extension keeps old indices.

import Foundation

public struct CharacterDictionary: Equatable, Sendable {
    /// Labels of the non-blank classes, in class order.
    public private(set) var labels: [String]
    /// The blank's class index (always 0, as PaddleOCR).
    public var blankIndex: Int { 0 }
    private var indexByLabel: [String: Int]

    public init(labels: [String]) {
        self.labels = labels
        indexByLabel = [:]
        for (i, label) in labels.enumerated() where indexByLabel[label] == nil { indexByLabel[label] = i + 1 }
    }

    /// PaddleOCR's class list from its dictionary characters: blank, the characters, then a
    /// space when `useSpaceChar`.
    public init(paddleCharacters: [String], useSpaceChar: Bool = true) {
        self.init(labels: paddleCharacters + (useSpaceChar ? [" "] : []))
    }

    /// Number of classes, blank included.
    public var classCount: Int { labels.count + 1 }

    /// The label of class `index` ("" for the blank, nil when out of range).
    public func label(ofClass index: Int) -> String? {
        if index == 0 { return "" }
        return labels.indices.contains(index - 1) ? labels[index - 1] : nil
    }

    /// The class of `label`, if any.
    public func classIndex(of label: String) -> Int? { indexByLabel[label] }

    /// The text of a class sequence (blanks contribute nothing).
    public func text(of classes: [Int]) -> String {
        classes.compactMap { label(ofClass: $0) }.joined()
    }

    /// Appends labels as new classes (after the existing ones); returns those actually added.
    @discardableResult
    public mutating func append(_ newLabels: [String]) -> [String] {
        var added: [String] = []
        for label in newLabels where indexByLabel[label] == nil {
            labels.append(label)
            indexByLabel[label] = labels.count
            added.append(label)
        }
        return added
    }

    /// Characters of `text` the dictionary cannot emit (by Character; multi-scalar labels are matched whole).
    public func unknownCharacters(in text: String) -> [String] {
        text.map(String.init).filter { indexByLabel[$0] == nil }
    }

    // MARK: Files

    /// Reads the model-folder format (see the file header).
    public init(contentsOf url: URL) throws {
        self.init(labels: Self.lines(try Self.readUTF8(url)))
    }

    /// Writes the model-folder format atomically.
    public func write(to url: URL) throws {
        try Data((labels.joined(separator: "\n") + "\n").utf8).write(to: url, options: .atomic)
    }

    /// Reads a PaddleOCR dictionary file (one character per line, as `read_character_file`).
    public static func readPaddleCharacters(_ url: URL) throws -> [String] {
        lines(try readUTF8(url))
    }

    /// Lines split at "\n" (by scalar, so "\r\n" splits too), a trailing "\r" removed from each,
    /// no empty last line.
    public static func lines(_ text: String) -> [String] {
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { scalars -> String in
            var s = String.UnicodeScalarView(scalars)
            if s.last == "\r" { s.removeLast() }
            return String(s)
        }
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    private static func readUTF8(_ url: URL) throws -> String {
        let data = try Data(contentsOf: url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw CharacterDictionaryError("\(url.path) is not UTF-8 text")
        }
        return text
    }

    public static func == (a: Self, b: Self) -> Bool { a.labels == b.labels }
}

public struct CharacterDictionaryError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
