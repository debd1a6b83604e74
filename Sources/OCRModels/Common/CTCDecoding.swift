// CTC decoding: greedy (best path) and prefix beam search, with an optional whitelist of
// characters the output may contain.
//
// Reference: PaddleOCR ppocr/postprocess/rec_postprocess.py (CTCLabelDecode: argmax, merge
// repeats, drop the blank, confidence = mean of the kept steps' max probabilities); Hannun et
// al., "First-Pass Large Vocabulary Continuous Speech Recognition using Bi-Directional Recurrent
// DNNs" (2014) for the prefix beam search.

import Foundation
import MLXEngine

// MARK: - Options

/// How per-step class scores become text.
public struct CTCDecoder: Sendable, Equatable {
    public enum Method: Sendable, Equatable {
        case greedy
        /// Prefix beam search keeping `width` prefixes; at each step only the `topK` most
        /// probable classes (plus the blank) are expanded.
        case beamSearch(width: Int, topK: Int)
    }

    public var method: Method
    /// Characters the output may contain (nil: all). The blank is always allowed.
    public var whitelist: Set<String>?

    public init(method: Method = .greedy, whitelist: Set<String>? = nil) {
        self.method = method
        self.whitelist = whitelist
    }

    public static let greedy = CTCDecoder()

    public static func beamSearch(width: Int = 10, topK: Int = 20, whitelist: Set<String>? = nil) -> CTCDecoder {
        CTCDecoder(method: .beamSearch(width: width, topK: topK), whitelist: whitelist)
    }

    /// A mask over classes: true where allowed (nil when everything is).
    public func allowedClasses(_ dictionary: CharacterDictionary) -> [Bool]? {
        guard let whitelist else { return nil }
        var mask = [Bool](repeating: false, count: dictionary.classCount)
        mask[dictionary.blankIndex] = true
        for label in whitelist { if let i = dictionary.classIndex(of: label) { mask[i] = true } }
        return mask
    }
}

/// One decoded line.
public struct CTCResult: Equatable, Sendable {
    public var text: String
    /// Class indices of the emitted characters.
    public var classes: [Int]
    /// Greedy: mean probability of the emitted steps (PaddleOCR's score, 0 when nothing was
    /// emitted). Beam search: the sequence probability exp(log p).
    public var confidence: Float

    public init(text: String, classes: [Int], confidence: Float) {
        self.text = text
        self.classes = classes
        self.confidence = confidence
    }
}

// MARK: - Decoding

public enum CTCDecoding {
    /// Greedy decoding of per-step best classes and their probabilities (PaddleOCR's rule).
    public static func greedy(bestClasses: [Int], bestProbabilities: [Float], blank: Int = 0) -> (classes: [Int], confidence: Float) {
        var classes: [Int] = []
        var sum: Float = 0
        for t in bestClasses.indices {
            let c = bestClasses[t]
            if c == blank || (t > 0 && bestClasses[t - 1] == c) { continue }
            classes.append(c)
            sum += bestProbabilities[t]
        }
        return (classes, classes.isEmpty ? 0 : sum / Float(classes.count))
    }

    /// Best classes and their probabilities per step of `probabilities` [T, C] (row-major),
    /// restricted to `allowed` classes when given.
    public static func bestPath(probabilities: UnsafeBufferPointer<Float>, steps: Int, classes: Int, allowed: [Bool]?)
        -> (classes: [Int], probabilities: [Float])
    {
        var best = [Int](repeating: 0, count: steps)
        var bestP = [Float](repeating: 0, count: steps)
        for t in 0 ..< steps {
            let row = t * classes
            var bi = -1
            var bp = -Float.infinity
            for c in 0 ..< classes where allowed?[c] ?? true {
                if probabilities[row + c] > bp { bp = probabilities[row + c]; bi = c }
            }
            best[t] = bi
            bestP[t] = bp
        }
        return (best, bestP)
    }

    /// CTC prefix beam search over `probabilities` [T, C] (row-major, each row summing to 1).
    /// Returns the best prefixes with their log probabilities, best first.
    public static func beamSearch(
        probabilities: UnsafeBufferPointer<Float>, steps: Int, classes: Int, blank: Int = 0, beamWidth: Int = 10,
        topK: Int = 20, allowed: [Bool]? = nil
    ) -> [(classes: [Int], logProbability: Double)] {
        struct Beam { var blank: Double; var nonBlank: Double; var total: Double { logAdd(blank, nonBlank) } }
        var beams: [[Int]: Beam] = [[]: Beam(blank: 0, nonBlank: -.infinity)]
        var candidates: [Int] = []
        for t in 0 ..< steps {
            let row = t * classes
            // The step's most probable allowed non-blank classes.
            candidates.removeAll(keepingCapacity: true)
            var heap: [(p: Float, c: Int)] = []
            for c in 0 ..< classes where c != blank && (allowed?[c] ?? true) {
                let p = probabilities[row + c]
                guard p > 0 else { continue }
                if heap.count < topK {
                    heap.append((p, c))
                    if heap.count == topK { heap.sort { $0.p > $1.p } }
                } else if p > heap[topK - 1].p {
                    var i = topK - 1
                    heap[i] = (p, c)
                    while i > 0 && heap[i - 1].p < heap[i].p { heap.swapAt(i - 1, i); i -= 1 }
                }
            }
            candidates = heap.map(\.c)
            let logBlank = Double(Foundation.log(Swift.max(probabilities[row + blank], 0)))
            var next: [[Int]: Beam] = [:]
            func add(_ prefix: [Int], blank b: Double = -.infinity, nonBlank nb: Double = -.infinity) {
                var beam = next[prefix] ?? Beam(blank: -.infinity, nonBlank: -.infinity)
                beam.blank = logAdd(beam.blank, b)
                beam.nonBlank = logAdd(beam.nonBlank, nb)
                next[prefix] = beam
            }
            for (prefix, beam) in beams {
                add(prefix, blank: beam.total + logBlank)
                for c in candidates {
                    let lp = Double(Foundation.log(probabilities[row + c]))
                    if c == prefix.last {
                        add(prefix + [c], nonBlank: beam.blank + lp)
                        add(prefix, nonBlank: beam.nonBlank + lp)
                    } else {
                        add(prefix + [c], nonBlank: beam.total + lp)
                    }
                }
            }
            beams = Dictionary(
                uniqueKeysWithValues: next.sorted { $0.value.total > $1.value.total || ($0.value.total == $1.value.total && $0.key.count < $1.key.count) }
                    .prefix(beamWidth).map { ($0.key, $0.value) })
        }
        return beams.map { (classes: $0.key, logProbability: $0.value.total) }
            .sorted { $0.logProbability > $1.logProbability || ($0.logProbability == $1.logProbability && $0.classes.count < $1.classes.count) }
    }

    /// Greedy decoding of a batch from its best class and that class's probability per step, each
    /// [N, T] (e.g. from the engine's `bestClass` over the logits; evaluated here).
    public static func decode(bestClasses: MLXArray, bestProbabilities: MLXArray, dictionary: CharacterDictionary) -> [CTCResult] {
        let (n, steps) = (bestClasses.dim(0), bestClasses.dim(1))
        let best = bestClasses.asType(.int32).asArray(Int32.self).map(Int.init)
        let bestP = bestProbabilities.asType(.float32).asArray(Float.self)
        return (0 ..< n).map { i in
            let range = i * steps ..< (i + 1) * steps
            let (cls, conf) = greedy(bestClasses: Array(best[range]), bestProbabilities: Array(bestP[range]), blank: dictionary.blankIndex)
            return CTCResult(text: dictionary.text(of: cls), classes: cls, confidence: conf)
        }
    }

    /// Decodes a batch of probabilities [N, T, C] (evaluated here).
    public static func decode(
        probabilities: MLXArray, dictionary: CharacterDictionary, decoder: CTCDecoder
    ) -> [CTCResult] {
        let (n, steps, classes) = (probabilities.dim(0), probabilities.dim(1), probabilities.dim(2))
        let allowed = decoder.allowedClasses(dictionary)
        if case .greedy = decoder.method, allowed == nil {
            // Argmax on the engine: only [N, T] values cross over.
            return decode(
                bestClasses: probabilities.argMax(axis: -1), bestProbabilities: probabilities.max(axis: -1),
                dictionary: dictionary)
        }
        let values = probabilities.asType(.float32).asArray(Float.self)
        return values.withUnsafeBufferPointer { all in
            (0 ..< n).map { i in
                let line = UnsafeBufferPointer(rebasing: all[i * steps * classes ..< (i + 1) * steps * classes])
                switch decoder.method {
                case .greedy:
                    let path = bestPath(probabilities: line, steps: steps, classes: classes, allowed: allowed)
                    let (cls, conf) = greedy(bestClasses: path.classes, bestProbabilities: path.probabilities, blank: dictionary.blankIndex)
                    return CTCResult(text: dictionary.text(of: cls), classes: cls, confidence: conf)
                case .beamSearch(let width, let topK):
                    let best = beamSearch(
                        probabilities: line, steps: steps, classes: classes, blank: dictionary.blankIndex,
                        beamWidth: width, topK: topK, allowed: allowed
                    ).first
                    let cls = best?.classes ?? []
                    return CTCResult(
                        text: dictionary.text(of: cls), classes: cls, confidence: Float(Foundation.exp(best?.logProbability ?? -.infinity)))
                }
            }
        }
    }
}

/// log(exp(a) + exp(b)) without overflow.
@inline(__always)
func logAdd(_ a: Double, _ b: Double) -> Double {
    if a == -.infinity { return b }
    if b == -.infinity { return a }
    let m = Swift.max(a, b)
    return m + Foundation.log(Foundation.exp(a - m) + Foundation.exp(b - m))
}
