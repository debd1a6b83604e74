// Import of PaddleOCR's exported PP-OCRv4 / PP-OCRv5 mobile recognizers (paddle2onnx graphs whose
// weights are Constant nodes) into a model folder with Hugging Face parameter names.
//
// The graph is read by role, not by node name (names differ between exports): convolutions
// (with the bias as a third input or a following Add), BatchNormalizations, MatMuls with constant
// weights (+ bias Add), LayerNorms (the Sub/Pow/ReduceMean/Sqrt/Div pattern + scale and shift),
// and learnable affines (a scalar Mul followed by a scalar Add). The roles are then assigned in
// forward order to the PPLCNetV3 → SVTR → CTC layout and checked against the model's own
// parameter shapes. Reference: PaddleOCR rec_lcnetv3.py / necks/rnn.py, transformers
// pp_ocrv5_mobile_rec (names).

import Foundation
import MLXEngine
import MLXNN
import ONNXProto

// MARK: - Result

/// What an import produces: the config, the parameters by HF key, and the dictionary.
public struct PPOCRImport {
    public var config: PPOCRRecognizerConfig
    public var weights: [String: MLXArray]
    public var dictionary: CharacterDictionary

    public init(config: PPOCRRecognizerConfig, weights: [String: MLXArray], dictionary: CharacterDictionary) {
        self.config = config
        self.weights = weights
        self.dictionary = dictionary
    }

    /// The network with the imported weights, in evaluation mode (verifies every key and shape).
    public func makeNetwork() throws -> PPOCRV5Network {
        let network = PPOCRV5Network(config: config)
        try network.update(parameters: weights, verify: .all, source: "imported ONNX weights")
        network.train(false)
        return network
    }

}

// MARK: - Importer

public enum PPOCRONNXImporter {
    /// Reads `onnxPath` and the PaddleOCR dictionary at `dictionaryPath` (or, when nil, the
    /// `character` metadata some exports embed). `modelType` defaults from the class count
    /// (18,385 → v5, 6,625 → v4).
    public static func load(onnxPath: String, dictionaryPath: String?, modelType: String? = nil) throws -> PPOCRImport {
        let graph = try ONNXGraph(path: onnxPath)
        let characters: [String]
        if let dictionaryPath {
            characters = try CharacterDictionary.readPaddleCharacters(URL(fileURLWithPath: dictionaryPath))
        } else if let embedded = graph.metadata["character"] {
            characters = CharacterDictionary.lines(embedded)
        } else {
            throw ONNXImportError("\(onnxPath) embeds no dictionary (metadata 'character'): pass the dictionary file")
        }
        return try load(graph: graph, characters: characters, modelType: modelType)
    }

    public static func load(graph: ONNXGraph, characters: [String], modelType: String? = nil) throws -> PPOCRImport {
        let roles = try GraphRoles(graph)
        var (config, weights) = try assemble(roles, graph: graph)
        let classes = config.headOutChannels
        let dictionary = try dictionary(characters, classes: classes, head: roles.linears.last!.node.label)
        config.modelType = modelType ?? (classes == 6625 ? "pp_ocrv4_mobile_rec" : "pp_ocrv5_mobile_rec")
        weights = weights.mapValues { contiguous($0) }
        return PPOCRImport(config: config, weights: weights, dictionary: dictionary)
    }

    /// PaddleOCR's class list for a head of `classes` outputs: blank + characters (+ space).
    static func dictionary(_ characters: [String], classes: Int, head: String) throws -> CharacterDictionary {
        if characters.count + 2 == classes {
            return CharacterDictionary(paddleCharacters: characters, useSpaceChar: true)
        } else if characters.count + 1 == classes {
            return CharacterDictionary(paddleCharacters: characters, useSpaceChar: false)
        }
        throw ONNXImportError(
            "the dictionary has \(characters.count) characters but the head (\(head)) has \(classes) classes: expected \(classes - 2) (+ blank + space) or \(classes - 1)")
    }

    // MARK: Assembly

    static func assemble(_ r: GraphRoles, graph: ONNXGraph) throws -> (PPOCRRecognizerConfig, [String: MLXArray]) {
        var w: [String: MLXArray] = [:]
        var convs = r.convs[...]
        var affines = r.affines[...]
        func next<T>(_ list: inout ArraySlice<T>, _ what: String) throws -> T {
            guard let x = list.popFirst() else { throw ONNXImportError("the graph ends before \(what)") }
            return x
        }
        func putConv(_ c: ConvRole, _ key: String, bias: Bool) {
            w["\(key).weight"] = c.weight.array().transposed(0, 2, 3, 1)
            if bias { w["\(key).bias"] = c.bias?.array().reshaped(-1) ?? zeros([c.outChannels]) }
        }
        func putNorm(_ bn: BatchNormRole, _ key: String) {
            w["\(key).weight"] = bn.scale.array().reshaped(-1).reshaped(-1)
            w["\(key).bias"] = bn.shift.array().reshaped(-1).reshaped(-1)
            w["\(key).running_mean"] = bn.mean.array().reshaped(-1)
            w["\(key).running_var"] = bn.variance.array().reshaped(-1)
        }
        func putAffine(_ key: String) throws {
            let a = try next(&affines, "learnable affine \(key)")
            w["\(key).scale"] = MLXArray([a.scale])
            w["\(key).bias"] = MLXArray([a.bias])
        }

        // Stem.
        let stem = try next(&convs, "the stem convolution")
        guard stem.inChannels == 3, stem.group == 1, let stemNorm = r.norms.first, stemNorm.input == stem.output else {
            throw ONNXImportError("\(stem.node.label) is not a stem (3 input channels, followed by BatchNormalization)")
        }
        let backbone = "model.backbone.encoder"
        putConv(stem, "\(backbone).convolution.convolution", bias: false)
        putNorm(stemNorm, "\(backbone).convolution.normalization")

        // Depthwise-separable blocks.
        var blocks: [(dw: ConvRole, se: Bool, pw: ConvRole)] = []
        var prefixes: [String] = []
        let stageSizes = PPLCNetV3Config.recognitionBlocks.map(\.count)
        while let dw = convs.first, dw.group > 1 {
            convs.removeFirst()
            guard dw.group == dw.outChannels, dw.weight.dims[1] == 1 else {
                throw ONNXImportError("\(dw.node.label): grouped convolution that is not depthwise (group \(dw.group), weight \(dw.weight.dims))")
            }
            let index = blocks.count
            var (stage, layer, seen) = (0, index, 0)
            while stage < stageSizes.count && layer >= stageSizes[stage] { layer -= stageSizes[stage]; seen += stageSizes[stage]; stage += 1 }
            guard stage < stageSizes.count else { throw ONNXImportError("\(dw.node.label): more blocks than PPLCNetV3 has (\(stageSizes.reduce(0, +)))") }
            let prefix = "\(backbone).blocks.\(stage).layers.\(layer)"
            putConv(dw, "\(prefix).depthwise_convolution.reparam_conv", bias: true)
            try putAffine("\(prefix).depthwise_convolution.lab")
            try putAffine("\(prefix).depthwise_convolution.act.lab")
            var se = false
            if let c = convs.first, graph.producerNode(of: c.input)?.opType == "GlobalAveragePool" {
                let s1 = try next(&convs, "the SE convolutions of block \(prefix)")
                let s2 = try next(&convs, "the SE convolutions of block \(prefix)")
                putConv(s1, "\(prefix).squeeze_excitation_module.convolutions.0", bias: true)
                putConv(s2, "\(prefix).squeeze_excitation_module.convolutions.2", bias: true)
                se = true
            }
            let pw = try next(&convs, "the pointwise convolution of block \(prefix)")
            guard pw.group == 1, pw.weight.dims[2] == 1, pw.weight.dims[3] == 1 else {
                throw ONNXImportError("\(pw.node.label): expected the 1×1 pointwise convolution of block \(prefix), found kernel \(pw.weight.dims)")
            }
            putConv(pw, "\(prefix).pointwise_convolution.reparam_conv", bias: true)
            try putAffine("\(prefix).pointwise_convolution.lab")
            try putAffine("\(prefix).pointwise_convolution.act.lab")
            blocks.append((dw, se, pw))
            prefixes.append(prefix)
        }
        guard blocks.count == stageSizes.reduce(0, +) else {
            throw ONNXImportError("found \(blocks.count) depthwise-separable blocks; PPLCNetV3 has \(stageSizes.reduce(0, +))")
        }
        guard affines.isEmpty else {
            throw ONNXImportError("\(affines.first!.node.label): a learnable affine outside the backbone's RepLayers")
        }
        let backboneConfig = try inferBackbone(stem: stem, blocks: blocks)

        // SVTR neck.
        let neckConvs = Array(convs)
        let neckNorms = Array(r.norms.dropFirst())
        guard neckConvs.count == 5, neckNorms.count == 5 else {
            throw ONNXImportError("expected 5 convolutions with BatchNorm in the SVTR neck, found \(neckConvs.count) and \(neckNorms.count)")
        }
        for (i, (c, bn)) in zip(neckConvs, neckNorms).enumerated() {
            guard bn.input == c.output, c.bias == nil else {
                throw ONNXImportError("\(c.node.label): SVTR conv_block.\(i) must be a bias-free convolution followed by BatchNormalization")
            }
            putConv(c, "head.encoder.conv_block.\(i).convolution", bias: false)
            putNorm(bn, "head.encoder.conv_block.\(i).normalization")
        }
        let hidden = neckConvs[1].outChannels
        guard (r.linears.count - 1) % 4 == 0, r.linears.count >= 5, r.layerNorms.count == (r.linears.count - 1) / 2 + 1 else {
            throw ONNXImportError("expected 4 MatMuls and 2 LayerNorms per SVTR block plus the head; found \(r.linears.count) and \(r.layerNorms.count)")
        }
        let depth = try putSVTRAndHead(r, into: &w)
        let final = r.layerNorms.last!
        let head = r.linears.last!

        guard let scale = r.attentionScale, scale > 0 else {
            throw ONNXImportError("found no attention scale (a scalar Mul after the first qkv MatMul)")
        }
        let headDim = Int((1 / Double(scale * scale)).rounded())
        guard headDim > 0, hidden % headDim == 0 else {
            throw ONNXImportError("attention scale \(scale) gives head size \(headDim), which does not divide \(hidden)")
        }
        let qkv = r.linears[0]
        let config = PPOCRRecognizerConfig(
            backboneConfig: backboneConfig, hiddenAct: .silu, hiddenSize: hidden,
            mlpRatio: Double(r.linears[2].weight.dims[1]) / Double(hidden), depth: depth,
            headOutChannels: head.weight.dims[1], convKernelSize: Array(neckConvs[0].weight.dims[2 ... 3]),
            qkvBias: qkv.bias != nil, numAttentionHeads: hidden / headDim, attentionDropout: 0,
            layerNormEps: Double(final.eps), blockLayerNormEps: Double(r.layerNorms[0].eps),
            batchNormEps: Double(stemNorm.eps), poolKernelSize: r.poolKernel ?? [3, 2])
        guard config.neckInputChannels == neckConvs[0].inChannels else {
            throw ONNXImportError("\(neckConvs[0].node.label): the neck takes \(neckConvs[0].inChannels) channels, the backbone gives \(config.neckInputChannels)")
        }
        return (config, w)
    }

    /// The SVTR blocks (4 MatMuls and 2 LayerNorms each, in order), the final LayerNorm and the CTC
    /// head, under transformers' names; returns the depth.
    static func putSVTRAndHead(_ r: GraphRoles, into w: inout [String: MLXArray]) throws -> Int {
        let depth = (r.linears.count - 1) / 4
        for d in 0 ..< depth {
            let p = "head.encoder.svtr_block.\(d)"
            for (j, name) in ["self_attn.qkv", "self_attn.projection", "mlp.fc1", "mlp.fc2"].enumerated() {
                let l = r.linears[4 * d + j]
                guard let bias = l.bias else { throw ONNXImportError("\(l.node.label): \(p).\(name) has no bias Add") }
                w["\(p).\(name).weight"] = l.weight.array().T
                w["\(p).\(name).bias"] = bias.array().reshaped(-1)
            }
            for (j, name) in ["layer_norm1", "layer_norm2"].enumerated() {
                let n = r.layerNorms[2 * d + j]
                w["\(p).\(name).weight"] = n.scale.array().reshaped(-1)
                w["\(p).\(name).bias"] = n.shift.array().reshaped(-1)
            }
        }
        let final = r.layerNorms.last!
        w["head.encoder.norm.weight"] = final.scale.array().reshaped(-1)
        w["head.encoder.norm.bias"] = final.shift.array().reshaped(-1)
        let head = r.linears.last!
        w["head.head.weight"] = head.weight.array().T
        w["head.head.bias"] = head.bias?.array().reshaped(-1) ?? zeros([head.weight.dims[1]])
        return depth
    }

    /// The backbone config: PaddleOCR's rec table at the scale that reproduces the graph's
    /// channels, or (when none does) the graph's own channels at scale 1.
    static func inferBackbone(stem: ConvRole, blocks: [(dw: ConvRole, se: Bool, pw: ConvRole)]) throws -> PPLCNetV3Config {
        let table = PPLCNetV3Config.recognitionBlocks
        func matches(_ c: PPLCNetV3Config) -> Bool {
            guard c.scaled(c.stemChannels) == stem.outChannels, stem.stride[0] == c.stemStride else { return false }
            for (b, g) in zip(c.blockConfigs.flatMap { $0 }, blocks) {
                if c.scaled(b.inChannels) != g.dw.outChannels || c.scaled(b.outChannels) != g.pw.outChannels { return false }
                if b.kernelSize != g.dw.weight.dims[2] || b.stride != g.dw.stride || b.useSqueezeExcitation != g.se { return false }
            }
            return true
        }
        for scale in [0.95, 0.75, 0.5, 1.0, 0.35, 0.25, 1.25, 1.5, 2.0] {
            for divisor in [16, 8] {
                let c = PPLCNetV3Config(scale: scale, blockConfigs: table, divisor: divisor)
                if matches(c) { return c }
            }
        }
        // Fall back to the graph's channels.
        var flat = blocks.makeIterator()
        let own = table.map { stage in
            stage.map { _ -> PPLCNetV3BlockConfig in
                let g = flat.next()!
                return PPLCNetV3BlockConfig(g.dw.weight.dims[2], g.dw.outChannels, g.pw.outChannels, g.dw.stride, g.se)
            }
        }
        let c = PPLCNetV3Config(scale: 1, blockConfigs: own, stemChannels: stem.outChannels, stemStride: stem.stride[0], divisor: 8)
        guard matches(c) else {
            throw ONNXImportError("the backbone's channels (stem \(stem.outChannels), blocks \(blocks.map(\.pw.outChannels))) fit no PPLCNetV3 configuration")
        }
        return c
    }
}
