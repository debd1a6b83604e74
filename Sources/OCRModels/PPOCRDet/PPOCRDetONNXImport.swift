// Import of PaddleOCR's exported PP-OCRv6 DB detector (rapidocr 3.10's PP-OCRv6_det_small.onnx)
// into a model folder with transformers' `pp_ocrv6_small_det` parameter names.
//
// Convolutions in forward order: PP-LCNetV4 (FoldedWeights.lcnetV4), then the neck's four
// `insert_conv` (1×1 + SE pair) and four `input_conv` (depthwise + 1×1 + SE pair) — paddle2onnx
// writes both from the coarsest stage down, torch.onnx from the finest up; the insert convs' input
// channels say which — then the head's 3×3 conv_down, and two 2×2 stride-2 ConvTranspose nodes.
// Reference: transformers pp_ocrv6_small_det (names), PaddleOCR's PP-OCRv6 det export.

import Foundation
import MLXEngine
import MLXNN
import ONNXProto

/// A PP-OCRv6 detector read from ONNX.
public struct PPOCRV6DetImport {
    public var config: PPOCRV6DetConfig
    public var weights: [String: MLXArray]

    /// The network with the imported weights, in evaluation mode (every key and shape verified).
    public func makeNetwork() throws -> PPOCRV6Detector {
        let network = PPOCRV6Detector(config: config)
        try network.update(parameters: weights, verify: .all, source: "imported ONNX weights")
        network.train(false)
        return network
    }

    /// Writes config.json and model.safetensors to `folder`, atomically.
    public func write(to folder: URL, overwrite: Bool = false, metadata: [String: String] = [:]) throws {
        let network = try makeNetwork()
        try ModelFolder.writeAtomically(to: folder, overwrite: overwrite) { tmp in
            try ModelFolder.encodeConfig(config).write(to: tmp.appendingPathComponent(ModelFolder.configFile))
            try network.saveParameters(
                to: tmp.appendingPathComponent(ModelFolder.weightsFile).path, metadata: ["format": "mlx"].merging(metadata) { $1 })
        }
    }

    public var summary: [String] {
        let b = config.backboneConfig
        return [
            "model_type   \(config.modelType)",
            "backbone     PP-LCNetV4 stem \(b.stemChannels), stages \(b.blockConfigs.map(\.count)) → \(config.layerListOutChannels)",
            "neck         RSE FPN, \(config.neckOutChannels) channels, \(config.dilatedKernelSize)×\(config.dilatedKernelSize) depthwise",
            "head         DB probability map (conv \(config.kernelList[0])×\(config.kernelList[0]), two 2×2 transposed convs)",
        ]
    }
}

public enum PPOCRDetONNXImporter {
    /// Whether the ONNX file is a DB detector (transposed convolutions, no MatMul with weights).
    public static func isDetector(onnxPath: String) throws -> Bool {
        let graph = try ONNXGraph(path: onnxPath)
        return graph.nodes.contains { $0.opType == "ConvTranspose" }
            && !graph.nodes.contains { $0.opType == "MatMul" && $0.input.count == 2 && graph.isConstant($0.input[1]) }
    }

    public static func load(onnxPath: String) throws -> PPOCRV6DetImport {
        let graph = try ONNXGraph(path: onnxPath)
        return try load(graph: graph)
    }

    public static func load(graph: ONNXGraph) throws -> PPOCRV6DetImport {
        let roles = try GraphRoles(graph, sameConvPadding: false, requireLinears: false)
        var f = FoldedWeights(roles: roles, graph: graph)
        let convs = roles.convs
        let neckCount = 4 * 3 + 4 * 4
        guard convs.count > 5 + neckCount + 1 else {
            throw ONNXImportError("too few convolutions (\(convs.count)) for PP-LCNetV4 + the DB neck and head")
        }
        let backboneEnd = convs.count - neckCount - 1
        let backbone = try f.lcnetV4(convs[0 ..< backboneEnd], prefix: "model.backbone.encoder")
        let stageChannels = backbone.blockConfigs.map { $0.last!.outChannels }

        // Neck.
        var neck = convs[backboneEnd ..< convs.count - 1]
        var inserts: [(ConvRole, ConvRole, ConvRole)] = []
        for _ in 0 ..< 4 {
            let c = neck.popFirst()!, s1 = neck.popFirst()!, s2 = neck.popFirst()!
            guard f.isGlobalMean(s1.input), c.weight.dims.suffix(2) == [1, 1] else {
                throw ONNXImportError("\(c.node.label): expected a neck insert conv (1×1) followed by its SE pair")
            }
            inserts.append((c, s1, s2))
        }
        let coarseFirst = inserts[0].0.inChannels == stageChannels.last && stageChannels.first != stageChannels.last
        if coarseFirst { inserts.reverse() }
        guard inserts.map(\.0.inChannels) == stageChannels else {
            throw ONNXImportError("the neck reads \(inserts.map(\.0.inChannels)) channels, the backbone's stages give \(stageChannels)")
        }
        var inputs: [(ConvRole, ConvRole, ConvRole, ConvRole)] = []
        for _ in 0 ..< 4 {
            let dw = neck.popFirst()!, pw = neck.popFirst()!, s1 = neck.popFirst()!, s2 = neck.popFirst()!
            guard dw.group == dw.outChannels, dw.group > 1, f.isGlobalMean(s1.input) else {
                throw ONNXImportError("\(dw.node.label): expected a neck input conv (depthwise, 1×1, SE pair)")
            }
            inputs.append((dw, pw, s1, s2))
        }
        if coarseFirst { inputs.reverse() }
        for (i, (c, s1, s2)) in inserts.enumerated() {
            let key = "model.neck.insert_conv.\(i)"
            f.putConv(c, "\(key).in_conv", bias: false)
            f.putConv(s1, "\(key).squeeze_excitation_block.conv1")
            f.putConv(s2, "\(key).squeeze_excitation_block.conv2")
        }
        for (i, (dw, pw, s1, s2)) in inputs.enumerated() {
            let key = "model.neck.input_conv.\(i)"
            f.putConv(dw, "\(key).depthwise_convolution")
            f.putConv(pw, "\(key).pointwise_convolution", bias: false)
            f.putConv(s1, "\(key).squeeze_excitation_module.conv1")
            f.putConv(s2, "\(key).squeeze_excitation_module.conv2")
        }

        // Head.
        let down = convs.last!
        f.putConvLayer(down, "head.conv_down", norm: "norm")
        let transposed = try transposedConvs(graph)
        guard transposed.count == 2, transposed.allSatisfy({ $0.weight.dims.suffix(2) == [2, 2] && $0.stride == [2, 2] }) else {
            throw ONNXImportError("expected two 2×2 stride-2 ConvTranspose nodes in the DB head, found \(transposed.count)")
        }
        f.putConvLayer(transposed[0], "head.conv_up", norm: "norm", convBias: true, transposed: true)
        f.putConv(transposed[1], "head.conv_final", transposed: true)

        let neckOut = inserts[0].0.outChannels
        let config = PPOCRV6DetConfig(
            backboneConfig: backbone, reduction: neckOut / inserts[0].1.outChannels, neckOutChannels: neckOut,
            kernelList: [down.weight.dims[2], 2, 2], layerListOutChannels: stageChannels,
            dilatedKernelSize: inputs[0].0.weight.dims[2])
        return PPOCRV6DetImport(config: config, weights: f.weights.mapValues { contiguous($0) })
    }

    /// ConvTranspose nodes with constant weights [in, out, kh, kw] and their bias (an input or a following Add).
    static func transposedConvs(_ g: ONNXGraph) throws -> [ConvRole] {
        try g.nodes.filter { $0.opType == "ConvTranspose" }.map { node in
            guard node.input.count >= 2, let weight = g.constant(node.input[1]), weight.dims.count == 4 else {
                throw ONNXImportError("\(node.label): the weight is not a constant 4-D tensor")
            }
            var bias = node.input.count > 2 ? g.constant(node.input[2]) : nil
            var output = node.output[0]
            var users = g.consumerNodes(of: output)
            // paddle2onnx renames outputs through Identity nodes.
            while users.count == 1, users[0].opType == "Identity", let next = users[0].output.first {
                output = next
                users = g.consumerNodes(of: output)
            }
            if bias == nil, users.count == 1, users[0].opType == "Add", let c = g.constantInputs(of: users[0]).first,
                c.count == weight.dims[1]
            {
                bias = c
                output = users[0].output[0]
            }
            if let pads = node.ints("pads"), pads.contains(where: { $0 != 0 }) {
                throw ONNXImportError("\(node.label): padded transposed convolutions are not supported")
            }
            return ConvRole(
                node: node, weight: weight, bias: bias, stride: node.ints("strides") ?? [1, 1], group: node.int("group") ?? 1,
                input: node.input[0], output: output)
        }
    }
}
