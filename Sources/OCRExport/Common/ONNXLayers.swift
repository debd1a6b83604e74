// MLXNN's layers as ONNX nodes: each composition computes what the layer's forward pass does
// (channels-last convolution weights turned to ONNX's [out, in, kh, kw]; Linear as MatMul with
// the transposed weight, then the bias), named after the checkpoint key of the layer.
//
// Reference: MLXNN (Layers/*.swift), ONNX Operators.md (opset 17: LayerNormalization,
// HardSwish, HardSigmoid, Erf).

import Foundation
import MLXEngine
import MLXNN

extension ONNXGraphBuilder {
    // MARK: Dense layers

    /// `x Wᵀ + b` over the last axis.
    public func linear(_ x: String, _ layer: Linear, key: String) -> String {
        let y: String
        switch linearQuantization {
        case .none: y = node("MatMul", [x, weight("\(key).weight", layer.weight.T)], name: "\(key)/MatMul")
        case .int8, .uint8: y = integerMatMul(x, layer.weight, key: key, signed: linearQuantization == .int8)
        case .q4: y = matMul4(x, layer.weight, key: key)
        }
        guard let bias = layer.bias else { return y }
        return node("Add", [y, weight("\(key).bias", bias)], name: "\(key)/Add")
    }

    /// `x Wᵀ` with 8-bit weights per output column and activations quantized per call.
    func integerMatMul(_ x: String, _ w: MLXArray, key: String, signed: Bool) -> String {
        let q = Quantizers.columns(w.T, signed: signed)
        let type: Int32 = signed ? 3 : 2
        let values = rawInitializer("\(key).weight_quantized", type: type, dims: q.values.shape, data: Data(q.values.bytes()))
        let zero = rawInitializer("\(key).weight_zero_point", type: type, dims: [w.dim(0)], data: Data(q.zeroPoints.bytes()))
        let scales = floatInitializer("\(key).weight_scale", q.scales)
        let a = nodes("DynamicQuantizeLinear", [x], name: "\(key)/DynamicQuantizeLinear", outputs: 3)
        let product = node("MatMulInteger", [a[0], values, a[2], zero], name: "\(key)/MatMulInteger")
        let float = node("Cast", [product], name: "\(key)/Cast", attributes: [.int("to", 1)])
        let scale = node("Mul", [a[1], scales], name: "\(key)/Scale")
        return node("Mul", [float, scale], name: "\(key)/Dequantize")
    }

    /// `x Wᵀ` with MatMulNBits' 4-bit blocks.
    func matMul4(_ x: String, _ w: MLXArray, key: String) -> String {
        use(domain: "com.microsoft", version: 1)
        let (n, k) = (w.dim(0), w.dim(1))
        let (packed, scales) = Quantizers.blocks4(w)
        let b = rawInitializer("\(key).weight_q4", type: 2, dims: packed.shape, data: Data(packed.bytes()))
        let s = floatInitializer("\(key).weight_scales", scales)
        return node(
            "MatMulNBits", [x, b, s], name: "\(key)/MatMulNBits",
            attributes: [.int("K", k), .int("N", n), .int("bits", 4), .int("block_size", Quantizers.nbitsBlockSize)],
            domain: "com.microsoft")
    }

    /// LayerNormalization over the last axis (a missing scale or shift is 1 or 0).
    public func layerNorm(_ x: String, _ layer: LayerNorm, key: String, dimensions: Int) -> String {
        layerNorm(x, weight: layer.weight ?? ones([dimensions]), bias: layer.bias ?? zeros([dimensions]), eps: layer.eps, key: key)
    }

    /// LayerNormalization over the last axis with these parameters.
    public func layerNorm(_ x: String, weight scale: MLXArray, bias shift: MLXArray, eps: Float, key: String) -> String {
        node(
            "LayerNormalization", [x, weight("\(key).weight", scale), weight("\(key).bias", shift)], name: "\(key)/LayerNormalization",
            attributes: [.int("axis", -1), .float("epsilon", eps)])
    }

    // MARK: Convolutions (NCHW)

    /// A 2-D convolution of an NCHW tensor with an MLXNN `Conv2d` (weights [out, kh, kw, in/groups]).
    public func conv2d(_ x: String, _ conv: Conv2d, key: String) -> String {
        let w = weight("\(key).weight", conv.weight.transposed(0, 3, 1, 2))
        var inputs = [x, w]
        if let bias = conv.bias { inputs.append(weight("\(key).bias", bias)) }
        let (kh, kw) = (conv.weight.dim(1), conv.weight.dim(2))
        return node(
            "Conv", inputs, name: "\(key)/Conv",
            attributes: [
                .ints("kernel_shape", [kh, kw]), .ints("strides", [conv.stride.0, conv.stride.1]),
                .ints("pads", [conv.padding.0, conv.padding.1, conv.padding.0, conv.padding.1]),
                .ints("dilations", [conv.dilation.0, conv.dilation.1]), .int("group", conv.groups),
            ])
    }

    /// BatchNormalization with the running statistics (inference).
    public func batchNorm(_ x: String, _ norm: BatchNorm, key: String) -> String {
        let c = norm.runningMean.dim(0)
        return node(
            "BatchNormalization",
            [
                x, weight("\(key).weight", norm.weight ?? ones([c])), weight("\(key).bias", norm.bias ?? zeros([c])),
                weight("\(key).running_mean", norm.runningMean), weight("\(key).running_var", norm.runningVar),
            ], name: "\(key)/BatchNormalization", attributes: [.float("epsilon", norm.eps)])
    }

    // MARK: Element-wise

    /// `x · scale + bias` with scalar tensors.
    public func affine(_ x: String, scale: MLXArray, bias: MLXArray, key: String) -> String {
        let y = node("Mul", [x, weight("\(key).scale", scale)], name: "\(key)/Mul")
        return node("Add", [y, weight("\(key).bias", bias)], name: "\(key)/Add")
    }

    /// An activation as ONNX computes it (SiLU and GELU composed: opset 17 has neither).
    public func activation(_ x: String, _ activation: Activation, name: String) -> String {
        switch activation {
        case .identity:
            return x
        case .relu:
            return node("Relu", [x], name: "\(name)/Relu")
        case .hardSwish:
            return node("HardSwish", [x], name: "\(name)/HardSwish")
        case .tanh:
            return node("Tanh", [x], name: "\(name)/Tanh")
        case .silu:
            return node("Mul", [x, node("Sigmoid", [x], name: "\(name)/Sigmoid")], name: "\(name)/Mul")
        case .quickGELU:
            let s = node("Sigmoid", [node("Mul", [x, scalar(1.702)], name: "\(name)/Scale")], name: "\(name)/Sigmoid")
            return node("Mul", [x, s], name: "\(name)/Mul")
        case .gelu:
            // x · (1 + erf(x / √2)) · 0.5, as MLXNN.gelu.
            let e = node("Erf", [node("Mul", [x, scalar(Float(1 / 2.0.squareRoot()))], name: "\(name)/Div")], name: "\(name)/Erf")
            let y = node("Mul", [x, node("Add", [e, scalar(1)], name: "\(name)/Add")], name: "\(name)/Mul")
            return node("Mul", [y, scalar(0.5)], name: "\(name)/Half")
        case .geluTanh:
            // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³))).
            let cube = node("Mul", [node("Mul", [x, x], name: "\(name)/Square"), x], name: "\(name)/Cube")
            let inner = node("Add", [x, node("Mul", [cube, scalar(0.044715)], name: "\(name)/Cubic")], name: "\(name)/Inner")
            let t = node("Tanh", [node("Mul", [inner, scalar(Float((2 / Double.pi).squareRoot()))], name: "\(name)/Scale")], name: "\(name)/Tanh")
            let y = node("Mul", [x, node("Add", [t, scalar(1)], name: "\(name)/Add")], name: "\(name)/Mul")
            return node("Mul", [y, scalar(0.5)], name: "\(name)/Half")
        }
    }

    // MARK: Attention

    /// `softmax(q kᵀ · scale + mask) v` for q [B, H, L, d], k and v [B, H, S, d]; `mask` adds to the scores.
    public func attention(q: String, k: String, v: String, scale: Float, mask: String? = nil, name: String) -> String {
        let kT = node("Transpose", [k], name: "\(name)/TransposeK", attributes: [.ints("perm", [0, 1, 3, 2])])
        var scores = node("Mul", [node("MatMul", [q, kT], name: "\(name)/Scores"), scalar(scale)], name: "\(name)/Scale")
        if let mask { scores = node("Add", [scores, mask], name: "\(name)/Mask") }
        let p = node("Softmax", [scores], name: "\(name)/Softmax", attributes: [.int("axis", -1)])
        return node("MatMul", [p, v], name: "\(name)/Context")
    }

    /// [B, L, heads·d] → [B, heads, L, d].
    public func splitHeads(_ x: String, heads: Int, name: String) -> String {
        let r = node("Reshape", [x, int64s([0, 0, Int64(heads), -1])], name: "\(name)/Reshape")
        return node("Transpose", [r], name: "\(name)/Transpose", attributes: [.ints("perm", [0, 2, 1, 3])])
    }

    /// [B, heads, L, d] → [B, L, heads·d].
    public func mergeHeads(_ x: String, name: String) -> String {
        let t = node("Transpose", [x], name: "\(name)/Transpose", attributes: [.ints("perm", [0, 2, 1, 3])])
        return node("Reshape", [t, int64s([0, 0, -1])], name: "\(name)/Reshape")
    }
}
