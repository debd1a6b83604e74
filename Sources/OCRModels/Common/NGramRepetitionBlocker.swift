// A windowed no-repeat n-gram rule over the generated tokens (not the prompt): a token that would
// complete an n-gram already present among the last `window` generated tokens is banned, except
// whitelisted ones (table cells legitimately repeat). DeepSeek-OCR's vLLM recipe uses n = 30 within
// 90 with <td> / </td> whitelisted; unlike transformers' `no_repeat_ngram_size` it looks only at a
// recent window, so long documents can repeat phrases far apart.
//
// Reference: github deepseek-ai/DeepSeek-OCR, DeepSeek-OCR-vllm/process/ngram_norepeat.py
// (NoRepeatNGramLogitsProcessor); vLLM's NGramPerReqLogitsProcessor (ngram_size, window_size,
// whitelist_token_ids).

import Foundation

public struct NGramRepetitionBlocker: Sendable, Equatable {
    public var ngramSize: Int
    public var window: Int
    public var whitelist: Set<Int>

    public init(ngramSize: Int = 30, window: Int = 90, whitelist: Set<Int> = []) {
        self.ngramSize = ngramSize
        self.window = window
        self.whitelist = whitelist
    }

    /// Tokens banned as the next one after `generated`.
    public func banned(after generated: [Int]) -> Set<Int> {
        let n = ngramSize
        guard n > 0, generated.count >= n else { return [] }
        let prefix = generated.suffix(n - 1)
        let start = Swift.max(0, generated.count - window)
        let end = generated.count - n + 1
        var out = Set<Int>()
        var i = start
        while i < end {
            if generated[i ..< i + n - 1].elementsEqual(prefix) { out.insert(generated[i + n - 1]) }
            i += 1
        }
        return out.subtracting(whitelist)
    }
}
