// The image processors of DeepSeek-OCR (v1) and DeepSeek-OCR 2, byte-exact with their references.
//
// v1 (the Hub's `infer`): modes Tiny 512 / Small 640 (the image squeezed to a square), Base 1024 /
// Large 1280 (aspect kept, padded to a square with gray 127 by ImageOps.pad) and Gundam (a padded
// 1024 global view plus 640 crops of the image resized to the best (columns, rows) grid of 2 … 9
// crops, when a side exceeds 640). Pixels: ToTensor + Normalize(0.5, 0.5) in float32. Tokens: per
// view, (q + 1) · q for a q × q feature grid (a newline per row), one separator, and for crops
// (q·columns + 1) · (q·rows).
//
// v2 (transformers' DeepseekOcr2ImageProcessorPil + DeepseekOcr2Processor): a 1024 global view
// (longest side scaled to 1024, Python rounding, padded centred to a square with 127) and, when
// the longest side exceeds 768, 768 tiles of the best grid of 2 … 6; rescale in float64 then
// normalize in float32. Tokens: 256 + 144 per tile + 1 separator.
//
// Resizing is Pillow's bicubic (CImageCodecs, Pillow 13's pass order; same-size resizes are copies,
// as in Pillow). Padding, cropping and normalization run in MLX.
//
// Reference: the Hub's modeling_deepseekocr.py (infer, dynamic_preprocess,
// find_closest_aspect_ratio), Pillow 13 ImageOps.pad / contain; transformers/models/deepseek_ocr2/
// image_processing_pil_deepseek_ocr2.py, processing_deepseek_ocr2.py (replace_image_token).

import Foundation
import MLXEngine
import OCRImaging

// MARK: - Modes

/// DeepSeek-OCR (v1)'s resolution modes, as its model card lists them.
public enum DeepSeekOCRMode: String, CaseIterable, Codable, Sendable {
    case tiny, small, base, large, gundam

    /// (base_size, image_size, crop_mode).
    var sizes: (base: Int, image: Int, crop: Bool) {
        switch self {
        case .tiny: return (512, 512, false)
        case .small: return (640, 640, false)
        case .base: return (1024, 1024, false)
        case .large: return (1280, 1280, false)
        case .gundam: return (1024, 640, true)
        }
    }
}

// MARK: - Configuration

public struct DeepSeekOCRProcessorConfig: Equatable, Sendable {
    public var version: DeepSeekOCRVersion
    /// v1: the resolution mode (the model card's document default: Gundam).
    public var mode: DeepSeekOCRMode = .gundam
    /// Tile counts allowed (v1: 2 … 9 as `dynamic_preprocess`; v2: `min_patches` / `max_patches`).
    public var minTiles: Int
    public var maxTiles: Int
    /// v2: global view side (`size.height`) and tile side (`tile_size`).
    public var globalSize = 1024
    public var tileSize = 768
    public var cropToPatches = true
    public var background: [UInt8] = [127, 127, 127]
    public var mean: [Float] = [0.5, 0.5, 0.5]
    public var std: [Float] = [0.5, 0.5, 0.5]
    public var rescaleFactor = 1.0 / 255
    public var patchSize = 16
    public var downsampleRatio = 4

    public init(version: DeepSeekOCRVersion) {
        self.version = version
        minTiles = 2
        maxTiles = version == .v1 ? 9 : 6
    }

    /// v2: processor_config.json (`image_processor` nested, transformers 5) or
    /// preprocessor_config.json; missing files or keys keep transformers' defaults.
    public static func load(folder: URL, version: DeepSeekOCRVersion) throws -> DeepSeekOCRProcessorConfig {
        var config = DeepSeekOCRProcessorConfig(version: version)
        guard version == .v2 else { return config }
        struct Size: Decodable { let height: Int? }
        struct Image: Decodable {
            let size: Size?, tile_size: Int?, min_patches: Int?, max_patches: Int?, crop_to_patches: Bool?
            let background_color: [Int]?, image_mean: [Float]?, image_std: [Float]?, rescale_factor: Double?
        }
        struct Processor: Decodable { let image_processor: Image?, patch_size: Int?, downsample_ratio: Int? }
        var image: Image?
        for name in ["processor_config.json", "preprocessor_config.json"] {
            let url = folder.appendingPathComponent(name)
            guard let data = try? Data(contentsOf: url) else { continue }
            do {
                if let p = try? JSONDecoder().decode(Processor.self, from: data), let nested = p.image_processor {
                    image = nested
                    config.patchSize = p.patch_size ?? config.patchSize
                    config.downsampleRatio = p.downsample_ratio ?? config.downsampleRatio
                } else {
                    image = try JSONDecoder().decode(Image.self, from: data)
                }
            } catch {
                throw ModelFolderError("cannot read \(url.path): \(error)")
            }
            if image != nil { break }
        }
        if let i = image {
            config.globalSize = i.size?.height ?? config.globalSize
            config.tileSize = i.tile_size ?? config.tileSize
            config.minTiles = i.min_patches ?? config.minTiles
            config.maxTiles = i.max_patches ?? config.maxTiles
            config.cropToPatches = i.crop_to_patches ?? config.cropToPatches
            config.background = i.background_color?.map { UInt8(clamping: $0) } ?? config.background
            config.mean = i.image_mean ?? config.mean
            config.std = i.image_std ?? config.std
            config.rescaleFactor = i.rescale_factor ?? config.rescaleFactor
        }
        guard config.background.count == 3, config.mean.count == 3, config.std.count == 3, config.minTiles >= 1,
              config.maxTiles >= config.minTiles, config.tileSize > 0, config.globalSize > 0
        else { throw ModelFolderError("\(folder.path): inconsistent DeepSeek-OCR 2 image processor settings") }
        return config
    }
}

// MARK: - Processor

public struct DeepSeekOCRImageProcessor: Sendable {
    public var config: DeepSeekOCRProcessorConfig

    public init(config: DeepSeekOCRProcessorConfig) { self.config = config }

    /// The layout of one image: global view side, tile side and grid (columns, rows; nil when
    /// no tiles) and the `<image>` token count.
    public struct Layout: Equatable, Sendable {
        public let globalSide: Int
        public let tileSide: Int
        public let grid: (columns: Int, rows: Int)?
        public let tokenCount: Int

        public static func == (a: Layout, b: Layout) -> Bool {
            a.globalSide == b.globalSide && a.tileSide == b.tileSide && a.tokenCount == b.tokenCount
                && a.grid?.columns == b.grid?.columns && a.grid?.rows == b.grid?.rows
        }
    }

    /// Feature grid side of a view of `side` pixels: ⌈side / patch / downsample⌉.
    func queries(_ side: Int) -> Int {
        Int((Double(side / config.patchSize) / Double(config.downsampleRatio)).rounded(.up))
    }

    /// The layout of an image of this size (no pixels needed: for token histograms).
    public func layout(width: Int, height: Int) throws -> Layout {
        guard width > 0, height > 0 else { throw DeepSeekOCRError("image of \(width)×\(height) is empty") }
        let c = config
        switch c.version {
        case .v1:
            let (base, size, crop) = c.mode.sizes
            if crop {
                let grid = width <= 640 && height <= 640 ? nil : Self.bestGrid(
                    width: width, height: height, tile: 640, min: c.minTiles, max: c.maxTiles, candidates: Self.pythonSetOrder)
                let real = grid.flatMap { $0.columns > 1 || $0.rows > 1 ? $0 : nil }
                let qb = queries(base), q = queries(size)
                var count = (qb + 1) * qb + 1
                if let g = real { count += (q * g.columns + 1) * (q * g.rows) }
                return Layout(globalSide: base, tileSide: size, grid: real, tokenCount: count)
            }
            let q = queries(size)
            return Layout(globalSide: size, tileSide: size, grid: nil, tokenCount: (q + 1) * q + 1)
        case .v2:
            let grid = c.cropToPatches && Swift.max(width, height) > c.tileSize
                ? Self.bestGrid(width: width, height: height, tile: c.tileSize, min: c.minTiles, max: c.maxTiles, candidates: nil)
                : nil
            let qg = queries(c.globalSize), qt = queries(c.tileSize)
            let tiles = grid.map { $0.columns * $0.rows } ?? 0
            return Layout(
                globalSide: c.cropToPatches ? c.globalSize : c.tileSize, tileSide: c.tileSize, grid: grid,
                tokenCount: qg * qg + qt * qt * tiles + 1)
        }
    }

    /// The (columns, rows) grid whose aspect is closest to the image's; on a tie the later
    /// candidate wins while the image's area exceeds half the tiles' (find_closest_aspect_ratio,
    /// get_optimal_tiled_canvas). `candidates` fixes the order of equal tile counts (v1 iterates a
    /// Python set); nil enumerates columns-major as transformers does.
    static func bestGrid(
        width: Int, height: Int, tile: Int, min: Int, max: Int, candidates: [Int: [(Int, Int)]]?
    ) -> (columns: Int, rows: Int) {
        var ratios: [(Int, Int)]
        if let order = candidates?[max], min == 2 {
            ratios = order
        } else {
            ratios = []
            for c in 1 ... max { for r in 1 ... max where c * r >= min && c * r <= max { ratios.append((c, r)) } }
            ratios = ratios.enumerated().sorted { a, b in
                a.element.0 * a.element.1 != b.element.0 * b.element.1
                    ? a.element.0 * a.element.1 < b.element.0 * b.element.1 : a.offset < b.offset
            }.map(\.element)
        }
        let aspect = Double(width) / Double(height)
        let area = Double(width * height)
        var bestDiff = Double.infinity
        var best = (1, 1)
        for r in ratios {
            let diff = abs(aspect - Double(r.0) / Double(r.1))
            if diff < bestDiff {
                bestDiff = diff
                best = r
            } else if diff == bestDiff && area > 0.5 * Double(tile * tile) * Double(r.0 * r.1) {
                best = r
            }
        }
        return (best.0, best.1)
    }

    /// The order CPython iterates v1's candidate set {(i, j) : 2 ≤ i·j ≤ max} after sorting by
    /// i·j (ties keep the set's order, which decides mirrored ties), for the published maxima.
    static let pythonSetOrder: [Int: [(Int, Int)]] = [
        6: [(1, 2), (2, 1), (3, 1), (1, 3), (4, 1), (1, 4), (2, 2), (1, 5), (5, 1), (6, 1), (2, 3), (1, 6), (3, 2)],
        9: [(1, 2), (2, 1), (3, 1), (1, 3), (2, 2), (4, 1), (1, 4), (5, 1), (1, 5), (1, 6), (6, 1), (3, 2), (2, 3),
            (7, 1), (1, 7), (4, 2), (2, 4), (1, 8), (8, 1), (1, 9), (3, 3), (9, 1)],
    ]

    // MARK: Canvases

    /// Pillow's bicubic resize; a same-size resize is a copy (as `Image.resize`).
    static func resized(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        image.width == width && image.height == height
            ? image : image.pillowResized(width: width, height: height, resampling: .bicubic, passOrder: .pillow13)
    }

    /// `image` as uint8 [H, W, 3] placed at (x, y) on a side × side canvas of the background.
    func padded(_ image: RGBImage, side: Int, x: Int, y: Int) -> MLXArray {
        let pixels = MLXArray(image.pixels, [image.height, image.width, 3])
        guard image.width != side || image.height != side else { return pixels }
        let background = MLXArray(config.background, [1, 1, 3])
        let low = [y, x, 0], high = [side - image.height - y, side - image.width - x, 0]
        let mask = MLXArray([UInt8](repeating: 1, count: image.width * image.height), [image.height, image.width, 1])
            .padded(low: low, high: high)
        return which(mask .> 0, pixels.padded(low: low, high: high), background)
    }

    /// The uint8 canvases of one image: global view [S, S, 3] and tiles [n, T, T, 3] (nil when none).
    public func canvases(_ image: RGBImage) throws -> (global: MLXArray, tiles: MLXArray?, layout: Layout) {
        let layout = try layout(width: image.width, height: image.height)
        let (w, h) = (image.width, image.height)
        let global: MLXArray
        switch config.version {
        case .v1:
            let (base, size, crop) = config.mode.sizes
            if !crop && size <= 640 {
                global = padded(Self.resized(image, width: size, height: size), side: size, x: 0, y: 0)
            } else {
                // ImageOps.pad: contain (Python round of h / w · side), centred at round(gap · 0.5).
                let side = crop ? base : size
                var (cw, ch) = (side, side)
                if w != h {
                    if Double(w) / Double(h) > 1 {
                        ch = Int((Double(h) / Double(w) * Double(side)).rounded(.toNearestOrEven))
                    } else {
                        cw = Int((Double(w) / Double(h) * Double(side)).rounded(.toNearestOrEven))
                    }
                }
                guard cw > 0 && ch > 0 else {
                    // contain() of an extreme aspect gives an empty image: the canvas stays gray.
                    global = MLXArray(config.background, [1, 1, 3]).broadcast(to: [side, side, 3])
                    break
                }
                let contained = Self.resized(image, width: cw, height: ch)
                let x = Int((Double(side - cw) * 0.5).rounded(.toNearestOrEven))
                let y = Int((Double(side - ch) * 0.5).rounded(.toNearestOrEven))
                global = padded(contained, side: side, x: cw == side ? 0 : x, y: cw == side ? y : 0)
            }
        case .v2:
            // Longest side to the global size (Python round), padded centred (floor of the gap / 2).
            let side = layout.globalSide
            let scale = Double(side) / Double(Swift.max(w, h))
            let nw = Int((Double(w) * scale).rounded(.toNearestOrEven))
            let nh = Int((Double(h) * scale).rounded(.toNearestOrEven))
            guard nw > 0 && nh > 0 else {
                throw DeepSeekOCRError("a \(w)×\(h) image scales to \(nw)×\(nh) for the \(side) view (aspect ratio too extreme)")
            }
            let resized = Self.resized(image, width: nw, height: nh)
            let square = Swift.max(nw, nh)
            global = padded(resized, side: square, x: nw < square ? (square - nw) / 2 : 0, y: nh < square ? (square - nh) / 2 : 0)
        }
        guard let grid = layout.grid else { return (global, nil, layout) }
        let t = layout.tileSide
        let canvas = Self.resized(image, width: t * grid.columns, height: t * grid.rows)
        let tiles = MLXArray(canvas.pixels, [grid.rows, t, grid.columns, t, 3]).transposed(0, 2, 1, 3, 4)
            .reshaped(grid.rows * grid.columns, t, t, 3)
        return (global, tiles, layout)
    }

    // MARK: Pixels

    /// uint8 → float32 as the reference computes it: v1 x / 255 then (x − mean) / std in float32
    /// (torchvision); v2 x · rescale in float64, then (x − mean) / std in float32 (transformers).
    func normalized(_ bytes: MLXArray) -> MLXArray {
        var table: [Float] = []
        table.reserveCapacity(3 * 256)
        for c in 0 ..< 3 {
            for u in 0 ..< 256 {
                let scaled = config.version == .v1 ? Float(u) / 255 : Float(Double(u) * config.rescaleFactor)
                table.append((scaled - config.mean[c]) / config.std[c])
            }
        }
        let offsets = MLXArray([Int32(0), 256, 512], [3])
        return MLXArray(table, [768]).take(bytes.asType(.int32) + offsets, axis: 0)
    }

    /// One image ready for the model.
    public func callAsFunction(_ image: RGBImage) throws -> DeepSeekOCRImageInput {
        let (global, tiles, layout) = try canvases(image)
        return DeepSeekOCRImageInput(
            global: normalized(global), tiles: tiles.map(normalized), grid: layout.grid ?? (1, 1), tokenCount: layout.tokenCount)
    }
}
