// PaddleOCR's class layout for an exported recognizer: blank, the dictionary characters, then
// the space (`use_space_char`), which is what RapidOCR and PaddleX rebuild from the `character`
// list (they append " " and insert the blank first). ocrtune's dictionary keeps appended classes
// after the space (vocabulary extension), so the export moves the space class last and permutes
// the head's rows to match.
//
// Reference: PaddleOCR ppocr/postprocess/rec_postprocess.py (BaseRecLabelDecode, CTCLabelDecode),
// RapidOCR ch_ppocr_rec/utils.py (CTCLabelDecode.get_character: splitlines, " " appended).

import Foundation
import MLXEngine
import OCRModels

struct PaddleClassOrder: Equatable {
    /// The dictionary lines (the space excluded): RapidOCR's `character` entry and PaddleOCR's dict file.
    let characters: [String]
    /// Exported class i is ocrtune's class order[i].
    let order: [Int]

    /// Characters that Python's `str.splitlines` breaks lines at: a label holding one cannot travel
    /// in the `character` entry.
    static let lineBreaks: Set<Unicode.Scalar> = ["\n", "\r", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1D}", "\u{1E}", "\u{85}", "\u{2028}", "\u{2029}"]

    init(dictionary: CharacterDictionary) throws {
        var characters: [String] = []
        var order = [dictionary.blankIndex]
        var space: Int?
        for (i, label) in dictionary.labels.enumerated() {
            if label == " " && space == nil {
                space = i + 1
                continue
            }
            if label.isEmpty || label.unicodeScalars.contains(where: Self.lineBreaks.contains) {
                throw ExportError("class \(i + 1) of the dictionary (\(label.debugDescription)) cannot be written as a PaddleOCR dictionary line")
            }
            characters.append(label)
            order.append(i + 1)
        }
        if let space { order.append(space) }
        self.characters = characters
        self.order = order
    }

    /// The dictionary a PaddleOCR client rebuilds: the characters, then the space.
    var dictionary: CharacterDictionary { CharacterDictionary(paddleCharacters: characters, useSpaceChar: true) }

    /// Rows of a head tensor ([classes, …] or [classes]) in the exported order.
    func rows(of tensor: MLXArray) -> MLXArray {
        tensor.take(MLXArray(order.map { Int32($0) }), axis: 0)
    }
}
