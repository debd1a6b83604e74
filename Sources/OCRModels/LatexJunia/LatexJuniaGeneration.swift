// Decoding of latex-ocr-junia, as the package's `LatexOCRModel.generate`: greedy (batched) or
// beam search (per image, length-normalized scores), pad and BOS never generated, at most
// `max_length` tokens with the BOS. Both run on a key/value cache (the package recomputes the
// whole prefix at each step; the logits are the same). Kept behind these two functions so a
// shared generation module can replace them.
//
// Reference: latex_ocr_junia/model.py (_greedy_generate, _beam_search_one, generate).

import Foundation
import MLXEngine
import MLXNN

public enum LatexJuniaGeneration {
    /// Logits with the banned ids set to −1e9 (as the package does, rather than −∞).
    static func banning(_ logits: MLXArray, _ banned: MLXArray) -> MLXArray {
        which(banned, full([1], value: -1e9), logits)
    }

    static func bannedMask(vocabulary: Int, ids: [Int]) -> MLXArray {
        var mask = [Bool](repeating: false, count: vocabulary)
        for id in ids where id >= 0 && id < vocabulary { mask[id] = true }
        return MLXArray(mask, [vocabulary])
    }

    /// Greedy decoding of a batch of encoder states [B, N, D]. Returns, per image, the generated
    /// ids after the BOS, up to and including the EOS when one was generated.
    public static func greedy(
        model: LatexJuniaModel, encoderStates: MLXArray, maxLength: Int, banned: [Int]
    ) -> [[Int]] {
        let c = model.config
        let b = encoderStates.dim(0)
        var memory = model.crossMemory(encoderStates)
        var caches = model.decoder_blocks.map { _ in KVCache() }
        let mask = bannedMask(vocabulary: c.vocabSize, ids: banned)
        var out = [[Int]](repeating: [], count: b)
        // Rows still decoding (indices into `out`), which are the batch rows of the caches. A
        // finished row leaves the batch (the package keeps feeding it EOS; its other rows'
        // logits do not depend on it).
        var live = Array(0 ..< b)
        var tokens = [Int32](repeating: Int32(c.bosTokenId), count: b)
        for _ in 0 ..< Swift.max(0, maxLength - 1) {
            let logits = model.decodeSteps(MLXArray(tokens, [live.count, 1]), memory: memory, mask: nil, caches: caches)
            let next = banning(logits.squeezed(axis: 1), mask).argMax(axis: -1).asType(.int32).asArray(Int32.self)
            var keep: [Int32] = []
            for (row, i) in live.enumerated() {
                out[i].append(Int(next[row]))
                if Int(next[row]) != c.eosTokenId { keep.append(Int32(row)) }
            }
            if keep.isEmpty { break }
            if keep.count < live.count {
                let rows = MLXArray(keep, [keep.count])
                live = keep.map { live[Int($0)] }
                memory = memory.map { (keys: $0.keys.take(rows, axis: 0), values: $0.values.take(rows, axis: 0)) }
                caches = caches.map { cache in
                    let kept = KVCache()
                    if let k = cache.keys, let v = cache.values { _ = kept.update(keys: k.take(rows, axis: 0), values: v.take(rows, axis: 0)) }
                    return kept
                }
            }
            tokens = keep.map { next[Int($0)] }
        }
        return out
    }

    /// Beam search for one image's encoder states [1, N, D] (the package's `_beam_search_one`):
    /// every live beam proposes its `beams` best next tokens, finished beams carry over, and the
    /// candidates are ranked by score / length^lengthPenalty (length counting the BOS).
    public static func beamSearch(
        model: LatexJuniaModel, encoderStates: MLXArray, maxLength: Int, beams: Int, lengthPenalty: Double,
        banned: [Int]
    ) -> [Int] {
        let c = model.config
        let width = Swift.max(1, beams)
        let memory = model.crossMemory(encoderStates)
        let mask = bannedMask(vocabulary: c.vocabSize, ids: banned)
        func normalized(_ score: Double, _ length: Int) -> Double {
            lengthPenalty <= 0 ? score : score / pow(Double(Swift.max(1, length)), lengthPenalty)
        }
        struct Beam { var ids: [Int]; var score: Double; var done: Bool; var row: Int }
        var live = [Beam(ids: [c.bosTokenId], score: 0, done: false, row: 0)]
        var caches = model.decoder_blocks.map { _ in KVCache() }
        for _ in 0 ..< Swift.max(0, maxLength - 1) {
            // The live beams, in order, are the cache rows; all have the same length.
            let active = live.filter { !$0.done }
            let n = active.count
            let lastTokens = MLXArray(active.map { Int32($0.ids.last!) }, [n, 1])
            let rows = memory.map { ($0.keys.broadcast(to: [n] + Array($0.keys.shape.dropFirst())),
                                     $0.values.broadcast(to: [n] + Array($0.values.shape.dropFirst()))) }
            let logits = model.decodeSteps(lastTokens, memory: rows.map { (keys: $0.0, values: $0.1) }, mask: nil, caches: caches)
            let logProbs = logSoftmax(banning(logits.squeezed(axis: 1), mask), axis: -1)
            let k = Swift.min(width, c.vocabSize)
            let order = (-logProbs).argSort(axis: -1).sliced(axis: 1, from: 0, to: k).asType(.int32)
            let topIDs = order.asArray(Int32.self)
            let topScores = logProbs.takeAlong(order, axis: -1).asArray(Float.self)

            var candidates: [Beam] = []
            var activeIndex = 0
            for beam in live {
                if beam.done {
                    candidates.append(beam)
                    continue
                }
                for j in 0 ..< k {
                    let id = Int(topIDs[activeIndex * k + j])
                    candidates.append(Beam(
                        ids: beam.ids + [id], score: beam.score + Double(topScores[activeIndex * k + j]),
                        done: id == c.eosTokenId, row: activeIndex))
                }
                activeIndex += 1
            }
            // Python's sorted(..., reverse=True) is stable: ties keep the candidates' order.
            let ranked = candidates.enumerated().sorted { a, b in
                let (sa, sb) = (normalized(a.element.score, a.element.ids.count), normalized(b.element.score, b.element.ids.count))
                return sa != sb ? sa > sb : a.offset < b.offset
            }.map(\.element)
            live = Array(ranked.prefix(width))
            if live.allSatisfy(\.done) { break }
            // Reorder the caches to the surviving live beams' parents.
            let parents = MLXArray(live.filter { !$0.done }.map { Int32($0.row) }, [live.filter { !$0.done }.count])
            caches = caches.map { cache in
                let reordered = KVCache()
                if let keys = cache.keys, let values = cache.values {
                    _ = reordered.update(keys: keys.take(parents, axis: 0), values: values.take(parents, axis: 0))
                }
                return reordered
            }
        }
        var best = live[0]
        for beam in live.dropFirst() where normalized(beam.score, beam.ids.count) > normalized(best.score, best.ids.count) {
            best = beam
        }
        return Array(best.ids.dropFirst())
    }
}
