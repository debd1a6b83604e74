// A PP-OCR model folder as transformers' PPOCRV5MobileRecForTextRecognition checkpoint: the
// deployed `reparam_conv` of each LearnableRepLayer becomes its one k×k branch
// (`conv_symmetric.0`, conv_symmetric_num 1) whose BatchNorm adds the fused bias (scale 1, mean 0,
// variance 1 − eps), the branches the deployment fused away (`conv_small_symmetric`, `identity`)
// are written as zeros, and channels-last kernels go back to [out, in, kh, kw]. transformers has
// one LayerNorm epsilon for the neck (ours: 1e-5 in the SVTR blocks, 1e-6 after them); the
// export keeps the final one.
//
// Reference: transformers models/pp_lcnet_v3/modeling_pp_lcnet_v3.py (PPLCNetV3LearnableRepLayer:
// identity when in == out and stride == 1, conv_small_symmetric when kernel > 1),
// models/pp_ocrv5_mobile_rec/configuration_pp_ocrv5_mobile_rec.py; tools/check_peft_adapter.py.

import Foundation
import MLXEngine
import OCRModels

enum PPOCRHuggingFace {
    /// transformers' state dict of `network`.
    static func weights(_ network: PPOCRV5Network) -> [String: MLXArray] {
        let config = network.config
        let eps = Float(config.batchNormEps)
        var out: [String: MLXArray] = [:]
        for (key, value) in network.parameterDictionary() {
            let a = value.ndim == 4 ? value.transposed(0, 3, 1, 2) : value
            guard let range = key.range(of: ".reparam_conv.") else {
                out[key] = a
                continue
            }
            let branch = key[..<range.lowerBound] + ".conv_symmetric.0"
            if key.hasSuffix(".weight") {
                out[branch + ".convolution.weight"] = a
            } else {
                let c = a.dim(0)
                out[branch + ".normalization.bias"] = a
                out[branch + ".normalization.weight"] = ones([c])
                out[branch + ".normalization.running_mean"] = zeros([c])
                out[branch + ".normalization.running_var"] = full([c], value: Double(1 - eps))
            }
        }
        // The fused-away branches contribute nothing.
        func zeroNorm(_ key: String, _ c: Int) {
            out[key + ".weight"] = zeros([c])
            out[key + ".bias"] = zeros([c])
            out[key + ".running_mean"] = zeros([c])
            out[key + ".running_var"] = ones([c])
        }
        let backbone = config.backboneConfig
        for (i, stage) in backbone.blockConfigs.enumerated() {
            for (j, block) in stage.enumerated() {
                let key = "model.backbone.encoder.blocks.\(i).layers.\(j)"
                let input = backbone.scaled(block.inChannels)
                let output = backbone.scaled(block.outChannels)
                let depthwise = "\(key).depthwise_convolution"
                out["\(depthwise).conv_small_symmetric.convolution.weight"] = zeros([input, 1, 1, 1])
                zeroNorm("\(depthwise).conv_small_symmetric.normalization", input)
                if block.strideIsScalar && block.stride[0] == 1 { zeroNorm("\(depthwise).identity", input) }
                if input == output { zeroNorm("\(key).pointwise_convolution.identity", input) }
            }
        }
        return out
    }

    /// transformers' config.json.
    static func config(_ c: PPOCRRecognizerConfig) throws -> Data {
        let b = c.backboneConfig
        let blocks = try JSONSerialization.jsonObject(with: JSONEncoder().encode(b.blockConfigs))
        let object: [String: Any] = [
            "architectures": ["PPOCRV5MobileRecForTextRecognition"],
            "model_type": "pp_ocrv5_mobile_rec",
            "backbone_config": [
                "model_type": "pp_lcnet_v3", "scale": b.scale, "block_configs": blocks, "stem_channels": b.stemChannels,
                "stem_stride": b.stemStride, "reduction": b.reduction, "divisor": b.divisor, "hidden_act": b.hiddenAct.rawValue,
                "conv_symmetric_num": 1, "out_features": ["stage2", "stage3", "stage4", "stage5"], "out_indices": [2, 3, 4, 5],
            ] as [String: Any],
            "hidden_act": c.hiddenAct.rawValue, "hidden_size": c.hiddenSize, "mlp_ratio": c.mlpRatio, "depth": c.depth,
            "head_out_channels": c.headOutChannels, "conv_kernel_size": c.convKernelSize, "qkv_bias": c.qkvBias,
            "num_attention_heads": c.numAttentionHeads, "attention_dropout": c.attentionDropout, "layer_norm_eps": c.layerNormEps,
            "dtype": "float32",
        ]
        var text = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self)
        // transformers' strict config fields want floats where JSONSerialization writes 2 for 2.0.
        for key in ["mlp_ratio", "attention_dropout", "scale", "layer_norm_eps"] {
            text = text.replacingOccurrences(
                of: "(\"\(key)\" : -?[0-9]+)(?=[,\n])", with: "$1.0", options: .regularExpression)
        }
        return Data(text.utf8)
    }
}
