// Range checks for the config decoders: what a model builder computes from a field (channels over a
// reduction, a range over a depth, an MLP width from a ratio, a head width) must not trap, so a
// crafted config.json is a DecodingError naming the field (the loader names the file).

import Foundation

extension KeyedDecodingContainer {
    /// Throws `DecodingError.dataCorrupted` at `key` unless every value lies in `range`.
    func require(_ values: [Int], in range: ClosedRange<Int>, at key: Key, _ what: String) throws {
        guard values.allSatisfy(range.contains) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "\(what) must be in \(range.lowerBound)...\(range.upperBound); got \(values)")
        }
    }

    /// Throws unless `value` is finite and in (0, `max`] (a ratio a width is multiplied by).
    func require(ratio value: Double, atMost max: Double, at key: Key, _ what: String) throws {
        guard value.isFinite, value > 0, value <= max else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "\(what) must be in (0, \(max)]; got \(value)")
        }
    }

    /// Throws unless `heads` divides `width` (attention splits the width into equal heads).
    func require(width: Int, dividesInto heads: Int, at key: Key) throws {
        guard heads > 0, width % heads == 0 else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "width \(width) does not split into \(heads) heads")
        }
    }
}

/// Bounds of the sizes the config decoders accept.
enum ConfigLimits {
    /// Channels, widths, kernel sizes, strides, image sides.
    static let size = 1 ... 1 << 16
    /// Output classes of a recognizer's head.
    static let classes = 1 ... 1 << 22
    /// Blocks or layers repeated by a `depth`.
    static let depth = 0 ... 1024
    /// MLP width over model width.
    static let mlpRatio = 64.0
}
