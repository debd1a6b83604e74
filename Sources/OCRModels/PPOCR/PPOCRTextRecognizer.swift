// A loaded PP-OCR recognizer: the network, its dictionary, PaddleOCR's preprocessing, batches
// sorted by aspect ratio, CTC decoding (greedy from the best class per step, or beam search) and
// right-to-left text put back in logical order.
//
// Reference: PaddleOCR tools/infer/predict_rec.py (batches sorted by aspect ratio).

import Foundation
import MLXEngine
import MLXNN
import OCRImaging

/// A PP-OCR recognizer ready for inference: weights, dictionary, preprocessing, batching.
public final class PPOCRTextRecognizer: TextRecognizer {
    public let network: any PPOCRNetwork
    public let dictionary: CharacterDictionary
    public var preprocessor: PPOCRPreprocessor
    /// Options used by ``recognize(_:prompt:)``.
    public var options = RecognitionOptions()
    /// Whether forward passes go through `compile` (traced once per input shape), which fuses the
    /// engine's element-wise ops. With ocrtune's fused kernels (the default) it gains little.
    /// MLX builds its CPU kernels with the system C++ compiler on first use and caches them in
    /// $TMPDIR/mlx, so the first run on a machine takes ~40 s longer.
    public var useCompile: Bool
    /// Whether inference runs with OpenBLAS single-threaded while ocrtune's kernels split the
    /// work over the cores (see ``evaluated(_:)``); off keeps OpenBLAS's own threads.
    public var singleThreadedBLAS = true
    private var compiled: ArrayFunction?
    private var compiledBest: ArrayFunction?

    public var modelType: String { network.modelType }

    /// "PP-OCRv5 mobile rec" / "PP-OCRv4 mobile rec" / "PP-OCRv6 small rec".
    public var name: String {
        switch modelType {
        case "pp_ocrv4_mobile_rec": "PP-OCRv4 mobile rec"
        case PPOCRV6RecognizerConfig.smallModelType: "PP-OCRv6 small rec"
        default: "PP-OCRv5 mobile rec"
        }
    }

    public var preferredBatchSize: Int { options.batchSize }

    /// The kernels the network runs (see ``KernelChoice``); inference makes OpenBLAS
    /// single-threaded only with the fused kernels, which split their products over the cores.
    public var kernels: KernelChoice = .fused {
        didSet { network.useKernels(kernels) }
    }

    public init(network: any PPOCRNetwork, dictionary: CharacterDictionary, useCompile: Bool = false) throws {
        guard dictionary.classCount == network.classCount else {
            throw ModelFolderError(
                "the dictionary has \(dictionary.classCount) classes (blank included), the head \(network.classCount)")
        }
        self.network = network
        self.dictionary = dictionary
        self.useCompile = useCompile
        preprocessor = PPOCRPreprocessor(network: network)
        network.train(false)
    }

    /// Loads a model folder written by `ocrtune import ppocr` (or a fine-tune).
    public convenience init(folder: URL, useCompile: Bool = false) throws {
        let network = try Self.network(configuredAt: folder)
        try network.loadParameters(from: [folder.appendingPathComponent(ModelFolder.weightsFile).path])
        let dictionary = try CharacterDictionary(contentsOf: folder.appendingPathComponent(ModelFolder.dictionaryFile))
        try self.init(network: network, dictionary: dictionary, useCompile: useCompile)
    }

    /// The network a model folder's config.json describes (v4/v5 or v6), its weights not loaded.
    public static func network(configuredAt folder: URL) throws -> any PPOCRNetwork {
        let type = try ModelFolder.modelType(at: folder)
        if PPOCRV6RecognizerConfig.modelTypes.contains(type) {
            return PPOCRV6Network(config: try ModelFolder.readConfig(PPOCRV6RecognizerConfig.self, at: folder))
        } else if ["pp_ocrv5_mobile_rec", "pp_ocrv4_mobile_rec"].contains(type) {
            return PPOCRV5Network(config: try ModelFolder.readConfig(PPOCRRecognizerConfig.self, at: folder))
        }
        throw ModelFolderError("\(folder.path): model_type \"\(type)\" is not a PP-OCR recognizer")
    }

    public static let modelTypes: Set<String> = Set(["pp_ocrv5_mobile_rec", "pp_ocrv4_mobile_rec"]).union(PPOCRV6RecognizerConfig.modelTypes)

    // MARK: Inference

    /// Class probabilities [N, T, classes] of a preprocessed batch [N, 48, W, 3], evaluated.
    public func probabilities(_ pixels: MLXArray) throws -> MLXArray {
        try evaluated {
            guard useCompile else { return [network.probabilities(pixels)] }
            if compiled == nil {
                let network = self.network
                compiled = try compile { inputs in [network.probabilities(inputs[0])] }
            }
            return try compiled!([pixels])
        }[0]
    }

    /// Greedy decoding's best class and its probability per step, each [N, T], of a preprocessed
    /// batch: one pass over the logits (``bestClass(_:)``) instead of a softmax over every class.
    public func bestClasses(_ pixels: MLXArray) throws -> (classes: MLXArray, probabilities: MLXArray) {
        let out = try evaluated {
            guard useCompile else {
                let best = bestClass(network(pixels))
                return [best.classes, best.probabilities]
            }
            if compiledBest == nil {
                let network = self.network
                compiledBest = try compile { inputs in
                    let best = bestClass(network(inputs[0]))
                    return [best.classes, best.probabilities]
                }
            }
            return try compiledBest!([pixels])
        }
        return (out[0], out[1])
    }

    /// Builds and evaluates a forward pass. With ocrtune's kernels, OpenBLAS is single-threaded
    /// meanwhile: the backbone's 1×1 convolutions split their rows over the cores themselves, and
    /// OpenBLAS's worker, which spins after each threaded call, would compete with every kernel
    /// for the cores (perf showed a large share of the CPU time in its spin on 2 cores).
    private func evaluated(_ forward: () throws -> [MLXArray]) throws -> [MLXArray] {
        try Threads.withSingleThreadedBLAS(if: kernels == .fused && singleThreadedBLAS) {
            try withEngineErrors {
                let out = try forward()
                try eval(out)
                return out
            }
        }
    }

    /// Batches of indices into `images`, sorted by aspect ratio as PaddleOCR does, each with its width.
    public func batches(_ images: [RGBImage], options: RecognitionOptions) -> [(indices: [Int], width: Int)] {
        let order = images.indices.sorted { preprocessor.aspectRatio(images[$0]) < preprocessor.aspectRatio(images[$1]) }
        let size = Swift.max(1, options.batchSize)
        return stride(from: 0, to: order.count, by: size).map { start in
            let indices = Array(order[start ..< Swift.min(start + size, order.count)])
            var width = preprocessor.batchWidth(for: indices.map { images[$0] })
            let bucket = Swift.max(1, options.widthBucket)
            width = (width + bucket - 1) / bucket * bucket
            return (indices, Swift.min(width, Swift.max(options.maxWidth, preprocessor.minWidth)))
        }
    }

    /// The text of each single-line image (`prompt` is ignored), with ``options``.
    public func recognize(_ images: [RGBImage], prompt: String?) throws -> [String] {
        try recognize(images, options: options).map(\.text)
    }

    /// Recognizes single-line images.
    public func recognize(_ images: [RGBImage], options: RecognitionOptions) throws -> [CTCResult] {
        var results = [CTCResult?](repeating: nil, count: images.count)
        for batch in batches(images, options: options) {
            let pixels = preprocessor.batch(batch.indices.map { images[$0] }, width: batch.width)
            let decoded: [CTCResult]
            if case .greedy = options.decoder.method, options.decoder.allowedClasses(dictionary) == nil {
                let best = try bestClasses(pixels)
                decoded = try withEngineErrors {
                    CTCDecoding.decode(bestClasses: best.classes, bestProbabilities: best.probabilities, dictionary: dictionary)
                }
            } else {
                let probabilities = try probabilities(pixels)
                decoded = try withEngineErrors {
                    CTCDecoding.decode(probabilities: probabilities, dictionary: dictionary, decoder: options.decoder)
                }
            }
            for (i, result) in zip(batch.indices, decoded) {
                // CTC emits visual (left-to-right) order; right-to-left text goes back to logical order.
                var r = result
                if VisualOrder.hasRightToLeft(r.text) {
                    r.text = VisualOrder.reordered(r.text, rightToLeft: VisualOrder.isRightToLeftParagraph(visual: r.text))
                }
                results[i] = r
            }
        }
        return results.map { $0! }
    }
}
