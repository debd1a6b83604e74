// DeepSeek-OCR (v1)'s CLIP-L fed with SAM features ("vision_model"): the SAM feature map is its
// patch embedding (its own `patch_embedding` conv is loaded but unused), a class token, the 16 × 16
// position table resampled bicubically with antialias to the feature grid, a pre-LayerNorm
// (eps 1e-5), pre-norm blocks with a fused `qkv_proj` and quick-GELU, no post-LayerNorm. The
// image features are cat(CLIP output without the class token, SAM features).
//
// Reference: github deepseek-ai/DeepSeek-OCR, DeepSeek-OCR-vllm/deepencoder/clip_sdpa.py
// (get_abs_pos, CLIPVisionEmbeddings, NoTPAttention, NoTPTransformerBlock, VitModel);
// the Hub's modeling_deepseekocr.py (DeepseekOCRModel.forward: the concatenation).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Embeddings

final class CLIPOnSAMEmbeddings: Module {
    @ParameterInfo(key: "class_embedding") var classEmbedding: MLXArray
    @ModuleInfo(key: "patch_embedding") var patchEmbedding: UnusedPatchEmbedding
    @ModuleInfo(key: "position_embedding") var positionEmbedding: Embedding
    let grid: Int

    init(_ c: DeepSeekCLIPConfig) {
        grid = c.grid
        _classEmbedding.wrappedValue = zeros([c.width])
        _patchEmbedding.wrappedValue = UnusedPatchEmbedding(width: c.width, patch: c.patchSize)
        _positionEmbedding.wrappedValue = Embedding(count: c.grid * c.grid + 1, dimensions: c.width)
        super.init()
    }

    /// `features` [B, h, w, D] → [B, 1 + h·w, D] with positions.
    func callAsFunction(_ features: MLXArray) -> MLXArray {
        let (b, h, w, d) = (features.dim(0), features.dim(1), features.dim(2), features.dim(3))
        let patches = features.reshaped(b, h * w, d)
        let cls = classEmbedding.asType(patches.dtype).reshaped(1, 1, d).broadcast(to: [b, 1, d])
        let table = positionEmbedding.weight
        var positions = table
        if h != grid || w != grid {
            let resized = PositionInterpolation.resizeGrid(
                table.sliced(axis: 0, from: 1).reshaped(grid, grid, d), height: h, width: w)
            positions = concatenated([table.sliced(axis: 0, from: 0, to: 1), resized.reshaped(h * w, d)], axis: 0)
        }
        return concatenated([cls, patches], axis: 1) + positions.asType(patches.dtype)
    }
}

/// CLIP's pixel patch embedding: in the checkpoint, not used when SAM features are the patches.
final class UnusedPatchEmbedding: Module {
    let weight: MLXArray

    init(width: Int, patch: Int) {
        weight = zeros([width, 3, patch, patch])
        super.init()
    }
}

// MARK: - Blocks

final class CLIPOnSAMAttention: Module {
    @ModuleInfo(key: "qkv_proj") var qkv: Linear
    @ModuleInfo(key: "out_proj") var out: Linear
    let heads: Int

    init(_ c: DeepSeekCLIPConfig) {
        heads = c.heads
        _qkv.wrappedValue = Linear(c.width, 3 * c.width)
        _out.wrappedValue = Linear(c.width, c.width)
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray {
        let (b, l, d) = (x.dim(0), x.dim(1), x.dim(2))
        let hd = d / heads
        let parts = qkv(x).reshaped(b, l, 3, heads, hd).transposed(2, 0, 3, 1, 4)  // [3, B, H, L, hd]
        func part(_ i: Int) -> MLXArray { parts.sliced(axis: 0, from: i, to: i + 1).squeezed(axis: 0) }
        let o = scaledDotProductAttention(
            queries: part(0), keys: part(1), values: part(2), scale: Float(1 / Double(hd).squareRoot()))
        return out(o.transposed(0, 2, 1, 3).reshaped(b, l, d))
    }
}

final class CLIPOnSAMMLP: Module, UnaryLayer {
    @ModuleInfo(key: "fc1") var fc1: Linear
    @ModuleInfo(key: "fc2") var fc2: Linear

    init(_ c: DeepSeekCLIPConfig) {
        _fc1.wrappedValue = Linear(c.width, c.intermediateSize)
        _fc2.wrappedValue = Linear(c.intermediateSize, c.width)
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray {
        let h = fc1(x)
        return fc2(h * sigmoid(h * 1.702))  // quick_gelu
    }
}

final class CLIPOnSAMBlock: Module {
    @ModuleInfo(key: "layer_norm1") var norm1: LayerNorm
    @ModuleInfo(key: "self_attn") var attention: CLIPOnSAMAttention
    @ModuleInfo(key: "layer_norm2") var norm2: LayerNorm
    @ModuleInfo(key: "mlp") var mlp: CLIPOnSAMMLP

    init(_ c: DeepSeekCLIPConfig) {
        _norm1.wrappedValue = LayerNorm(dimensions: c.width, eps: 1e-5)
        _attention.wrappedValue = CLIPOnSAMAttention(c)
        _norm2.wrappedValue = LayerNorm(dimensions: c.width, eps: 1e-5)
        _mlp.wrappedValue = CLIPOnSAMMLP(c)
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray {
        let h = x + attention(norm1(x))
        return h + mlp(norm2(h))
    }
}

final class CLIPOnSAMTransformer: Module {
    let layers: [CLIPOnSAMBlock]

    init(_ c: DeepSeekCLIPConfig) {
        layers = (0 ..< c.layers).map { _ in CLIPOnSAMBlock(c) }
        super.init()
    }
}

// MARK: - Tower

/// `vision_model`: SAM features [B, h, w, D] → CLIP hidden states [B, 1 + h·w, D].
public final class DeepSeekCLIPOnSAM: Module {
    @ModuleInfo(key: "embeddings") var embeddings: CLIPOnSAMEmbeddings
    @ModuleInfo(key: "pre_layrnorm") var preNorm: LayerNorm
    @ModuleInfo(key: "transformer") var transformer: CLIPOnSAMTransformer

    init(_ c: DeepSeekCLIPConfig) {
        _embeddings.wrappedValue = CLIPOnSAMEmbeddings(c)
        _preNorm.wrappedValue = LayerNorm(dimensions: c.width, eps: 1e-5)
        _transformer.wrappedValue = CLIPOnSAMTransformer(c)
        super.init()
    }

    public func callAsFunction(_ samFeatures: MLXArray) -> MLXArray {
        var x = preNorm(embeddings(samFeatures))
        for layer in transformer.layers { x = layer(x) }
        return x
    }

    /// The v1 image features: cat(CLIP without the class token, SAM) → [B, h·w, 2D].
    func features(_ samFeatures: MLXArray) -> MLXArray {
        let (b, h, w, d) = (samFeatures.dim(0), samFeatures.dim(1), samFeatures.dim(2), samFeatures.dim(3))
        let clip = self(samFeatures).sliced(axis: 1, from: 1)
        return concatenated([clip, samFeatures.reshaped(b, h * w, d)], axis: -1)
    }
}
