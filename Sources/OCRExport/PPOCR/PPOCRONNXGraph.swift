// The PP-OCR recognizer network as an ONNX graph, written from ocrtune's module tree
// (PPOCRNetwork): PPLCNetV3 → AveragePool (3, 2) → SVTR neck → CTC head → softmax, as
// PaddleOCR's exported inference graphs are consumed: input `x` [N, 3, 48, W] (NCHW, BGR,
// (v/255 − 0.5)/0.5; N and W dynamic), output probabilities [N, W/8, classes]. Any head size
// exports (vocabulary-extended heads too); the classes are put in PaddleOCR's order (see
// PaddleClassOrder).
//
// Reference: PaddleOCR ppocr/modeling/backbones/rec_lcnetv3.py, necks/rnn.py (EncoderWithSVTR),
// heads/rec_ctc_head.py; tools/export_model.py (the inference graph's input and softmax output).

import Foundation
import MLXEngine
import MLXNN
import OCRModels
import ONNXProto

enum PPOCRONNXGraph {
    /// The output's name, as PaddleOCR's PP-OCRv5 export names it.
    static let outputName = "fetch_name_0"

    /// The graph of `network` with its classes in `order`, the dictionary in the `character` entry.
    static func model(_ network: PPOCRV5Network, order: PaddleClassOrder, storage: ONNXWeightStorage) -> Onnx_ModelProto {
        let g = ONNXGraphBuilder(name: "ppocr_rec", storage: storage)
        let config = network.config
        g.input("x", .float, [.named("batch_size"), .fixed(3), .fixed(config.imageHeight), .named("width")])
        let h = pooled(g, backbone(g, network.model.backbone, input: "x"), kernel: config.poolKernelSize)
        let features = neck(g, network.head.encoder, input: h, config: config)
        return classified(g, features, network.head.classifier, order: order, docString: "PP-OCR text recognizer exported by ocrtune")
    }

    /// The backbone's map average-pooled (kernel = stride, PaddleOCR's (3, 2)).
    static func pooled(_ g: ONNXGraphBuilder, _ h: String, kernel: [Int]) -> String {
        g.node("AveragePool", [h], name: "model/AveragePool", attributes: [.ints("kernel_shape", kernel), .ints("strides", kernel)])
    }

    /// The CTC head on the neck's [N, T, hidden] (classes in `order`), the softmax output, the
    /// model with the dictionary as its `character` entry.
    static func classified(
        _ g: ONNXGraphBuilder, _ features: String, _ classifier: Linear, order: PaddleClassOrder, docString: String
    ) -> Onnx_ModelProto {
        let reordered = Linear(weight: order.rows(of: classifier.weight), bias: classifier.bias.map { order.rows(of: $0) })
        let logits = g.linear(features, reordered, key: "head.head")
        let probabilities = g.node("Softmax", [logits], name: "head/Softmax", attributes: [.int("axis", -1)])
        g.output(probabilities, as: outputName, .float, [.named("batch_size"), .named("steps"), .fixed(order.order.count)])
        return g.model(metadata: [("character", order.characters.joined(separator: "\n"))], docString: docString)
    }

    // MARK: Backbone

    static func backbone(_ g: ONNXGraphBuilder, _ backbone: PPLCNetV3Backbone, input: String) -> String {
        let prefix = "model.backbone.encoder"
        var h = convLayer(g, backbone.encoder.stem, key: "\(prefix).convolution", input: input)
        for (i, stage) in backbone.encoder.blocks.enumerated() {
            for (j, block) in stage.layers.enumerated() {
                let key = "\(prefix).blocks.\(i).layers.\(j)"
                h = repLayer(g, block.depthwise, key: "\(key).depthwise_convolution", input: h)
                if let se = block.squeezeExcitation { h = squeezeExcitation(g, se, key: "\(key).squeeze_excitation_module", input: h) }
                h = repLayer(g, block.pointwise, key: "\(key).pointwise_convolution", input: h)
            }
        }
        return h
    }

    /// Conv → BatchNorm → activation.
    static func convLayer(_ g: ONNXGraphBuilder, _ layer: PPOCRConvLayer, key: String, input: String) -> String {
        let c = g.conv2d(input, layer.convolution, key: "\(key).convolution")
        let n = g.batchNorm(c, layer.normalization, key: "\(key).normalization")
        return g.activation(n, layer.activation, name: key)
    }

    /// reparam_conv → lab → activation → act.lab.
    static func repLayer(_ g: ONNXGraphBuilder, _ layer: PPLCNetV3RepLayer, key: String, input: String) -> String {
        let c = g.conv2d(input, layer.conv, key: "\(key).reparam_conv")
        let y = g.affine(c, scale: layer.lab.scale, bias: layer.lab.bias, key: "\(key).lab")
        guard layer.appliesActivation else { return y }
        let a = g.activation(y, layer.act.activation, name: "\(key).act")
        return g.affine(a, scale: layer.act.lab.scale, bias: layer.act.lab.bias, key: "\(key).act.lab")
    }

    /// GlobalAveragePool → 1×1 conv → ReLU → 1×1 conv → HardSigmoid → scale the input.
    static func squeezeExcitation(_ g: ONNXGraphBuilder, _ se: PPLCNetV3SqueezeExcitation, key: String, input: String) -> String {
        var s = g.node("GlobalAveragePool", [input], name: "\(key)/GlobalAveragePool")
        for (i, layer) in se.convolutions.enumerated() {
            switch layer {
            case let conv as Conv2d: s = g.conv2d(s, conv, key: "\(key).convolutions.\(i)")
            case is ReLU: s = g.node("Relu", [s], name: "\(key).convolutions.\(i)/Relu")
            case let hard as HardSigmoid:
                s = g.node(
                    "HardSigmoid", [s], name: "\(key).convolutions.\(i)/HardSigmoid",
                    attributes: [.float("alpha", Float(hard.slope)), .float("beta", Float(hard.offset))])
            default: preconditionFailure("PP-OCR export: unexpected layer \(type(of: layer)) in \(key)")
            }
        }
        return g.node("Mul", [input, s], name: "\(key)/Mul")
    }

    // MARK: Neck

    /// `head.encoder`: NCHW [N, C, 1, W'] in, [N, W', hidden] out.
    static func neck(_ g: ONNXGraphBuilder, _ encoder: SVTREncoder, input: String, config: PPOCRRecognizerConfig) -> String {
        let key = "head.encoder"
        var h = convLayer(g, encoder.conv_block[0], key: "\(key).conv_block.0", input: input)
        h = convLayer(g, encoder.conv_block[1], key: "\(key).conv_block.1", input: h)
        // [N, C, H, W] → [N, H·W, C]
        let shape = g.node("Shape", [h], name: "\(key)/Shape")
        let flat = g.node("Reshape", [h, g.int64s([0, 0, -1])], name: "\(key)/Flatten")
        var tokens = g.node("Transpose", [flat], name: "\(key)/ToTokens", attributes: [.ints("perm", [0, 2, 1])])
        for (i, block) in encoder.svtr_block.enumerated() {
            tokens = svtrBlock(g, block, key: "\(key).svtr_block.\(i)", input: tokens, dimensions: config.hiddenSize)
        }
        tokens = g.layerNorm(tokens, encoder.norm, key: "\(key).norm", dimensions: config.hiddenSize)
        // [N, H·W, C] → [N, C, H, W]
        let back = g.node("Transpose", [tokens], name: "\(key)/FromTokens", attributes: [.ints("perm", [0, 2, 1])])
        h = g.node("Reshape", [back, shape], name: "\(key)/Unflatten")
        h = convLayer(g, encoder.conv_block[2], key: "\(key).conv_block.2", input: h)
        h = g.node("Concat", [input, h], name: "\(key)/Concat", attributes: [.int("axis", 1)])
        h = convLayer(g, encoder.conv_block[3], key: "\(key).conv_block.3", input: h)
        h = convLayer(g, encoder.conv_block[4], key: "\(key).conv_block.4", input: h)
        // [N, C, 1, W'] → [N, W', C]
        let squeezed = g.node("Squeeze", [h, g.int64s([2])], name: "\(key)/Squeeze")
        return g.node("Transpose", [squeezed], name: "\(key)/ToSteps", attributes: [.ints("perm", [0, 2, 1])])
    }

    /// Pre-norm block: x + attention(LN(x)), then + MLP(LN(·)).
    static func svtrBlock(_ g: ONNXGraphBuilder, _ block: SVTRBlock, key: String, input: String, dimensions d: Int) -> String {
        let attention = block.attention
        let n1 = g.layerNorm(input, block.norm1, key: "\(key).layer_norm1", dimensions: d)
        let qkv = g.linear(n1, attention.qkv, key: "\(key).self_attn.qkv")
        // [B, L, 3·D] → [3, B, heads, L, d]
        let split = g.node("Reshape", [qkv, g.int64s([0, 0, 3, Int64(attention.heads), -1])], name: "\(key).self_attn/SplitQKV")
        let parts = g.node("Transpose", [split], name: "\(key).self_attn/Heads", attributes: [.ints("perm", [2, 0, 3, 1, 4])])
        let (q, k, v) = (0 ..< 3).map { i in
            g.node("Gather", [parts, g.int64s([Int64(i)], scalar: true)], name: "\(key).self_attn/Gather\(i)", attributes: [.int("axis", 0)])
        }.tuple3
        let context = g.attention(q: q, k: k, v: v, scale: attention.scale, name: "\(key).self_attn")
        let merged = g.mergeHeads(context, name: "\(key).self_attn/Merge")
        let h = g.node("Add", [input, g.linear(merged, attention.projection, key: "\(key).self_attn.projection")], name: "\(key)/Residual1")
        let n2 = g.layerNorm(h, block.norm2, key: "\(key).layer_norm2", dimensions: d)
        let hidden = g.activation(g.linear(n2, block.mlp.fc1, key: "\(key).mlp.fc1"), block.mlp.activation, name: "\(key).mlp.act")
        return g.node("Add", [h, g.linear(hidden, block.mlp.fc2, key: "\(key).mlp.fc2")], name: "\(key)/Residual2")
    }
}

extension Array {
    /// The first three elements as a tuple.
    fileprivate var tuple3: (Element, Element, Element) { (self[0], self[1], self[2]) }
}
