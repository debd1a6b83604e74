// SAM ViT-B as DeepSeek-OCR and DeepSeek-OCR 2 use it ("sam_model"): 16-pixel patches, an absolute
// position table (64 × 64, resampled bicubically with antialias for other inputs), blocks with
// 14 × 14 window attention except the global ones, decomposed relative positions (linearly
// resampled for other grids), the neck (1×1 conv, LayerNorm2d, 3×3 conv, LayerNorm2d) and two
// stride-2 3×3 convolutions (`net_2`, `net_3`). Channels-last throughout; convolution weights keep
// the checkpoint's [out, in, kh, kw] layout and are transposed on use. Key names are DeepSeek's
// (`blocks.N.norm1`, `neck.0`, `net_2`); transformers' names are mapped at load.
//
// Reference: github deepseek-ai/DeepSeek-OCR, DeepSeek-OCR-vllm/deepencoder/sam_vary_sdpa.py
// (ImageEncoderViT, Block, Attention, get_rel_pos, add_decomposed_rel_pos, window_partition);
// transformers/models/deepseek_ocr2/modeling_deepseek_ocr2.py (DeepseekOcr2SamVisionEncoder).

import Foundation
import MLXEngine
import MLXNN

// MARK: - Convolution with PyTorch's weight layout

/// A 2-D convolution whose `weight` is stored as the checkpoint has it, [out, in, kh, kw];
/// 1×1 convolutions run as a matmul, the others as MLX's conv2d on the transposed weight.
final class TorchLayoutConv2d: Module, UnaryLayer {
    let weight: MLXArray
    let bias: MLXArray?
    let stride: Int
    let padding: Int

    init(_ input: Int, _ output: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = false) {
        weight = zeros([output, input, kernel, kernel])
        self.bias = bias ? zeros([output]) : nil
        self.stride = stride
        self.padding = padding
        super.init()
    }

    /// `x` [B, H, W, in] → [B, H', W', out].
    func callAsFunction(_ x: MLXArray) -> MLXArray {
        let (out, input, kh) = (weight.dim(0), weight.dim(1), weight.dim(2))
        let y: MLXArray
        if kh == 1 && stride == 1 && padding == 0 {
            y = matmul(x, weight.reshaped(out, input).T)
        } else {
            y = conv2d(x, weight.transposed(0, 2, 3, 1), stride: (stride, stride), padding: (padding, padding))
        }
        return bias.map { y + $0 } ?? y
    }
}

/// The non-overlapping patch projection (a conv with kernel = stride = P) as one matmul over the
/// unfolded patches, in the kernel's (C, P, P) order.
final class PatchProjection2d: Module {
    let weight: MLXArray
    let bias: MLXArray?

    init(channels: Int, width: Int, patch: Int, bias: Bool = true) {
        weight = zeros([width, channels, patch, patch])
        self.bias = bias ? zeros([width]) : nil
        super.init()
    }

    /// `pixels` [B, H, W, C] → [B, H/P, W/P, width].
    func callAsFunction(_ pixels: MLXArray) -> MLXArray {
        let (b, h, w, c) = (pixels.dim(0), pixels.dim(1), pixels.dim(2), pixels.dim(3))
        let p = weight.dim(2)
        let patches = pixels.reshaped(b, h / p, p, w / p, p, c).transposed(0, 1, 3, 5, 2, 4).reshaped(b, h / p, w / p, c * p * p)
        let y = matmul(patches, weight.reshaped(weight.dim(0), -1).T)
        return bias.map { y + $0 } ?? y
    }
}

// MARK: - Attention with decomposed relative positions

final class SAMAttention: Module {
    @ModuleInfo(key: "qkv") var qkv: Linear
    @ModuleInfo(key: "proj") var proj: Linear
    @ParameterInfo(key: "rel_pos_h") var relPosH: MLXArray
    @ParameterInfo(key: "rel_pos_w") var relPosW: MLXArray
    let heads: Int

    init(_ c: DeepSeekSAMConfig, inputSize: Int) {
        heads = c.heads
        _qkv.wrappedValue = Linear(c.hiddenSize, 3 * c.hiddenSize, bias: true)
        _proj.wrappedValue = Linear(c.hiddenSize, c.hiddenSize, bias: true)
        _relPosH.wrappedValue = zeros([2 * inputSize - 1, c.headDim])
        _relPosW.wrappedValue = zeros([2 * inputSize - 1, c.headDim])
        super.init()
    }

    /// `get_rel_pos` for q = k = `size`: the table resampled to 2·size − 1 rows, gathered at
    /// qᵢ − kⱼ + size − 1, as [size, size, headDim].
    static func relativeTable(_ table: MLXArray, size: Int) -> MLXArray {
        let resized = PositionInterpolation.resizeLinear(table, to: 2 * size - 1)
        var index: [Int32] = []
        index.reserveCapacity(size * size)
        for q in 0 ..< size { for k in 0 ..< size { index.append(Int32(q - k + size - 1)) } }
        return resized.take(MLXArray(index, [size * size]), axis: 0).reshaped(size, size, -1)
    }

    /// `x` [B, H, W, C] (one window or the whole grid per batch row).
    func callAsFunction(_ x: MLXArray) -> MLXArray {
        let (b, h, w, c) = (x.dim(0), x.dim(1), x.dim(2), x.dim(3))
        let hd = c / heads
        let parts = qkv(x).reshaped(b, h * w, 3, heads, hd).transposed(2, 0, 3, 1, 4)  // [3, B, heads, N, hd]
        let (q, k, v) = (parts.sliced(axis: 0, from: 0, to: 1).squeezed(axis: 0), parts.sliced(axis: 0, from: 1, to: 2).squeezed(axis: 0),
                         parts.sliced(axis: 0, from: 2, to: 3).squeezed(axis: 0))
        // add_decomposed_rel_pos: rel_h[b,y,x,ky] = q[b,y,x]·Rh[y,ky], rel_w[b,y,x,kx] = q[b,y,x]·Rw[x,kx].
        let bh = b * heads
        let rq = q.reshaped(bh, h, w, hd)
        let rh = Self.relativeTable(relPosH, size: h)  // [h, kh, hd]
        let rw = Self.relativeTable(relPosW, size: w)  // [w, kw, hd]
        let relH = matmul(rq.transposed(1, 0, 2, 3).reshaped(h, bh * w, hd), rh.transposed(0, 2, 1))
            .reshaped(h, bh, w, h).transposed(1, 0, 2, 3)  // [BH, h, w, kh]
        let relW = matmul(rq.transposed(2, 0, 1, 3).reshaped(w, bh * h, hd), rw.transposed(0, 2, 1))
            .reshaped(w, bh, h, w).transposed(1, 2, 0, 3)  // [BH, h, w, kw]
        let bias = (relH.expandedDimensions(axis: 4) + relW.expandedDimensions(axis: 3)).reshaped(b, heads, h * w, h * w)
        let out = scaledDotProductAttention(
            queries: q, keys: k, values: v, scale: Float(1 / Double(hd).squareRoot()), mask: .array(bias))
        return proj(out.transposed(0, 2, 1, 3).reshaped(b, h, w, c))
    }
}

final class SAMMLP: Module, UnaryLayer {
    @ModuleInfo(key: "lin1") var lin1: Linear
    @ModuleInfo(key: "lin2") var lin2: Linear

    init(_ c: DeepSeekSAMConfig) {
        _lin1.wrappedValue = Linear(c.hiddenSize, c.mlpDim)
        _lin2.wrappedValue = Linear(c.mlpDim, c.hiddenSize)
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray { lin2(gelu(lin1(x))) }
}

// MARK: - Blocks

final class SAMBlock: Module {
    @ModuleInfo(key: "norm1") var norm1: LayerNorm
    @ModuleInfo(key: "attn") var attention: SAMAttention
    @ModuleInfo(key: "norm2") var norm2: LayerNorm
    @ModuleInfo(key: "mlp") var mlp: SAMMLP
    /// 0: global attention.
    let window: Int

    init(_ c: DeepSeekSAMConfig, window: Int) {
        self.window = window
        _norm1.wrappedValue = LayerNorm(dimensions: c.hiddenSize, eps: Float(c.layerNormEps))
        _attention.wrappedValue = SAMAttention(c, inputSize: window > 0 ? window : c.grid)
        _norm2.wrappedValue = LayerNorm(dimensions: c.hiddenSize, eps: Float(c.layerNormEps))
        _mlp.wrappedValue = SAMMLP(c)
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray {
        var h = norm1(x)
        if window > 0 {
            // window_partition: zero-pad to multiples of the window, windows as batch rows.
            let (b, height, width, c) = (h.dim(0), h.dim(1), h.dim(2), h.dim(3))
            let ph = (window - height % window) % window
            let pw = (window - width % window) % window
            if ph > 0 || pw > 0 { h = h.padded(low: [0, 0, 0, 0], high: [0, ph, pw, 0]) }
            let (nh, nw) = ((height + ph) / window, (width + pw) / window)
            h = h.reshaped(b, nh, window, nw, window, c).transposed(0, 1, 3, 2, 4, 5).reshaped(-1, window, window, c)
            h = attention(h)
            h = h.reshaped(b, nh, nw, window, window, c).transposed(0, 1, 3, 2, 4, 5).reshaped(b, nh * window, nw * window, c)
            if ph > 0 || pw > 0 { h = h.sliced(start: [0, 0, 0, 0], stop: [b, height, width, c]) }
        } else {
            h = attention(h)
        }
        let y = x + h
        return y + mlp(norm2(y))
    }
}

/// LayerNorm over the channels of a channels-last map (SAM's LayerNorm2d).
final class ChannelLayerNorm: Module, UnaryLayer {
    let weight: MLXArray
    let bias: MLXArray

    init(_ channels: Int) {
        weight = ones([channels])
        bias = zeros([channels])
        super.init()
    }

    func callAsFunction(_ x: MLXArray) -> MLXArray { layerNorm(x, weight: weight, bias: bias, eps: 1e-6) }
}

// MARK: - Encoder

/// `sam_model`: pixels [B, S, S, 3] → features [B, S/64, S/64, downsample_channels[1]].
public final class DeepSeekSAMEncoder: Module {
    @ModuleInfo(key: "patch_embed") var patchEmbed: SAMPatchEmbed
    @ParameterInfo(key: "pos_embed") var positions: MLXArray
    let blocks: [SAMBlock]
    @ModuleInfo(key: "neck") var neck: Sequential
    @ModuleInfo(key: "net_2") var net2: TorchLayoutConv2d
    @ModuleInfo(key: "net_3") var net3: TorchLayoutConv2d

    init(_ c: DeepSeekSAMConfig) {
        _patchEmbed.wrappedValue = SAMPatchEmbed(c)
        _positions.wrappedValue = zeros([1, c.grid, c.grid, c.hiddenSize])
        blocks = (0 ..< c.layers).map { SAMBlock(c, window: c.globalAttentionIndexes.contains($0) ? 0 : c.windowSize) }
        _neck.wrappedValue = Sequential([
            TorchLayoutConv2d(c.hiddenSize, c.outputChannels, kernel: 1), ChannelLayerNorm(c.outputChannels),
            TorchLayoutConv2d(c.outputChannels, c.outputChannels, kernel: 3, padding: 1), ChannelLayerNorm(c.outputChannels),
        ])
        _net2.wrappedValue = TorchLayoutConv2d(c.outputChannels, c.downsampleChannels[0], kernel: 3, stride: 2, padding: 1)
        _net3.wrappedValue = TorchLayoutConv2d(c.downsampleChannels[0], c.downsampleChannels[1], kernel: 3, stride: 2, padding: 1)
        super.init()
    }

    public func callAsFunction(_ pixels: MLXArray) -> MLXArray {
        var x = patchEmbed(pixels)
        let table = positions.squeezed(axis: 0)
        x = x + PositionInterpolation.resizeGrid(table, height: x.dim(1), width: x.dim(2)).asType(x.dtype)
        for block in blocks { x = block(x) }
        return net3(net2(neck(x)))
    }
}

final class SAMPatchEmbed: Module {
    @ModuleInfo(key: "proj") var proj: PatchProjection2d

    init(_ c: DeepSeekSAMConfig) {
        _proj.wrappedValue = PatchProjection2d(channels: 3, width: c.hiddenSize, patch: c.patchSize)
        super.init()
    }

    func callAsFunction(_ pixels: MLXArray) -> MLXArray { proj(pixels) }
}
