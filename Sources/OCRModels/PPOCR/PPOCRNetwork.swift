// What the PP-OCR text recognizer, its training surface and its import share across
// generations: PP-OCRv4/v5 (`PPOCRRecognizer`: PPLCNetV3 + SVTR neck) and PP-OCRv6
// (`PPOCRV6Recognizer`: PP-LCNetV4 + SVTR neck with residual fusion). Both keep transformers'
// layout: `model.backbone` → avg-pool → `head.encoder` (the neck) → `head.head` (CTC classifier).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Network

public protocol PPOCRNetwork: Module {
    /// config.json's `model_type`.
    var modelType: String { get }
    /// Output classes, the CTC blank included.
    var classCount: Int { get }
    /// Input height, narrowest batch width, and whether channels are BGR (PaddleOCR's preprocessing).
    var inputHeight: Int { get }
    var inputMinWidth: Int { get }
    var inputBGR: Bool { get }
    /// `model`: the backbone's container (frozen as a group; its BatchNorms decide eval mode).
    var backboneModule: Module { get }
    /// The CTC classifier (`head.head`).
    var classifier: Linear { get }
    /// Whether the neck's transformer blocks recompute activations in the backward pass.
    var gradientCheckpointing: Bool { get set }

    /// Logits [N, T, classes] of a preprocessed batch [N, H, W, 3].
    func callAsFunction(_ pixels: MLXArray) -> MLXArray
    /// The backbone's pooled features [N, 1, T, C] (what the neck reads).
    func pooledFeatures(_ pixels: MLXArray) -> MLXArray
    /// The neck's output [N, T, hidden] (what the classifier reads).
    func neck(_ features: MLXArray) -> MLXArray
    /// CTC steps for an input of width `width`.
    func steps(forWidth width: Int) -> Int
    /// A new network of the same configuration with `classCount` classes (weights initialized fresh).
    func makeEmpty(classCount: Int) -> any PPOCRNetwork
    /// config.json of this network.
    func encodedConfig() throws -> Data
}

extension PPOCRNetwork {
    /// Class probabilities [N, T, classes] (what PaddleOCR's exported graphs output).
    public func probabilities(_ pixels: MLXArray) -> MLXArray {
        softmax(self(pixels), axis: -1, precise: true)
    }
}

// MARK: - Shared pieces

/// `avg_pool2d(kernel = stride = [kh, kw])` of a channels-last map (the remainder cropped).
public func ppocrAveragePool(_ x: MLXArray, kernel: [Int]) -> MLXArray {
    let (kh, kw) = (kernel[0], kernel[1])
    let (n, h, w, c) = (x.dim(0), x.dim(1), x.dim(2), x.dim(3))
    let (ho, wo) = (h / kh, w / kw)
    precondition(ho > 0 && wo > 0, "PP-OCR: the input is too small (feature map \(h)×\(w))")
    let cropped = ho * kh == h && wo * kw == w ? x : x.sliced(start: [0, 0, 0, 0], stop: [n, ho * kh, wo * kw, c])
    return cropped.reshaped(n, ho, kh, wo, kw, c).mean(axes: [2, 4])
}

/// The CTC classifier over neck features [N, T, D] → logits [N, T, classes]. A plain Linear with
/// ocrtune's kernels splits its rows over the cores (the product and bias are `Linear`'s, bit for bit).
public func ppocrClassify(_ features: MLXArray, _ classifier: Linear) -> MLXArray {
    if DepthwiseConv2d.kernel == .ocrtune, type(of: classifier) == Linear.self, let bias = classifier.bias {
        let (n, w) = (features.dim(0), features.dim(1))
        let logits = matmulAffineActivation(
            features.reshaped(n * w, -1), classifier.weight, bias: bias, preScale: nil, preBias: nil, activation: .identity)
        return logits.reshaped(n, w, -1)
    }
    return classifier(features)
}
