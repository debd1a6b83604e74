// The PP-OCRv6 recognizer network as an ONNX graph, written from ocrtune's module tree
// (PPOCRV6Network): PP-LCNetV4 → AveragePool (3, 2) → SVTR neck with residual fusion → CTC head →
// softmax. Input and output as PPOCRONNXGraph's v4/v5 graph (`x` [N, 3, 48, W] NCHW BGR,
// probabilities [N, W/8, classes] in PaddleOCR's class order, the dictionary as `character`), so
// RapidOCR and PaddleX read it as they read rapidocr's own PP-OCRv6_rec_small.onnx.
//
// Reference: transformers/models/pp_lcnet_v4/modeling_pp_lcnet_v4.py (large stem, depthwise-
// separable blocks) and pp_ocrv6_small_rec/modeling_pp_ocrv6_small_rec.py (neck), as ported in
// OCRModels/PPOCR/PPLCNetV4.swift and PPOCRV6Network.swift.

import Foundation
import MLXEngine
import MLXNN
import OCRModels
import ONNXProto

extension PPOCRONNXGraph {
    /// The graph of `network` with its classes in `order`, the dictionary in the `character` entry.
    static func model(_ network: PPOCRV6Network, order: PaddleClassOrder, storage: ONNXWeightStorage) -> Onnx_ModelProto {
        let g = ONNXGraphBuilder(name: "ppocr_rec", storage: storage)
        g.input("x", .float, [.named("batch_size"), .fixed(3), .fixed(PPOCRV6RecognizerConfig.imageHeight), .named("width")])
        let h = pooled(g, v6Backbone(g, network.model.backbone, input: "x"), kernel: PPOCRV6RecognizerConfig.poolKernelSize)
        let features = v6Neck(g, network.head.encoder, input: h, hidden: network.config.hiddenSize)
        return classified(g, features, network.head.classifier, order: order, docString: "PP-OCRv6 text recognizer exported by ocrtune")
    }

    // MARK: Backbone

    static func v6Backbone(_ g: ONNXGraphBuilder, _ backbone: PPLCNetV4Backbone, input: String) -> String {
        let prefix = "model.backbone.encoder"
        var h = largeStem(g, backbone.encoder.stem, key: "\(prefix).convolution", input: input)
        for (i, stage) in backbone.encoder.blocks.enumerated() {
            for (j, block) in stage.blocks.enumerated() {
                h = depthwiseSeparable(g, block, key: "\(prefix).blocks.\(i).blocks.\(j)", input: h)
            }
        }
        return h
    }

    /// Conv (no bias) → BatchNorm → activation (`PPLCNetV4ConvLayer`).
    static func v4ConvLayer(_ g: ONNXGraphBuilder, _ layer: PPLCNetV4ConvLayer, key: String, input: String) -> String {
        let c = g.conv2d(input, layer.convolution, key: "\(key).convolution")
        let n = g.batchNorm(c, layer.normalization, key: "\(key).normalization")
        return g.activation(n, layer.activation, name: key)
    }

    /// One zero row at the bottom and one zero column at the right of an NCHW map (F.pad(x, (0, 1, 0, 1))).
    static func padBottomRight(_ g: ONNXGraphBuilder, _ x: String, name: String) -> String {
        g.node("Pad", [x, g.int64s([0, 0, 0, 0, 0, 0, 1, 1])], name: "\(name)/Pad", attributes: [.string("mode", "constant")])
    }

    /// stem1 → pad → (stem2a → pad → stem2b) beside a 2×2 max pool (stride 1) → concat → stem3 → stem4.
    static func largeStem(_ g: ONNXGraphBuilder, _ stem: PPLCNetV4LargeStem, key: String, input: String) -> String {
        let embedding = padBottomRight(g, v4ConvLayer(g, stem.stem1, key: "\(key).stem1", input: input), name: "\(key).stem1")
        let a = padBottomRight(g, v4ConvLayer(g, stem.stem2a, key: "\(key).stem2a", input: embedding), name: "\(key).stem2a")
        let branch = v4ConvLayer(g, stem.stem2b, key: "\(key).stem2b", input: a)
        let pooled = g.node(
            "MaxPool", [embedding], name: "\(key)/MaxPool", attributes: [.ints("kernel_shape", [2, 2]), .ints("strides", [1, 1])])
        let joined = g.node("Concat", [pooled, branch], name: "\(key)/Concat", attributes: [.int("axis", 1)])
        return v4ConvLayer(g, stem.stem4, key: "\(key).stem4", input: v4ConvLayer(g, stem.stem3, key: "\(key).stem3", input: joined))
    }

    /// Token conv (a biased depthwise conv, or a conv layer where the block changes shape), optional
    /// squeeze-and-excitation, channel MLP (1×1 → GELU → 1×1), the residual where the shape is kept.
    static func depthwiseSeparable(_ g: ONNXGraphBuilder, _ block: PPLCNetV4DepthwiseSeparable, key: String, input: String) -> String {
        var h: String
        switch block.tokenConv {
        case let conv as Conv2d: h = g.conv2d(input, conv, key: "\(key).token_conv")
        case let layer as PPLCNetV4ConvLayer: h = v4ConvLayer(g, layer, key: "\(key).token_conv", input: input)
        default: preconditionFailure("PP-OCRv6 export: unexpected token conv \(type(of: block.tokenConv)) in \(key)")
        }
        if let se = block.squeezeExcitation { h = squeezeExcitation(g, se, key: "\(key).token_squeeze_excitation", input: h) }
        let y = v4ConvLayer(g, block.channelConv2, key: "\(key).channel_conv2", input: v4ConvLayer(g, block.channelConv1, key: "\(key).channel_conv1", input: h))
        return block.hasResidual ? g.node("Add", [h, y], name: "\(key)/Residual") : y
    }

    // MARK: Neck

    /// `head.encoder`: NCHW [N, C, 1, W'] in, [N, W', hidden] out.
    static func v6Neck(_ g: ONNXGraphBuilder, _ encoder: SVTRV6Encoder, input: String, hidden: Int) -> String {
        let key = "head.encoder"
        let residual = convLayer(g, encoder.conv_block[0], key: "\(key).conv_block.0", input: input)
        var h = convLayer(g, encoder.conv_block[1], key: "\(key).conv_block.1", input: input)
        h = g.node("Add", [h, convLayer(g, encoder.conv_block[2], key: "\(key).conv_block.2", input: h)], name: "\(key)/LocalAdd")
        // [N, C, H, W] → [N, H·W, C]
        let shape = g.node("Shape", [h], name: "\(key)/Shape")
        let flat = g.node("Reshape", [h, g.int64s([0, 0, -1])], name: "\(key)/Flatten")
        var tokens = g.node("Transpose", [flat], name: "\(key)/ToTokens", attributes: [.ints("perm", [0, 2, 1])])
        for (i, block) in encoder.svtr_block.enumerated() {
            tokens = svtrBlock(g, block, key: "\(key).svtr_block.\(i)", input: tokens, dimensions: hidden)
        }
        tokens = g.layerNorm(tokens, encoder.norm, key: "\(key).norm", dimensions: hidden)
        // [N, H·W, C] → [N, C, H, W], plus the residual
        let back = g.node("Transpose", [tokens], name: "\(key)/FromTokens", attributes: [.ints("perm", [0, 2, 1])])
        h = g.node("Add", [g.node("Reshape", [back, shape], name: "\(key)/Unflatten"), residual], name: "\(key)/Residual")
        // [N, C, 1, W'] → [N, W', C]
        let squeezed = g.node("Squeeze", [h, g.int64s([2])], name: "\(key)/Squeeze")
        return g.node("Transpose", [squeezed], name: "\(key)/ToSteps", attributes: [.ints("perm", [0, 2, 1])])
    }
}
