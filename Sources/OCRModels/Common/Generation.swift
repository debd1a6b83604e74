// Autoregressive generation shared by generative families (encoder–decoders such as TrOCR,
// decoder-only vision–language models): greedy, sampling (temperature, top-k, top-p, seeded) and
// beam search with transformers' `generate` semantics (min/max new tokens, EOS handling with
// padding of finished rows, length penalty, no-repeat n-grams, early stopping), plus a repetition
// guard, over any decoder that can be stepped with a KV cache. Packages that decode differently
// are served by options: suppressed tokens on the raw logits, and a pooled beam search
// (latex-ocr-junia's).
// Logits processing and top-k run in MLX; only the per-step bookkeeping of a few token ids and
// scores (what transformers keeps in small index tensors) is host-side.

import Foundation
import MLXEngine

// MARK: - Decoder protocol

/// A decoding session: a decoder bound to its conditioning (an encoder output, image
/// features, a prefilled prompt) and owning its caches, one row per sequence.
///
/// An encoder–decoder makes one from its encoder output; a decoder-only model from its
/// prefilled prompt. ``generate(_:prompts:options:)`` feeds the prompt, then one token per
/// step, and reorders rows for beam search.
public protocol IncrementalDecoder: AnyObject {
    /// Number of rows (sequences) the session holds.
    var rows: Int { get }
    /// Appends `tokens` [rows, L] (int32) to every row and returns the logits of the last
    /// position, [rows, vocabulary] (float32).
    func step(_ tokens: MLXArray) -> MLXArray
    /// Keeps the rows `indices` (int32 [R']) of every cache and conditioning tensor, in that
    /// order: beam expansion (each row repeated) and beam reordering.
    func selectRows(_ indices: MLXArray)
}

// MARK: - Options

/// Generation settings, named as transformers' `GenerationConfig`.
public struct GenerationOptions: Sendable, Equatable {
    public enum EarlyStopping: Sendable, Equatable {
        /// Stop a batch row as soon as `numBeams` hypotheses are finished (`True`).
        case stopWhenFull
        /// transformers' default heuristic (`False`): stop when no running beam can beat the
        /// worst finished one at the current length.
        case heuristic
        /// The canonical test (`"never"`): with a positive length penalty, assume running
        /// beams could reach the maximum length.
        case never
    }

    /// How beam search keeps hypotheses.
    public enum BeamStrategy: Sendable, Equatable {
        /// transformers' `_beam_search`: `numBeams` running beams, finished hypotheses kept
        /// apart (see ``GenerationOptions/earlyStopping``).
        case transformers
        /// One pool of `numBeams` slots (latex-ocr-junia's `_beam_search_one`): every running
        /// beam proposes its `numBeams` best tokens, finished beams keep competing for a slot,
        /// all ranked by score / length^`lengthPenalty` (length counting the prompt; no
        /// normalization when `lengthPenalty` ≤ 0); stops when every slot is finished, then
        /// returns the best slot. `earlyStopping` does not apply.
        case pooled
    }

    public var maxNewTokens: Int
    public var minNewTokens: Int
    public var numBeams: Int
    public var lengthPenalty: Double
    public var noRepeatNgramSize: Int
    public var earlyStopping: EarlyStopping
    /// Tokens that end a sequence (any of them).
    public var eosTokenIDs: [Int]
    /// Fed to (and output for) finished rows of a batch.
    public var padTokenID: Int?
    /// Sample instead of taking the argmax (`do_sample`; one beam only).
    public var doSample: Bool
    /// Sampling warpers in transformers' order: temperature, then top-k (0: off), then top-p (1: off).
    public var temperature: Double
    public var topK: Int
    public var topP: Double
    /// Seed of the sampling key stream: the same seed gives the same tokens.
    public var seed: UInt64
    /// Ends a row whose output has fallen into a loop (trimmed to the first occurrence); nil: off.
    public var repetitionGuard: RepetitionGuard?
    /// Tokens never generated: their raw logits are set to −1e9 before anything else (so before
    /// beam search's log-softmax, unlike transformers' `suppress_tokens`), as packages that
    /// ban ids on the logits do.
    public var suppressTokenIDs: [Int]
    public var beamStrategy: BeamStrategy
    /// Bans tokens that would repeat an n-gram within a window of the generated tokens; nil: off.
    public var ngramBlocker: NGramRepetitionBlocker?

    public init(maxNewTokens: Int = 256, minNewTokens: Int = 0, numBeams: Int = 1, lengthPenalty: Double = 1,
                noRepeatNgramSize: Int = 0, earlyStopping: EarlyStopping = .heuristic,
                eosTokenIDs: [Int] = [], padTokenID: Int? = nil, doSample: Bool = false, temperature: Double = 1,
                topK: Int = 0, topP: Double = 1, seed: UInt64 = 0, repetitionGuard: RepetitionGuard? = nil,
                suppressTokenIDs: [Int] = [], beamStrategy: BeamStrategy = .transformers,
                ngramBlocker: NGramRepetitionBlocker? = nil) {
        self.maxNewTokens = maxNewTokens
        self.minNewTokens = minNewTokens
        self.numBeams = numBeams
        self.lengthPenalty = lengthPenalty
        self.noRepeatNgramSize = noRepeatNgramSize
        self.earlyStopping = earlyStopping
        self.eosTokenIDs = eosTokenIDs
        self.padTokenID = padTokenID
        self.doSample = doSample
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.repetitionGuard = repetitionGuard
        self.suppressTokenIDs = suppressTokenIDs
        self.beamStrategy = beamStrategy
        self.ngramBlocker = ngramBlocker
    }
}

/// Stops generation when the tail of the output is one chunk (period ≤ `maxPeriod` tokens)
/// repeated at least `minRepeats` times, the usual failure of OCR models on blank or noisy input.
public struct RepetitionGuard: Sendable, Equatable {
    public var maxPeriod: Int
    public var minRepeats: Int

    public init(maxPeriod: Int = 16, minRepeats: Int = 8) {
        self.maxPeriod = maxPeriod
        self.minRepeats = minRepeats
    }

    /// The period of the repeated tail of `tokens`, or nil when it does not repeat enough.
    public func repeatedPeriod(_ tokens: [Int]) -> Int? {
        for period in 1 ... Swift.max(1, maxPeriod) {
            let span = period * minRepeats
            guard tokens.count >= span else { break }
            let tail = tokens.suffix(span)
            let start = tail.startIndex
            if (0 ..< span).allSatisfy({ tail[start + $0] == tail[start + $0 % period] }) { return period }
        }
        return nil
    }

    /// `tokens` without the repeats beyond the first occurrence of the chunk, when the guard fires.
    public func trimmed(_ tokens: [Int]) -> [Int] {
        guard let p = repeatedPeriod(tokens) else { return tokens }
        return Array(tokens.prefix(tokens.count - p * (minRepeats - 1)))
    }
}

public struct GenerationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Entry point

/// Generates for every row of `decoder`, starting from `prompts` (one per row, equal lengths:
/// for an encoder–decoder the decoder start token). Returns the new tokens of each row, up
/// to and including its EOS (transformers' output without the prompt and batch padding).
public func generate(_ decoder: IncrementalDecoder, prompts: [[Int]], options: GenerationOptions) throws -> [[Int]] {
    try validateGeneration(rows: decoder.rows, prompts: prompts, options: options)
    if options.numBeams == 1 { return greedy(decoder, prompts: prompts, options: options) }
    switch options.beamStrategy {
    case .transformers: return beamSearch(decoder, prompts: prompts, options: options)
    case .pooled: return pooledBeamSearch(decoder, prompts: prompts, options: options)
    }
}

/// The checks ``generate(_:prompts:options:)`` and ``TokenStepper`` make before the first step.
func validateGeneration(rows: Int, prompts: [[Int]], options: GenerationOptions) throws {
    guard prompts.count == rows else {
        throw GenerationError("generate: \(prompts.count) prompts for \(rows) rows")
    }
    guard let length = prompts.first?.count, length > 0, prompts.allSatisfy({ $0.count == length }) else {
        throw GenerationError("generate: prompts must be non-empty and of equal length")
    }
    guard options.maxNewTokens >= 1 else { throw GenerationError("generate: maxNewTokens must be at least 1") }
    guard options.numBeams >= 1 else { throw GenerationError("generate: numBeams must be at least 1") }
    if options.doSample {
        guard options.numBeams == 1 else { throw GenerationError("generate: sampling takes one beam, got numBeams \(options.numBeams)") }
        guard options.temperature > 0 else { throw GenerationError("generate: temperature must be positive, got \(options.temperature)") }
        guard options.topP > 0, options.topP <= 1 else { throw GenerationError("generate: topP must be in (0, 1], got \(options.topP)") }
        guard options.topK >= 0 else { throw GenerationError("generate: topK must be ≥ 0, got \(options.topK)") }
    }
}

// MARK: - Logits processors

/// `logits` [R, V] with ``GenerationOptions/suppressTokenIDs`` set to −1e9.
func suppressTokens(_ logits: MLXArray, options: GenerationOptions) -> MLXArray {
    guard !options.suppressTokenIDs.isEmpty else { return logits }
    let vocabulary = logits.dim(1)
    var mask = [Bool](repeating: false, count: vocabulary)
    for id in options.suppressTokenIDs where id >= 0 && id < vocabulary { mask[id] = true }
    return which(MLXArray(mask, [vocabulary]), full([1], value: -1e9, dtype: logits.dtype), logits)
}

/// transformers' MinNewTokensLengthLogitsProcessor and NoRepeatNGramLogitsProcessor on
/// `scores` [R, V]: EOS is banned before `minNewTokens`, and any token that would repeat an
/// n-gram of its row's sequence (or, with ``GenerationOptions/ngramBlocker``, of the window of
/// its generated tokens).
func processScores(_ scores: MLXArray, sequences: [[Int]], newTokens: Int, options: GenerationOptions) -> MLXArray {
    let vocabulary = scores.dim(1)
    var banned: [Int32] = []
    if newTokens < options.minNewTokens {
        for row in sequences.indices {
            for eos in options.eosTokenIDs where eos < vocabulary { banned.append(Int32(row * vocabulary + eos)) }
        }
    }
    let n = options.noRepeatNgramSize
    if n > 0 {
        for (row, sequence) in sequences.enumerated() where sequence.count >= n {
            let prefix = Array(sequence.suffix(n - 1))
            var seen = Set<Int>()
            for start in 0 ... (sequence.count - n) where Array(sequence[start ..< start + n - 1]) == prefix {
                let token = sequence[start + n - 1]
                if seen.insert(token).inserted { banned.append(Int32(row * vocabulary + token)) }
            }
        }
    }
    if let blocker = options.ngramBlocker {
        for (row, sequence) in sequences.enumerated() {
            for token in blocker.banned(after: Array(sequence.suffix(newTokens))) where token >= 0 && token < vocabulary {
                banned.append(Int32(row * vocabulary + token))
            }
        }
    }
    guard !banned.isEmpty else { return scores }
    let flat = scores.reshaped(-1)
    let values = full([banned.count], value: -Double.infinity, dtype: scores.dtype)
    return flat.putAlong(MLXArray(banned), values: values, axis: 0).reshaped(scores.shape)
}

/// transformers' TemperatureLogitsWarper, TopKLogitsWarper and TopPLogitsWarper (in that order)
/// on `scores` [R, V]: removed tokens get −∞; top-p keeps the smallest set of most likely tokens
/// whose probability reaches `topP` (at least one).
func warpScores(_ scores: MLXArray, options: GenerationOptions) -> MLXArray {
    var s = scores
    if options.temperature != 1 { s = s / options.temperature }
    let vocabulary = s.dim(1)
    let removed = full(s.shape, value: -Double.infinity, dtype: s.dtype)
    if options.topK > 0 && options.topK < vocabulary {
        let kth = s.sorted(axis: -1).sliced(axis: 1, from: vocabulary - options.topK, to: vocabulary - options.topK + 1)
        s = which(s .< kth, removed, s)
    }
    if options.topP < 1 {
        let order = s.argSort(axis: -1)  // ascending
        let ascending = s.takeAlong(order, axis: 1)
        let cumulative = softmax(ascending, axis: -1, precise: true).cumsum(axis: -1)
        let notLast = MLXArray((0 ..< vocabulary).map { Float($0 < vocabulary - 1 ? 1 : 0) }, [1, vocabulary]) .> 0.5
        let drop = logicalAnd(cumulative .<= (1 - options.topP), notLast)
        s = s.putAlong(order, values: which(drop, removed, ascending), axis: 1)
    }
    return s
}

// MARK: - Greedy and sampling

/// Greedy search, or multinomial sampling when `options.doSample` (keys split from `options.seed`,
/// one per step).
func greedy(_ decoder: IncrementalDecoder, prompts: [[Int]], options: GenerationOptions) -> [[Int]] {
    let stepper = TokenStepper(unchecked: decoder, prompts: prompts, options: options)
    while !stepper.isFinished { stepper.step() }
    return stepper.generated
}

/// Greedy or sampled generation one token at a time, for callers that interleave sessions or
/// hand each token on as it comes (a server streaming answers): ``step()`` appends one token to
/// every unfinished row and returns them; ``finish(row:)`` ends a row early (its client left).
/// Running it to the end gives exactly ``generate(_:prompts:options:)``'s greedy or sampled output.
public final class TokenStepper {
    public let decoder: IncrementalDecoder
    public let options: GenerationOptions
    /// New tokens of each row so far (an EOS that ended a row included).
    public private(set) var generated: [[Int]]
    /// Rows still generating.
    public private(set) var unfinished: [Bool]
    /// Steps taken.
    public private(set) var steps = 0
    private var sequences: [[Int]]
    private var input: MLXArray
    private var key: MLXArray
    private let eos: Set<Int>

    /// A stepper over every row of `decoder` (one prompt per row, equal lengths); beam search is
    /// not stepped (`options.numBeams` must be 1).
    public convenience init(_ decoder: IncrementalDecoder, prompts: [[Int]], options: GenerationOptions) throws {
        try validateGeneration(rows: decoder.rows, prompts: prompts, options: options)
        guard options.numBeams == 1 else { throw GenerationError("TokenStepper: greedy or sampling only, got numBeams \(options.numBeams)") }
        self.init(unchecked: decoder, prompts: prompts, options: options)
    }

    init(unchecked decoder: IncrementalDecoder, prompts: [[Int]], options: GenerationOptions) {
        self.decoder = decoder
        self.options = options
        sequences = prompts
        unfinished = [Bool](repeating: true, count: prompts.count)
        generated = [[Int]](repeating: [], count: prompts.count)
        eos = Set(options.eosTokenIDs)
        input = MLXArray(prompts.flatMap { $0.map(Int32.init) }, [prompts.count, prompts[0].count])
        key = MLXRandom.key(options.seed)
    }

    /// Whether every row has finished or the token limit is reached.
    public var isFinished: Bool { !unfinished.contains(true) || steps >= options.maxNewTokens }

    /// Ends `row`: it gets padding from now on, and the stepper finishes when no row is left.
    public func finish(row: Int) {
        guard unfinished.indices.contains(row) else { return }
        unfinished[row] = false
    }

    /// One decoding step: the token each row gained (nil for rows that had finished before it).
    @discardableResult
    public func step() -> [Int?] {
        guard !isFinished else { return [Int?](repeating: nil, count: sequences.count) }
        let logits = suppressTokens(decoder.step(input).asType(.float32), options: options)
        let scores = processScores(logits, sequences: sequences, newTokens: steps, options: options)
        let chosen: MLXArray
        if options.doSample {
            let keys = MLXRandom.split(key, count: 2)
            key = keys[0]
            chosen = MLXRandom.categorical(warpScores(scores, options: options), axis: -1, key: keys[1])
        } else {
            chosen = scores.argMax(axis: -1)
        }
        let next = chosen.asType(.int32).asArray(Int32.self).map(Int.init)
        var tokens: [Int32] = []
        var gained = [Int?](repeating: nil, count: sequences.count)
        for row in sequences.indices {
            let token = unfinished[row] ? next[row] : (options.padTokenID ?? next[row])
            sequences[row].append(token)
            tokens.append(Int32(token))
            if unfinished[row] {
                generated[row].append(token)
                gained[row] = token
                if eos.contains(token) { unfinished[row] = false }
                if let guardrail = options.repetitionGuard, unfinished[row], guardrail.repeatedPeriod(generated[row]) != nil {
                    generated[row] = guardrail.trimmed(generated[row])
                    unfinished[row] = false
                }
            }
        }
        steps += 1
        if !isFinished { input = MLXArray(tokens, [tokens.count, 1]) }
        return gained
    }
}

// MARK: - Beam search

/// transformers' vectorized beam search (`_beam_search`), per batch row: keep the best
/// `numBeams` running beams among the top `max(2, 1 + #eos) · numBeams` continuations, move
/// continuations ending in EOS (or at the length limit) among the first `numBeams` candidates
/// into the finished hypotheses with a length-normalized score, stop per `earlyStopping`.
func beamSearch(_ decoder: IncrementalDecoder, prompts: [[Int]], options: GenerationOptions) -> [[Int]] {
    let batch = prompts.count
    let beams = options.numBeams
    let promptLength = prompts[0].count
    let eos = Set(options.eosTokenIDs)
    let keep = max(2, 1 + options.eosTokenIDs.count) * beams
    let maxNew = options.maxNewTokens
    let penalty = options.lengthPenalty

    // Expand every row to `beams` rows.
    decoder.selectRows(MLXArray((0 ..< batch * beams).map { Int32($0 / beams) }))
    var running = (0 ..< batch * beams).map { prompts[$0 / beams] }  // [B·beams] sequences
    var runningScores = (0 ..< batch * beams).map { $0 % beams == 0 ? Float(0) : Float(-1e9) }
    var finished = [[(score: Float, tokens: [Int])]](repeating: [], count: batch)  // ≤ beams each, best first
    var heuristicUnsatisfied = [Bool](repeating: true, count: batch)

    var input = MLXArray(running.flatMap { $0.map(Int32.init) }, [batch * beams, promptLength])
    for step in 0 ..< maxNew {
        let logits = suppressTokens(decoder.step(input).asType(.float32), options: options)
        let vocabulary = logits.dim(1)
        var logProbs = logSoftmax(logits, axis: -1)
        logProbs = processScores(logProbs, sequences: running, newTokens: step, options: options)
        let accumulated = (logProbs + MLXArray(runningScores, [batch * beams, 1])).reshaped(batch, beams * vocabulary)
        let order = (-accumulated).argSort(axis: -1).sliced(axis: 1, from: 0, to: keep)
        let topScores = accumulated.takeAlong(order, axis: 1).asArray(Float.self)
        let topIndices = order.asArray(Int32.self).map(Int.init)
        let atLimit = step + 1 >= maxNew
        let curLength = step + 1  // generated length after this token

        var nextRunning: [[Int]] = []
        var nextScores: [Float] = []
        var sourceRows: [Int32] = []
        for b in 0 ..< batch {
            var candidates: [(score: Float, source: Int, tokens: [Int], hits: Bool)] = []
            for k in 0 ..< keep {
                let flat = topIndices[b * keep + k]
                let source = b * beams + flat / vocabulary
                let token = flat % vocabulary
                candidates.append((topScores[b * keep + k], source, running[source] + [token], atLimit || eos.contains(token)))
            }
            // Running beams for the next step: the best candidates that did not finish.
            let ranked = candidates.indices.sorted { a, c in
                let sa = candidates[a].score + (candidates[a].hits ? -1e9 : 0)
                let sc = candidates[c].score + (candidates[c].hits ? -1e9 : 0)
                return sa != sc ? sa > sc : a < c
            }
            for k in ranked.prefix(beams) {
                nextRunning.append(candidates[k].tokens)
                nextScores.append(candidates[k].score + (candidates[k].hits ? -1e9 : 0))
                sourceRows.append(Int32(candidates[k].source))
            }
            // Finished hypotheses: candidates among the first `beams` that hit a stop.
            let full = finished[b].count >= beams && options.earlyStopping == .stopWhenFull
            if heuristicUnsatisfied[b] && !full {
                let norm = Float(pow(Double(curLength), penalty))
                var merged = finished[b]
                for k in 0 ..< beams where candidates[k].hits {
                    merged.append((candidates[k].score / norm, candidates[k].tokens))
                }
                let sorted = merged.enumerated().sorted { x, y in
                    x.element.score != y.element.score ? x.element.score > y.element.score : x.offset < y.offset
                }
                finished[b] = Array(sorted.prefix(beams).map(\.element))
            }
        }
        running = nextRunning
        runningScores = nextScores

        // transformers' early-stop heuristic, evaluated with the length after this step.
        var anyOpen = false
        for b in 0 ..< batch {
            let best = runningScores[b * beams]
            let hypothetical = options.earlyStopping == .never && penalty > 0 ? maxNew : curLength
            let bestPossible = best / Float(pow(Double(hypothetical), penalty))
            let worst: Float = finished[b].count >= beams ? finished[b].map(\.score).min()! : -1e9
            heuristicUnsatisfied[b] = heuristicUnsatisfied[b] && bestPossible > worst
            let full = finished[b].count >= beams && options.earlyStopping == .stopWhenFull
            if heuristicUnsatisfied[b] && !full { anyOpen = true }
        }
        if !anyOpen || atLimit { break }
        decoder.selectRows(MLXArray(sourceRows))
        input = MLXArray(running.map { Int32($0.last!) }, [batch * beams, 1])
    }
    return (0 ..< batch).map { b in
        let best = finished[b].first?.tokens ?? running[b * beams]
        return Array(best.dropFirst(promptLength))
    }
}

/// ``GenerationOptions/BeamStrategy/pooled`` for every row of the batch: the decoder's rows are
/// the running beams, image by image, and shrink as slots finish.
func pooledBeamSearch(_ decoder: IncrementalDecoder, prompts: [[Int]], options: GenerationOptions) -> [[Int]] {
    struct Beam { var tokens: [Int]; var score: Double; var done: Bool; var row: Int }
    let width = options.numBeams
    let promptLength = prompts[0].count
    let eos = Set(options.eosTokenIDs)
    func normalized(_ beam: Beam) -> Double {
        options.lengthPenalty <= 0 ? beam.score : beam.score / pow(Double(max(1, beam.tokens.count)), options.lengthPenalty)
    }
    var slots = prompts.enumerated().map { [Beam(tokens: $0.element, score: 0, done: false, row: $0.offset)] }
    var input = MLXArray(prompts.flatMap { $0.map(Int32.init) }, [prompts.count, promptLength])
    for step in 0 ..< options.maxNewTokens {
        let running = slots.flatMap { $0.filter { !$0.done } }  // the decoder's rows, in order
        let logits = suppressTokens(decoder.step(input).asType(.float32), options: options)
        let logProbs = processScores(logSoftmax(logits, axis: -1), sequences: running.map(\.tokens), newTokens: step, options: options)
        let k = min(width, logProbs.dim(1))
        let order = (-logProbs).argSort(axis: -1).sliced(axis: 1, from: 0, to: k).asType(.int32)
        let topIDs = order.asArray(Int32.self).map(Int.init)
        let topScores = logProbs.takeAlong(order, axis: -1).asArray(Float.self)
        var row = 0
        for b in slots.indices {
            var candidates: [Beam] = []
            for beam in slots[b] {
                if beam.done {
                    candidates.append(beam)
                    continue
                }
                for j in 0 ..< k {
                    let token = topIDs[row * k + j]
                    candidates.append(Beam(tokens: beam.tokens + [token], score: beam.score + Double(topScores[row * k + j]),
                                           done: eos.contains(token), row: row))
                }
                row += 1
            }
            // A stable sort, best first: ties keep the candidates' order (as Python's sorted).
            let ranked = candidates.enumerated().sorted { x, y in
                let (a, c) = (normalized(x.element), normalized(y.element))
                return a != c ? a > c : x.offset < y.offset
            }
            slots[b] = ranked.prefix(width).map(\.element)
        }
        let next = slots.flatMap { $0.filter { !$0.done } }
        if next.isEmpty || step + 1 == options.maxNewTokens { break }
        decoder.selectRows(MLXArray(next.map { Int32($0.row) }, [next.count]))
        input = MLXArray(next.map { Int32($0.tokens.last!) }, [next.count, 1])
    }
    return slots.map { beams in
        var best = beams[0]
        for beam in beams.dropFirst() where normalized(beam) > normalized(best) { best = beam }
        return Array(best.tokens.dropFirst(promptLength))
    }
}
