// Fine-tuning PP-OCR recognizers: CTC batches, the trainer's model surface, and vocabulary
// extension (new classes appended to the head, old rows and the blank index kept).

import Foundation
import MLXEngine
import MLXNN
import OCRImaging
import OCRModels
import OCRTraining

// MARK: - Batches

/// A CTC training batch: pixels [N, 48, W, 3], padded class targets [N, L] and lengths.
public struct CTCBatch {
    public let images: MLXArray
    public let targets: MLXArray
    public let inputLengths: [Int]
    public let targetLengths: [Int]
    /// Rows that are replay (mix) samples, on which a ``PPOCRTrainable/teacher`` is distilled.
    public var replayRows: [Int]
    /// The frozen backbone's pooled features of `images` [N, 1, T, C], when the batch was made with
    /// them (``PPOCRTrainable/collate(_:replay:keys:)``); the loss then starts at the neck.
    public var features: MLXArray?

    public init(images: MLXArray, targets: MLXArray, inputLengths: [Int], targetLengths: [Int], replayRows: [Int] = []) {
        self.images = images
        self.targets = targets
        self.inputLengths = inputLengths
        self.targetLengths = targetLengths
        self.replayRows = replayRows
    }
}

public struct PPOCRTrainingError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Trainable model

/// The trainer's view of a PP-OCR recognizer. Groups: `backbone` (PPLCNetV3), `neck` (the SVTR
/// encoder), `head` (the CTC classifier); LoRA targets the SVTR attention and MLP and the head.
public final class PPOCRTrainable: TrainableModel {
    public private(set) var recognizer: PPOCRTextRecognizer
    /// Training inputs are resized (aspect kept) and padded to at most this width, as
    /// PaddleOCR's RecResizeImg with image_shape [3, 48, 320] (wider lines are squeezed).
    public var maxTrainingWidth = 320
    /// Batch widths are rounded up to a multiple of this (fewer distinct shapes).
    public var widthMultiple = 32

    /// When the backbone trains, its 1×1 convolutions and the head — ocrtune's fused kernels —
    /// make most of a step and split their products over the cores themselves, so OpenBLAS runs
    /// single-threaded (its idle workers would spin beside them; see `Threads.withSingleThreadedBLAS`).
    /// With the backbone frozen a step runs the neck and head on cached features, mostly MLX's
    /// own ops and products, and OpenBLAS's threads do better (bench/results/train.json).
    public func runStep<T>(_ step: () throws -> T) throws -> T {
        try Threads.withSingleThreadedBLAS(if: recognizer.kernels == .fused && !backboneIsFrozen, step)
    }

    /// A frozen backbone's features for a batch that carries none (no sample keys, or the cache
    /// full), computed before the step as inference computes them — OpenBLAS single-threaded, the
    /// fused kernels splitting their products over the cores — while the step (neck and head)
    /// keeps OpenBLAS's threads (``runStep(_:)``). Inside the step they ran with OpenBLAS's
    /// threads spinning beside the kernels.
    public func prepareStep(_ batch: CTCBatch) throws -> CTCBatch {
        guard batch.features == nil, recognizer.kernels == .fused, backboneIsFrozen else { return batch }
        var prepared = batch
        prepared.features = try Threads.withSingleThreadedBLAS {
            try withEngineErrors {
                let features = stopGradient(network.pooledFeatures(batch.images))
                try eval(features)
                return features
            }
        }
        return prepared
    }

    /// The base model, frozen, whose output distribution the model keeps on replay samples
    /// (knowledge distillation against forgetting; nil: CTC only).
    public var teacher: (any PPOCRNetwork)?
    /// Weight of the distillation term: the mean per-step KL(teacher ‖ model) over the teacher's
    /// classes, on replay rows. New classes get no teacher mass, so they are pushed down there.
    public var distillationWeight: Float = 1
    /// Weight of feature distillation on replay rows: the relative squared distance between the
    /// model's neck output and the teacher's, Σ(s − t)² / Σt². It keeps the features every old
    /// class is read from, including classes the replay lines rarely show (0: off).
    public var featureDistillationWeight: Float = 0

    /// With the backbone frozen in eval mode it is a fixed function of the image: batches made
    /// with sample keys carry its pooled features, computed once per sample and kept in memory up
    /// to this many bytes (0: off). All such lines are padded to ``maxTrainingWidth``, as
    /// PaddleOCR's training pads them, and each is computed alone: the BLAS rounds a row of a
    /// product differently depending on the rows beside it, so features computed in a batch would
    /// depend on which batch first held the sample — and a run resumed in a later epoch (its cache
    /// empty) would drift from the uninterrupted one.
    public var featureCacheBytes = 1 << 30
    private var featureCache: [AnyHashable: MLXArray] = [:]
    /// Bytes of features kept.
    public private(set) var featureCacheUsed = 0

    public init(recognizer: PPOCRTextRecognizer) {
        self.recognizer = recognizer
        keepFoldedStatistics()
    }

    /// PP-OCRv6's ONNX graph folds most batch norms into their convolutions; the import writes
    /// them as identity statistics (mean 0, variance 1 − ε). Trained with batch statistics they
    /// would normalize outputs that were never normalized — the network's function changes at the
    /// first step (a v6 full fine-tuning read nothing, CER 1.0, after 6 steps) — so they keep
    /// normalizing as in inference while their scale and shift train, as frozen batch norms do.
    func keepFoldedStatistics() {
        for case let (_, norm as BatchNorm) in network.namedModules() where norm.hasFoldedStatistics {
            norm.keepsRunningStatistics = true
        }
    }

    /// Makes a frozen copy of the current network (before vocabulary extension) the teacher.
    public func useCurrentNetworkAsTeacher() throws {
        let copy = network.makeEmpty(classCount: network.classCount)
        try copy.update(parameters: network.parameterDictionary(), source: "distillation teacher")
        _ = copy.freeze()
        copy.train(false)
        try eval(copy.parameters().map(\.array))
        teacher = copy
    }

    public var module: Module { recognizer.network }
    public var network: any PPOCRNetwork { recognizer.network }

    /// `backbone`, `neck`, `head`, and `early-backbone`: the backbone but its last stage (the stem
    /// and every stage before the last), so `--freeze early-backbone` trains the last stage with
    /// the neck and head — the recipe that generalizes best to unseen fonts (docs/persian-case.md).
    public var parameterGroups: [String: [String]] {
        ["backbone": ["model.backbone"], "neck": ["head.encoder"], "head": ["head.head"],
         "early-backbone": earlyBackbonePrefixes]
    }

    /// The backbone's module prefixes other than its last stage (`model.backbone.encoder.blocks.N`
    /// with the largest N): its other stages, the stem and anything else under `model.backbone`.
    var earlyBackbonePrefixes: [String] {
        let stage = "model.backbone.encoder.blocks."
        var prefixes = Set<String>()
        var last = -1
        for key in network.parameterDictionary().keys where key.hasPrefix("model.backbone.") {
            if key.hasPrefix(stage), let index = Int(key.dropFirst(stage.count).prefix { $0 != "." }) {
                prefixes.insert(stage + String(index))
                last = max(last, index)
            } else {
                // a module under the backbone outside its stages: its prefix up to the key's parent
                prefixes.insert(String(key[..<(key.lastIndex(of: ".") ?? key.endIndex)]))
            }
        }
        return prefixes.filter { $0 != stage + String(last) }.sorted()
    }

    public var defaultLoRATargets: [String] { ["qkv", "projection", "fc1", "fc2", "head.head"] }

    /// Checkpoints the SVTR blocks of the neck.
    public func setGradientCheckpointing(_ on: Bool) -> Bool {
        network.gradientCheckpointing = on
        return true
    }

    public func loss(_ batch: CTCBatch) -> MLXArray {
        let features = batch.features ?? network.pooledFeatures(batch.images)
        let neck = network.neck(features)
        let logProbs = logSoftmax(network.classifier(neck), axis: -1)
        let ctc = ctcLoss(
            logProbs: logProbs, targets: batch.targets, inputLengths: batch.inputLengths,
            targetLengths: batch.targetLengths, blank: recognizer.dictionary.blankIndex)
        guard let teacher, distillationWeight > 0 || featureDistillationWeight > 0, !batch.replayRows.isEmpty else {
            return ctc
        }
        let rows = MLXArray(batch.replayRows.map(Int32.init))
        // A frozen backbone in eval mode computes what the teacher's would: reuse its features.
        let teacherFeatures =
            batch.features != nil || backboneIsFrozen
            ? stopGradient(features.take(rows, axis: 0))
            : teacher.pooledFeatures(batch.images.take(rows, axis: 0))
        let teacherNeck = stopGradient(teacher.neck(teacherFeatures))
        var total = ctc
        if distillationWeight > 0 {
            total = total + distillationLoss(
                teacherLogits: teacher.classifier(teacherNeck), logProbs: logProbs.take(rows, axis: 0))
                * Double(distillationWeight)
        }
        if featureDistillationWeight > 0 {
            let difference = neck.take(rows, axis: 0) - teacherNeck
            total = total + (difference * difference).sum() / ((teacherNeck * teacherNeck).sum() + 1e-6)
                * Double(featureDistillationWeight)
        }
        return total
    }

    /// Whether the backbone is frozen and its BatchNorms normalize with their running statistics
    /// (eval mode), so it is a fixed function of the image that still equals the teacher's.
    /// (The trainer puts frozen layers in eval mode; parameter-free containers stay in training.)
    var backboneIsFrozen: Bool {
        network.backboneModule.trainableParameters().isEmpty
            && network.backboneModule.namedModules().allSatisfy { !($0.1 is BatchNorm) || !$0.1.training }
    }

    /// Mean over rows and time steps of KL(teacher ‖ model) on the teacher's classes.
    /// `logProbs`: the model's log-probabilities on the same rows.
    func distillationLoss(teacherLogits: MLXArray, logProbs: MLXArray) -> MLXArray {
        let teacherLogProbs = stopGradient(logSoftmax(teacherLogits, axis: -1))
        let student = logProbs.sliced(axis: -1, 0 ..< teacherLogProbs.dim(-1))
        return (exp(teacherLogProbs) * (teacherLogProbs - student)).sum(axis: -1).mean()
    }

    /// The labels of `text` as PaddleOCR cuts them: one per Unicode code point (so a ZWNJ or a
    /// combining mark is its own class, never glued to the letter before it), in visual
    /// (left-to-right) order, which is what CTC aligns with the image: right-to-left text is
    /// reordered (see ``VisualOrder``).
    public static func labels(of text: String) -> [String] {
        VisualOrder.reordered(text).unicodeScalars.map { String($0) }
    }

    /// Class sequence of `text`; throws naming code points the dictionary lacks.
    public func classes(of text: String) throws -> [Int] {
        try Self.labels(of: text).map { label -> Int in
            guard let i = recognizer.dictionary.classIndex(of: label) else {
                let code = String(label.unicodeScalars.first!.value, radix: 16, uppercase: true)
                throw PPOCRTrainingError("the model cannot emit \"\(label)\" (U+\(code)) in \"\(text)\"")
            }
            return i
        }
    }

    /// CTC steps a label sequence needs: one per label plus a blank between repeated labels.
    public static func requiredSteps(_ classes: [Int]) -> Int {
        classes.count + zip(classes, classes.dropFirst()).filter { $0 == $1 }.count
    }

    /// CTC steps of a training line (inputs are padded or squeezed to `maxTrainingWidth`).
    public var trainingSteps: Int { network.steps(forWidth: maxTrainingWidth) }

    /// Preprocesses images and encodes texts into a batch.
    /// `replay`: which samples are replay (mix) samples, for distillation. `keys`: one identity per
    /// sample (e.g. its encoded image); with the backbone frozen, the batch then carries the
    /// backbone's features, computed once per key (``featureCacheBytes``).
    public func collate(
        _ samples: [(image: RGBImage, text: String)], replay: [Bool] = [], keys: [AnyHashable]? = nil
    ) throws -> CTCBatch {
        let pre = recognizer.preprocessor
        let frozen = backboneIsFrozen
        let cachesFeatures = keys?.count == samples.count && featureCacheBytes > 0 && frozen
        if !frozen && !featureCache.isEmpty {
            // A backbone that trains again makes the kept features stale.
            featureCache = [:]
            featureCacheUsed = 0
        }
        var width = Swift.min(maxTrainingWidth, pre.batchWidth(for: samples.map(\.image)))
        width = Swift.min(maxTrainingWidth, (width + widthMultiple - 1) / widthMultiple * widthMultiple)
        if cachesFeatures { width = maxTrainingWidth }
        let pixels = pre.batch(samples.map(\.image), width: width)
        let steps = network.steps(forWidth: width)
        let labels = try samples.map { try classes(of: $0.text) }
        let longest = Swift.max(1, labels.map(\.count).max() ?? 1)
        var flat = [Int32](repeating: 0, count: samples.count * longest)
        for (i, l) in labels.enumerated() {
            guard Self.requiredSteps(l) <= steps else {
                throw PPOCRTrainingError("\"\(samples[i].text)\" needs \(Self.requiredSteps(l)) CTC steps but a \(width)-px line gives \(steps)")
            }
            for (j, c) in l.enumerated() { flat[i * longest + j] = Int32(c) }
        }
        var batch = CTCBatch(
            images: pixels, targets: MLXArray(flat, [samples.count, longest]),
            inputLengths: Array(repeating: steps, count: samples.count), targetLengths: labels.map(\.count),
            replayRows: replay.indices.filter { replay[$0] })
        if cachesFeatures, let keys { batch.features = try backboneFeatures(pixels, keys: keys) }
        return batch
    }

    /// Pooled features of the frozen backbone for each row of `pixels`: kept ones, and the rest
    /// computed one row at a time (a function of the image alone) and kept while the cache has room.
    func backboneFeatures(_ pixels: MLXArray, keys: [AnyHashable]) throws -> MLXArray {
        let missing = keys.indices.filter { featureCache[keys[$0]] == nil }
        var fresh: [Int: MLXArray] = [:]
        for i in missing {
            let row = try withEngineErrors {
                stopGradient(network.pooledFeatures(pixels.sliced(axis: 0, i ..< i + 1)))
            }
            try eval(row)
            fresh[i] = row
            let bytes = row.size * 4
            if featureCacheUsed + bytes <= featureCacheBytes, featureCache[keys[i]] == nil {
                featureCache[keys[i]] = row
                featureCacheUsed += bytes
            }
        }
        return concatenated(try keys.indices.map { i in
            guard let row = fresh[i] ?? featureCache[keys[i]] else { throw PPOCRTrainingError("no backbone features for row \(i)") }
            return row
        }, axis: 0)
    }

    // MARK: Vocabulary extension

    /// Appends `labels` the dictionary lacks as new classes: the head grows by one row per label
    /// (old rows kept, new rows initialized like a fresh Linear with a bias at the old mean),
    /// the blank index is unchanged. Returns the labels added.
    @discardableResult
    public func extendVocabulary(with labels: [String], seed: UInt64 = 0) throws -> [String] {
        var dictionary = recognizer.dictionary
        let added = dictionary.append(labels)
        guard !added.isEmpty else { return [] }
        let old = recognizer.network
        let grown = old.makeEmpty(classCount: dictionary.classCount)
        var weights = old.parameterDictionary()
        let head = old.classifier
        let bound = Float(1 / Double(head.inputDimensions).squareRoot())
        let rows = MLXRandom.uniform([added.count, head.inputDimensions], low: -bound, high: bound, key: MLXRandom.key(seed))
        weights["head.head.weight"] = concatenated([head.weight, rows.asType(head.weight.dtype)], axis: 0)
        if let bias = head.bias {
            let fill = full([added.count], value: Double(bias.mean().item(Float.self)), dtype: bias.dtype)
            weights["head.head.bias"] = concatenated([bias, fill], axis: 0)
        }
        try grown.update(parameters: weights, source: "vocabulary extension")
        grown.gradientCheckpointing = old.gradientCheckpointing
        try eval(grown.parameters().map(\.array))
        recognizer = try PPOCRTextRecognizer(network: grown, dictionary: dictionary, useCompile: recognizer.useCompile)
        keepFoldedStatistics()
        return added
    }
}
