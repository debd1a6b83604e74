// An 8-bit image in memory: the common currency between decoding, synthesis and models.

import Foundation

/// An 8-bit RGB image, row-major, 3 bytes per pixel, no padding.
public struct RGBImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3, "RGBImage: \(pixels.count) bytes do not fill \(width)×\(height)×3")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A solid image.
    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for i in stride(from: 0, to: p.count, by: 3) {
            p[i] = fill.0
            p[i + 1] = fill.1
            p[i + 2] = fill.2
        }
        self.init(width: width, height: height, pixels: p)
    }

    /// Width ÷ height (0 for an empty image).
    public var aspectRatio: Double { height == 0 ? 0 : Double(width) / Double(height) }
}
