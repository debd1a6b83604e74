// The weight-carrying roles a PP-OCR ONNX import reads from a graph (convolutions with their
// biases, BatchNormalizations, MatMuls, LayerNorm patterns, learnable affines, pooling), found by
// role, not by node name. Apart from the engine so that Fuzz/onnx can compile it with ONNXGraph
// alone. Reference: PaddleOCR rec_lcnetv3.py / necks/rnn.py (the layers), the ONNX operator docs.

import Foundation
import ONNXProto

// MARK: - Roles found in the graph

struct ConvRole {
    let node: Onnx_NodeProto
    let weight: ONNXConstant
    let bias: ONNXConstant?
    let stride: [Int]
    let group: Int
    let input: String
    /// The output after the bias (the Add's output when the bias is a separate node).
    let output: String
    var outChannels: Int { weight.dims[0] }
    var inChannels: Int { weight.dims[1] * group }
}

struct BatchNormRole {
    let node: Onnx_NodeProto
    let scale, shift, mean, variance: ONNXConstant
    let eps: Float
    let input: String
}

struct LinearRole {
    let node: Onnx_NodeProto
    /// [in, out] as ONNX MatMul holds it.
    let weight: ONNXConstant
    let bias: ONNXConstant?
}

struct LayerNormRole {
    let node: Onnx_NodeProto
    let scale, shift: ONNXConstant
    let eps: Float
}

struct AffineRole {
    let node: Onnx_NodeProto
    let scale, bias: Float
}

/// The graph's weight-carrying nodes by role, in graph order.
struct GraphRoles {
    var convs: [ConvRole] = []
    var norms: [BatchNormRole] = []
    var linears: [LinearRole] = []
    var layerNorms: [LayerNormRole] = []
    var affines: [AffineRole] = []
    var attentionScale: Float?
    var poolKernel: [Int]?

    /// `sameConvPadding`: require every convolution's padding to be the 'same' padding of its
    /// kernel (PP-OCRv4/v5); PP-OCRv6's stem pads its 2×2 convolutions by one at the end.
    /// `requireLinears`: a recognizer has MatMuls (the SVTR neck, the head); a detector has none.
    init(_ g: ONNXGraph, sameConvPadding: Bool = true, requireLinears: Bool = true) throws {
        /// The only consumer of `tensor` when it is `op` with a constant other input of `count` values.
        func constantConsumer(_ tensor: String, op: String, count: Int? = nil) -> (Onnx_NodeProto, ONNXConstant)? {
            let users = g.consumerNodes(of: tensor)
            guard users.count == 1, let user = users.first, user.opType == op, !user.output.isEmpty else { return nil }
            guard let c = g.constantInputs(of: user).first, g.dynamicInputs(of: user).count == 1 else { return nil }
            if let count, c.count != count { return nil }
            return (user, c)
        }
        for node in g.nodes {
            switch node.opType {
            case "Conv":
                guard node.input.count >= 2, let weight = g.constant(node.input[1]), weight.dims.count == 4 else {
                    throw ONNXImportError("\(node.label): the weight is not a constant 4-D tensor")
                }
                guard !node.output.isEmpty else { throw ONNXImportError("\(node.label): no output") }
                let out = weight.dims[0]
                let group = node.int("group") ?? 1
                guard group >= 1, out % group == 0, !weight.dims[1].multipliedReportingOverflow(by: group).overflow else {
                    throw ONNXImportError("\(node.label): group \(group) is not a positive divisor of the \(out) output channels")
                }
                var bias = node.input.count > 2 ? g.constant(node.input[2]) : nil
                var output = node.output[0]
                if bias == nil, let (add, c) = constantConsumer(output, op: "Add", count: out) {
                    bias = c
                    output = add.output[0]
                }
                if let d = node.ints("dilations"), d.contains(where: { $0 != 1 }) {
                    throw ONNXImportError("\(node.label): dilated convolutions are not supported")
                }
                let kernel = Array(weight.dims[2 ... 3])
                let pads = node.ints("pads") ?? [0, 0, 0, 0]
                guard !sameConvPadding || (pads.count == 4 && pads[0] == pads[2] && pads[1] == pads[3] && pads[0] == kernel[0] / 2 && pads[1] == kernel[1] / 2) else {
                    throw ONNXImportError("\(node.label): padding \(pads) is not the 'same' padding of a \(kernel) kernel")
                }
                convs.append(ConvRole(
                    node: node, weight: weight, bias: bias, stride: node.ints("strides") ?? [1, 1], group: group,
                    input: node.input[0], output: output))
            case "BatchNormalization":
                let c = node.input.dropFirst().compactMap { g.constant($0) }
                guard c.count == 4, !node.input[0].isEmpty else { throw ONNXImportError("\(node.label): parameters are not constants") }
                norms.append(BatchNormRole(
                    node: node, scale: c[0], shift: c[1], mean: c[2], variance: c[3], eps: node.float("epsilon") ?? 1e-5,
                    input: node.input[0]))
            case "MatMul":
                guard node.input.count == 2, !node.output.isEmpty, let weight = g.constant(node.input[1]) else { continue }
                guard weight.dims.count == 2 else { throw ONNXImportError("\(node.label): the weight is not 2-D (\(weight.dims))") }
                let bias = constantConsumer(node.output[0], op: "Add", count: weight.dims[1])?.1
                linears.append(LinearRole(node: node, weight: weight, bias: bias))
            case "Div":
                // LayerNorm: (x − mean) / sqrt(var + eps) · γ + β.
                guard node.input.count == 2, !node.output.isEmpty, let sqrt = g.producerNode(of: node.input[1]), sqrt.opType == "Sqrt",
                    let sqrtInput = sqrt.input.first, let epsAdd = g.producerNode(of: sqrtInput), epsAdd.opType == "Add",
                    let eps = g.constantInputs(of: epsAdd).first?.scalar
                else { continue }
                guard let (mul, gamma) = constantConsumer(node.output[0], op: "Mul"),
                    let (_, beta) = constantConsumer(mul.output[0], op: "Add", count: gamma.count)
                else { throw ONNXImportError("\(node.label): a normalization without constant scale and shift") }
                layerNorms.append(LayerNormRole(node: node, scale: gamma, shift: beta, eps: eps))
            case "Mul":
                guard !node.output.isEmpty, let c = g.constantInputs(of: node).first, let s = c.scalar, g.dynamicInputs(of: node).count == 1 else { continue }
                if let (_, b) = constantConsumer(node.output[0], op: "Add", count: 1) {
                    affines.append(AffineRole(node: node, scale: s, bias: b.floats[0]))
                } else if attentionScale == nil, !linears.isEmpty, s < 1 {
                    attentionScale = s
                }
            case "AveragePool":
                let k = node.ints("kernel_shape")
                guard k == node.ints("strides"), (node.ints("pads") ?? [0, 0, 0, 0]).allSatisfy({ $0 == 0 }) else {
                    throw ONNXImportError("\(node.label): only unpadded pooling with stride = kernel is supported")
                }
                poolKernel = k
            default:
                continue
            }
        }
        guard !convs.isEmpty, !norms.isEmpty || !sameConvPadding, !linears.isEmpty || !requireLinears else {
            throw ONNXImportError("the graph has no convolutions, BatchNorms or MatMuls with constant weights: not a PP-OCR recognizer")
        }
    }
}
