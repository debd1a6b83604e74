// Import of PaddleOCR's exported PP-OCRv6 recognizer (rapidocr 3.10's PP-OCRv6_rec_small.onnx:
// weights as initializers, BatchNorms folded into the backbone's convolutions, the dictionary in
// the `character` metadata entry) into a model folder with transformers' parameter names, and the
// one entry point that imports any PP-OCR recognizer generation.
//
// As for v4/v5 the graph is read by role (GraphRoles): convolutions in forward order are the
// stem (stem1, stem2a, stem2b, stem3, stem4), then per block the token conv (depthwise), the
// SE pair when the next conv reads a global mean, and the channel MLP (two 1×1), then the neck's
// three; MatMuls and LayerNorms are the SVTR blocks and the head. A folded conv + BatchNorm is
// stored as transformers' conv layer with an identity BatchNorm carrying the bias (running var
// 1 − eps: rsqrt(var + eps) is exactly 1 in float32). Reference: transformers pp_ocrv6_small_rec,
// pp_lcnet_v4 (names); PaddleOCR's PP-OCRv6 export.

import Foundation
import MLXEngine
import MLXNN
import ONNXProto

// MARK: - Imported models

/// An imported recognizer of any generation, ready to be written as a model folder.
public protocol PPOCRImportedModel {
    var weights: [String: MLXArray] { get }
    var dictionary: CharacterDictionary { get }
    /// The network with the imported weights, in evaluation mode (every key and shape verified).
    func makeAnyNetwork() throws -> any PPOCRNetwork
    /// Lines describing the model (model type, backbone, neck, classes).
    var summary: [String] { get }
}

extension PPOCRImportedModel {
    /// Writes config.json, model.safetensors and dictionary.txt to `folder`, atomically.
    public func write(to folder: URL, overwrite: Bool = false, metadata: [String: String] = [:]) throws {
        let network = try makeAnyNetwork()
        try ModelFolder.writeAtomically(to: folder, overwrite: overwrite) { tmp in
            try network.encodedConfig().write(to: tmp.appendingPathComponent(ModelFolder.configFile))
            try network.saveParameters(
                to: tmp.appendingPathComponent(ModelFolder.weightsFile).path, metadata: ["format": "mlx"].merging(metadata) { $1 })
            try dictionary.write(to: tmp.appendingPathComponent(ModelFolder.dictionaryFile))
        }
    }
}

extension PPOCRImport: PPOCRImportedModel {
    public func makeAnyNetwork() throws -> any PPOCRNetwork { try makeNetwork() }

    public var summary: [String] {
        [
            "model_type   \(config.modelType)",
            "backbone     PPLCNetV3 scale \(config.backboneConfig.scale), \(config.neckInputChannels) channels into the neck",
            "neck         SVTR depth \(config.depth), hidden \(config.hiddenSize), \(config.numAttentionHeads) heads",
            "classes      \(config.headOutChannels) (blank + \(dictionary.labels.count) labels)",
        ]
    }
}

/// A PP-OCRv6 recognizer read from ONNX.
public struct PPOCRV6Import: PPOCRImportedModel {
    public var config: PPOCRV6RecognizerConfig
    public var weights: [String: MLXArray]
    public var dictionary: CharacterDictionary

    public func makeAnyNetwork() throws -> any PPOCRNetwork { try makeNetwork() }

    public func makeNetwork() throws -> PPOCRV6Network {
        let network = PPOCRV6Network(config: config)
        try network.update(parameters: weights, verify: .all, source: "imported ONNX weights")
        network.train(false)
        return network
    }

    public var summary: [String] {
        let b = config.backboneConfig
        return [
            "model_type   \(config.modelType)",
            "backbone     PP-LCNetV4 stem \(b.stemChannels), stages \(b.blockConfigs.map(\.count)), \(b.outputChannels) channels into the neck",
            "neck         SVTR depth \(config.depth), hidden \(config.hiddenSize), \(config.numAttentionHeads) heads, residual fusion",
            "classes      \(config.headOutChannels) (blank + \(dictionary.labels.count) labels)",
        ]
    }
}

// MARK: - Entry point

extension PPOCRONNXImporter {
    /// Imports a PP-OCRv4, v5 or v6 recognizer; the generation is read from the graph (PP-LCNetV4's
    /// large stem, with its 2×2 convolutions, is v6). The dictionary is `dictionaryPath`, or the
    /// `character` metadata the export embeds.
    public static func importModel(onnxPath: String, dictionaryPath: String?, modelType: String? = nil) throws
        -> any PPOCRImportedModel
    {
        let graph = try ONNXGraph(path: onnxPath)
        let characters: [String]
        if let dictionaryPath {
            characters = try CharacterDictionary.readPaddleCharacters(URL(fileURLWithPath: dictionaryPath))
        } else if let embedded = graph.metadata["character"] {
            characters = CharacterDictionary.lines(embedded)
        } else {
            throw ONNXImportError("\(onnxPath) embeds no dictionary (metadata 'character'): pass the dictionary file")
        }
        if isV6(graph) { return try loadV6(graph: graph, characters: characters) }
        return try load(graph: graph, characters: characters, modelType: modelType)
    }

    /// Whether the graph has PP-LCNetV4's large stem (a 2×2 convolution).
    static func isV6(_ graph: ONNXGraph) -> Bool {
        graph.nodes.contains { node in
            node.opType == "Conv" && node.input.count > 1 && graph.constant(node.input[1])?.dims.suffix(2) == [2, 2]
        }
    }

    public static func loadV6(graph: ONNXGraph, characters: [String]) throws -> PPOCRV6Import {
        let roles = try GraphRoles(graph, sameConvPadding: false)
        let (config, weights) = try assembleV6(roles, graph: graph)
        let dictionary = try dictionary(characters, classes: config.headOutChannels, head: roles.linears.last!.node.label)
        return PPOCRV6Import(config: config, weights: weights.mapValues { contiguous($0) }, dictionary: dictionary)
    }

    // MARK: v6 assembly

    static func assembleV6(_ r: GraphRoles, graph: ONNXGraph) throws -> (PPOCRV6RecognizerConfig, [String: MLXArray]) {
        var f = FoldedWeights(roles: r, graph: graph)
        guard r.convs.count >= 8 + 3 else { throw ONNXImportError("too few convolutions (\(r.convs.count)) for PP-LCNetV4 + the v6 neck") }
        let backbone = try f.lcnetV4(r.convs[0 ..< r.convs.count - 3], prefix: "model.backbone.encoder")
        var w = f.weights

        // Neck: conv_block 0 and 1 read the pooled features, 2 is the depthwise local conv.
        let neck = Array(r.convs.suffix(3))
        guard neck[0].input == neck[1].input || neck[0].weight.dims == neck[1].weight.dims, neck[2].group == neck[2].outChannels,
            neck[2].inChannels == neck[1].outChannels
        else {
            throw ONNXImportError("\(neck[0].node.label): the last three convolutions are not the v6 neck (two 1×1 and a depthwise)")
        }
        for (i, c) in neck.enumerated() { f.putConvLayer(c, "head.encoder.conv_block.\(i)") }
        w.merge(f.weights) { $1 }
        let hidden = neck[1].outChannels

        // SVTR blocks and the head.
        guard (r.linears.count - 1) % 4 == 0, r.linears.count >= 5, r.layerNorms.count == (r.linears.count - 1) / 2 + 1 else {
            throw ONNXImportError("expected 4 MatMuls and 2 LayerNorms per SVTR block plus the head; found \(r.linears.count) and \(r.layerNorms.count)")
        }
        let depth = try putSVTRAndHead(r, into: &w)
        let final = r.layerNorms.last!
        let head = r.linears.last!

        // paddle2onnx writes the attention scale as a scalar Mul + Add (0), torch as a bare Mul.
        guard let scale = r.attentionScale ?? r.affines.first(where: { $0.bias == 0 })?.scale, scale > 0 else {
            throw ONNXImportError("found no attention scale (a scalar Mul of the queries or of their products with the keys)")
        }
        let headDim = Int((1 / Double(scale * scale)).rounded())
        guard headDim > 0, hidden % headDim == 0 else {
            throw ONNXImportError("attention scale \(scale) gives head size \(headDim), which does not divide \(hidden)")
        }
        guard r.poolKernel == nil || r.poolKernel! == PPOCRV6RecognizerConfig.poolKernelSize else {
            throw ONNXImportError("the pooling after the backbone is \(r.poolKernel!), PP-OCRv6 pools (3, 2)")
        }
        let config = PPOCRV6RecognizerConfig(
            backboneConfig: backbone, hiddenAct: .silu, hiddenSize: hidden,
            mlpRatio: Double(r.linears[2].weight.dims[1]) / Double(hidden), depth: depth, headOutChannels: head.weight.dims[1],
            convKernelSize: Array(neck[2].weight.dims[2 ... 3]), qkvBias: r.linears[0].bias != nil,
            numAttentionHeads: hidden / headDim, layerNormEps: Double(final.eps))
        guard backbone.outputChannels == neck[0].inChannels else {
            throw ONNXImportError("\(neck[0].node.label): the neck takes \(neck[0].inChannels) channels, the backbone gives \(backbone.outputChannels)")
        }
        return (config, w)
    }

    /// Stages of a flat block list: a stage starts where a block downsamples or changes the
    /// channels; PP-LCNetV4's first stage is its first block alone (PaddleOCR's v6 layout:
    /// 1, 2, 7, 3 blocks).
    static func splitStages(_ rows: [PPLCNetV3BlockConfig]) -> [[PPLCNetV3BlockConfig]] {
        var stages: [[PPLCNetV3BlockConfig]] = []
        for row in rows {
            let starts = stages.isEmpty || !row.strideIsScalar || row.stride != [1, 1] || row.inChannels != row.outChannels
            if starts { stages.append([row]) } else { stages[stages.count - 1].append(row) }
        }
        if stages.count < 4, let first = stages.first, first.count > 1 {
            stages.replaceSubrange(0 ... 0, with: [[first[0]], Array(first.dropFirst())])
        }
        return stages
    }
}

// MARK: - Folded weights

/// Writes transformers-named weights from a paddle2onnx / torch.onnx graph whose BatchNorms may
/// be folded into the convolutions, and reads PP-LCNetV4 (stem and blocks) from a run of convs.
struct FoldedWeights {
    let roles: GraphRoles
    let graph: ONNXGraph
    var weights: [String: MLXArray] = [:]
    let eps: Float = 1e-5

    init(roles: GraphRoles, graph: ONNXGraph) {
        self.roles = roles
        self.graph = graph
    }

    /// A conv layer (conv + BatchNorm, keys `convolution`, `norm`): the graph's BatchNorm when one
    /// follows, else an identity BatchNorm carrying the folded bias (or, with `convBias`, a conv
    /// that keeps its bias and an identity BatchNorm without one).
    mutating func putConvLayer(_ c: ConvRole, _ key: String, norm: String = "normalization", convBias: Bool = false, transposed: Bool = false) {
        weights["\(key).convolution.weight"] = transposed ? c.weight.array().transposed(1, 2, 3, 0) : c.weight.array().transposed(0, 2, 3, 1)
        let n = transposed ? c.weight.dims[1] : c.outChannels
        let bias = c.bias?.array().reshaped(-1) ?? zeros([n])
        if convBias { weights["\(key).convolution.bias"] = bias }
        if let bn = roles.norms.first(where: { $0.input == c.output }) {
            weights["\(key).\(norm).weight"] = bn.scale.array().reshaped(-1)
            weights["\(key).\(norm).bias"] = bn.shift.array().reshaped(-1)
            weights["\(key).\(norm).running_mean"] = bn.mean.array().reshaped(-1)
            weights["\(key).\(norm).running_var"] = bn.variance.array().reshaped(-1)
        } else {
            weights["\(key).\(norm).weight"] = ones([n])
            weights["\(key).\(norm).bias"] = convBias ? zeros([n]) : bias
            weights["\(key).\(norm).running_mean"] = zeros([n])
            weights["\(key).\(norm).running_var"] = full([n], value: Double(1 - eps))
        }
    }

    /// A plain conv with its bias (`weight`, `bias`); `bias: false` writes the weight only.
    mutating func putConv(_ c: ConvRole, _ key: String, bias: Bool = true, transposed: Bool = false) {
        weights["\(key).weight"] = transposed ? c.weight.array().transposed(1, 2, 3, 0) : c.weight.array().transposed(0, 2, 3, 1)
        if bias { weights["\(key).bias"] = c.bias?.array().reshaped(-1) ?? zeros([transposed ? c.weight.dims[1] : c.outChannels]) }
    }

    /// Whether `tensor` is a global mean (an SE module's input), through Identity nodes.
    func isGlobalMean(_ tensor: String) -> Bool {
        var producer = graph.producerNode(of: tensor)
        while let p = producer, p.opType == "Identity" { producer = graph.producerNode(of: p.input[0]) }
        return producer?.opType == "GlobalAveragePool" || producer?.opType == "ReduceMean"
    }

    /// PP-LCNetV4 from its convolutions in forward order: the large stem (five), then per block the
    /// depthwise token conv, the SE pair when the next conv reads a global mean, and the 1×1 channel MLP.
    mutating func lcnetV4(_ convs: ArraySlice<ConvRole>, prefix: String) throws -> PPLCNetV4Config {
        let stem = Array(convs.prefix(5))
        guard stem.count == 5, stem[0].inChannels == 3, stem[1].weight.dims.suffix(2) == [2, 2], stem[2].weight.dims.suffix(2) == [2, 2],
            stem[4].weight.dims.suffix(2) == [1, 1]
        else {
            throw ONNXImportError("\(convs.first?.node.label ?? "graph"): the first five convolutions are not PP-LCNetV4's large stem (3×3, 2×2, 2×2, 3×3, 1×1)")
        }
        for (c, name) in zip(stem, ["stem1", "stem2a", "stem2b", "stem3", "stem4"]) { putConvLayer(c, "\(prefix).convolution.\(name)") }

        var rest = convs.dropFirst(5)
        struct Block { var token: ConvRole; var se: (ConvRole, ConvRole)?; var mlp1: ConvRole; var mlp2: ConvRole }
        var blocks: [Block] = []
        while let token = rest.popFirst() {
            guard token.group > 1, token.group == token.outChannels, token.weight.dims[1] == 1 else {
                throw ONNXImportError("\(token.node.label): expected a block's depthwise token conv (group \(token.group), weight \(token.weight.dims))")
            }
            var se: (ConvRole, ConvRole)?
            if let next = rest.first, isGlobalMean(next.input) {
                guard rest.count >= 4 else { throw ONNXImportError("\(next.node.label): the graph ends inside a block") }
                se = (rest.popFirst()!, rest.popFirst()!)
            }
            guard let mlp1 = rest.popFirst(), let mlp2 = rest.popFirst(), mlp1.weight.dims.suffix(2) == [1, 1],
                mlp2.weight.dims.suffix(2) == [1, 1], mlp1.outChannels == 2 * token.outChannels
            else {
                throw ONNXImportError("\(token.node.label): a block's token conv is not followed by its 1×1 channel MLP (in → 2·in → out)")
            }
            blocks.append(Block(token: token, se: se, mlp1: mlp1, mlp2: mlp2))
        }
        let rows = blocks.map { b in
            let stride: [Int] = b.token.stride[0] == b.token.stride[1] ? [b.token.stride[0]] : b.token.stride
            return PPLCNetV3BlockConfig(b.token.weight.dims[2], b.token.outChannels, b.mlp2.outChannels, stride, b.se != nil)
        }
        let stages = PPOCRONNXImporter.splitStages(rows)
        var flat = 0
        for (s, stage) in stages.enumerated() {
            for (i, row) in stage.enumerated() {
                let b = blocks[flat]
                flat += 1
                let key = "\(prefix).blocks.\(s).blocks.\(i)"
                if row.strideIsScalar && row.stride == [1, 1] && row.inChannels == row.outChannels {
                    putConv(b.token, "\(key).token_conv")
                } else {
                    putConvLayer(b.token, "\(key).token_conv")
                }
                if let (s1, s2) = b.se {
                    putConv(s1, "\(key).token_squeeze_excitation.convolutions.0")
                    putConv(s2, "\(key).token_squeeze_excitation.convolutions.2")
                }
                putConvLayer(b.mlp1, "\(key).channel_conv1")
                putConvLayer(b.mlp2, "\(key).channel_conv2")
            }
        }
        let reduction = blocks.first(where: { $0.se != nil }).map { $0.token.outChannels / $0.se!.0.outChannels } ?? 4
        return PPLCNetV4Config(
            blockConfigs: stages, stemChannels: [3, stem[0].outChannels, stem[4].outChannels], reduction: reduction,
            stemStrides: stem.map { $0.stride[0] })
    }
}
