// Pillow's resampling filters by their `PIL.Image.Resampling` values, without the resizing
// (PillowResize.swift), so that config decoding compiles without the codec shim (Fuzz/model_config).

import Foundation

/// Pillow's resampling filters, with `PIL.Image.Resampling` values (as in
/// `preprocessor_config.json`'s `resample`). NEAREST (0) is not provided.
public enum PillowResampling: Int, Sendable, Codable {
    case lanczos = 1
    case bilinear = 2
    case bicubic = 3
    case box = 4
    case hamming = 5

    /// The filter of a processor's `resample` value; nil for NEAREST (0) and unknown values.
    public init?(pilValue: Int) { self.init(rawValue: pilValue) }
}
